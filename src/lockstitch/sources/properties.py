"""Property rules: what a POST or PUT may set, checked against the source type's report card.

For each incoming ``name: value``:

* unknown names are rejected;
* ``read_only`` (and the implicit ``product``) cannot be set: re-sending the current value is
  accepted as a no-op, so clients that PUT back what they GET keep working;
* ``user_provided_immutable`` cannot change once set;
* ``null`` clears an optional property; a required, read-only or immutable one cannot be cleared;
* an empty string, or a string holding a NUL character, is never a value;
* every other value must validate against the property's ``json_schema`` (formats included);
  without a schema the value must be a string;
* a number or boolean is stored (and returned) as a string, as Stitch's Source object carries
  them (spec 9.23); arrays and objects, which only array or object schemas accept, stay as sent.

Rejections are collected, not raised one by one: the client gets every bad name at once.
Values are never echoed: ``bad_properties`` carries names only, since some are credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lockstitch.catalog.source_type import IMPLICIT_READ_ONLY, SourceType

# Changing these reschedules a source; it does not change what the tap connects to.
SCHEDULE_PROPERTIES = frozenset({"frequency_in_minutes", "anchor_time", "cron_expression"})


@dataclass
class PropertyChanges:
    plain: dict[str, Any] = field(default_factory=dict)  # non-credential: name -> value (None clears)
    secrets: dict[str, Any] = field(default_factory=dict)  # credential: name -> value (None clears)
    bad: list[str] = field(default_factory=list)

    @property
    def names(self) -> set[str]:
        return set(self.plain) | set(self.secrets)

    @property
    def touches_connection(self) -> bool:
        """Whether the change could alter what the tap connects to (so a new check is due)."""
        return bool(self.names - SCHEDULE_PROPERTIES)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def as_string(value: Any) -> Any:
    """Spec 9.23: ``5432`` reads ``"5432"``, ``true`` reads ``"true"``; strings, null, arrays and
    objects are unchanged. Applied when a value is stored and again when one is shown (rows
    written before the rule)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def review(
    source_type: SourceType,
    incoming: Mapping[str, Any],
    current: Mapping[str, Any],
    current_secrets: frozenset[str],
) -> PropertyChanges:
    changes = PropertyChanges()
    for name, value in incoming.items():
        if name in IMPLICIT_READ_ONLY:
            if as_string(value) != as_string(current.get(name)):
                changes.bad.append(name)
            continue
        spec = source_type.properties.get(name)
        if spec is None:
            changes.bad.append(name)
            continue
        definition = spec.definition
        is_set = current.get(name) is not None or name in current_secrets
        target = changes.secrets if definition.is_credential else changes.plain

        if definition.property_type == "read_only":
            if as_string(value) != as_string(current.get(name)):
                changes.bad.append(name)
            continue
        if value is None:
            if is_set and (definition.is_required or definition.property_type == "user_provided_immutable"):
                changes.bad.append(name)
            elif is_set:
                target[name] = None
            continue
        if value == "" or _has_nul(value) or not spec.is_valid(value):
            changes.bad.append(name)
            continue
        if definition.property_type == "user_provided_immutable" and is_set:
            # A credential cannot be compared without decrypting it; an immutable one is simply final.
            if definition.is_credential or as_string(value) != as_string(current.get(name)):
                changes.bad.append(name)
            continue
        target[name] = as_string(value)
    return changes
