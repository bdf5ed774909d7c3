"""Property rules for destinations: what a POST or PUT may set, checked against the type's card.

Stitch keeps destination values as strings and shows them so (``"ssl": false`` in a request comes
back as ``"ssl": "false"``), while the card's ``json_schema`` may say ``boolean`` (postgres ``ssl``)
or a string pattern (``port``). So a value is accepted when its string form, or the JSON value that
string spells (``"false"`` -> ``false``, ``"5432"`` -> ``5432``), validates; it is stored as the
string; a number with a fraction, an array or an object has no string form, so it is no value.
The rest of the rules are every card's (``catalog.property_rules``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lockstitch.catalog import property_rules
from lockstitch.catalog.destination_type import DestinationType
from lockstitch.catalog.source_type import PropertySpec
from lockstitch.destinations import s3

# Values Stitch fills when a client leaves a required property out, by the type's protocol: its
# create example omits encryption_type and the response shows "encryption_type": "none".
DEFAULTS: dict[str, dict[str, str]] = {"postgres": {"encryption_type": "none"}}
# Values a type's card allows but Lockstitch cannot honour, with the reason given to the client.
# Stitch's SSH form has no property for a private key (Stitch used its own), so no tunnel can open.
UNSUPPORTED: dict[str, dict[str, tuple[str, str]]] = {
    "postgres": {"encryption_type": ("ssh", "ssh is not supported: Lockstitch connects directly")},
    # The s3 type's target writes CSV only (definitions/destinations/s3.yaml says why).
    "s3": {"output_file_format": ("jsonl", "jsonl is not supported: Lockstitch's S3 target writes CSV")},
}
# Credential values the system makes when a client leaves a required one out (``system_provided_by_default``):
# Stitch answers an s3 create with "sentinel_key": "stitch-challenge-file-<uuid>".
GENERATED: dict[str, dict[str, Callable[[], str]]] = {"s3": {"sentinel_key": s3.new_sentinel_key}}
BUCKET_RULE = "must be an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)"


def wire_string(value: Any) -> str | None:
    """The stored (string) form of a request value; None when it cannot be one."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return None


def _spelled(text: str) -> Any:
    """The JSON value a stored string stands for, where it spells one (booleans, integers)."""
    if text in ("true", "false"):
        return text == "true"
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    return text


def is_valid(spec: PropertySpec, text: str) -> bool:
    if spec.is_valid(text):
        return True
    typed = _spelled(text)
    return typed is not text and spec.is_valid(typed)


# The rules of ``catalog.property_rules``: values kept as ``wire_string``s.
RULES = property_rules.ValueRules(stored=wire_string, valid=lambda spec, _, text: is_valid(spec, text))


def with_defaults(destination_type: DestinationType, plain: dict[str, str | None]) -> dict[str, str | None]:
    """``plain`` plus Stitch's values for the defaulted properties the client left out."""
    filled = dict(plain)
    for name, value in DEFAULTS.get(destination_type.details.protocol, {}).items():
        if name in destination_type.properties and filled.get(name) is None and name not in plain:
            filled[name] = value
    return filled


def with_generated(destination_type: DestinationType, secrets: dict[str, Any]) -> dict[str, Any]:
    """``secrets`` plus a fresh value for each generated credential the client left out."""
    filled = dict(secrets)
    for name, make in GENERATED.get(destination_type.details.protocol, {}).items():
        if name in destination_type.properties and filled.get(name) is None and name not in secrets:
            filled[name] = make()
    return filled


def unsupported(destination_type: DestinationType, values: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(property, reason)`` of a value Lockstitch cannot honour, if one is set."""
    protocol = destination_type.details.protocol
    for name, (value, reason) in UNSUPPORTED.get(protocol, {}).items():
        if values.get(name) == value:
            return name, reason
    bucket = values.get("s3_bucket") if protocol == s3.PROTOCOL else None
    if isinstance(bucket, str) and not s3.valid_bucket(bucket):
        return "s3_bucket", BUCKET_RULE
    return None


def missing_required(destination_type: DestinationType, provided: frozenset[str]) -> list[str]:
    return [
        name
        for name, spec in destination_type.properties.items()
        if spec.definition.is_required and spec.step == "form" and name not in provided
    ]
