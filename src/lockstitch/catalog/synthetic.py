"""A complete, valid form for any source type, filled with dummy values: what the catalogue
verifier (``runner.verify``) hands a tap to see whether the type's mapping gives the tap a
config it accepts, without any real account behind it.

Every value passes the property's own ``json_schema`` (the same validator a POST or PUT meets),
so a synthetic source is one a partner could have created. Values point nowhere reachable: hosts
are a loopback address on the discard port, URLs and e-mail domains end in ``.invalid`` (RFC
6761: never resolves), so a tap that takes the config gets as far as the network and fails there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lockstitch.catalog.source_type import CardType, PropertySpec

# Scheduling and platform-filled properties: Stitch's, never handed to a tap.
SKIPPED = frozenset({"anchor_time", "cron_expression", "frequency_in_minutes", "image_version"})
UNREACHABLE_HOST = "127.0.0.1"
UNREACHABLE_PORT = "9"
_DATE_TIME = "2026-01-01T00:00:00Z"
# Candidates tried in order against a property's schema; the first that validates is used.
# Ordered from the most to the least specific so patterned strings get a meaningful value.
_STRING_CANDIDATES = (
    "false",
    "1",
    "60",
    "1440",
    _DATE_TIME,
    "2026-01-01",
    "us-east-1",
    "lockstitch-verify",
    "verify@lockstitch.invalid",
    "https://lockstitch-verify.invalid/",
    "12345678",
    "dummy",
)
_BY_NAME = {
    "host": UNREACHABLE_HOST,
    "port": UNREACHABLE_PORT,
    "ssh": "false",
    "ssl": "false",
}


def synthetic_form(source_type: CardType[Any], given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Property name -> a dummy value that passes the property's schema, for every settable
    required property of every step, and every optional one whose schema says what it holds (a
    pattern, format, enum or non-string type). An optional free string is left out: Stitch's
    cards type many numbers as bare strings, and "dummy" there would be a value no partner sends.
    ``given`` values (a tap's ``verify_values``) win, and must pass their schemas too.
    Raises ``ValueError`` naming a required property no candidate value satisfies."""
    values: dict[str, Any] = {}
    for name, value in (given or {}).items():
        spec = source_type.properties.get(name)
        if spec is None or not spec.is_valid(value):
            raise ValueError(f"verify value {name} is not a valid value of the type's property")
        values[name] = value
    for name, spec in source_type.properties.items():
        definition = spec.definition
        if name in values:
            continue
        if name in SKIPPED or definition.property_type == "read_only":
            continue
        if not definition.is_required and not _constrained(definition.json_schema or {}):
            continue
        value = synthetic_value(spec)
        if value is None:
            if definition.is_required:
                raise ValueError(f"no dummy value satisfies the schema of required property {name}")
            continue
        values[name] = value
    return values


def _constrained(schema: dict[str, Any]) -> bool:
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    keys = ("pattern", "format", "enum")
    return any(any(k in o for k in keys) or o.get("type") not in (None, "string") for o in options)


def synthetic_value(spec: PropertySpec) -> Any:
    """One value the property's schema accepts, or None when none of the candidates does."""
    schema = spec.definition.json_schema or {}
    for candidate in _candidates(spec.name, schema):
        if spec.is_valid(candidate):
            return candidate
    return None


def _candidates(name: str, schema: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    if name in _BY_NAME:
        found.append(_BY_NAME[name])
    if name.endswith("_port"):
        found.append(UNREACHABLE_PORT)
    if name.endswith("_host") or name.endswith("hostname"):
        found.append(UNREACHABLE_HOST)
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    for option in options:
        found += _typed(option)
    patterns = [option["pattern"] for option in options if "pattern" in option]
    if not patterns and not any("format" in option or "enum" in option for option in options):
        # A free string: a value that reads as a dummy, dates where the name says so.
        found += [_DATE_TIME] if "date" in name else []
        found.append("lockstitch-verify")
    found += list(_STRING_CANDIDATES)
    found += [sample(pattern) for pattern in patterns]
    return found


def sample(pattern: str) -> str:
    """One string the regex matches, for the simple patterns Stitch's cards use (literals,
    alternations, classes, repeats), or "" when it cannot say. Built from the regex parser's
    tree (``re._parser``: private, but the stable way to read a pattern's structure)."""
    try:
        tree = re._parser.parse(pattern)  # type: ignore[attr-defined]
        return _walk(tree)
    except Exception:  # noqa: BLE001 - an exotic pattern: the caller tries other candidates
        return ""


def _walk(items: Any) -> str:
    out: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "IN":
            out.append(_first_of_class(arg))
        elif name == "ANY":
            out.append("a")
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, _high, sub = arg
            out.append(_walk(sub) * max(int(low), 1))
        elif name == "SUBPATTERN":
            out.append(_walk(arg[-1]))
        elif name == "BRANCH":
            out.append(_walk(arg[1][0]))
        elif name == "CATEGORY":
            out.append(_category(str(arg)))
        # AT (anchors) and other zero-width items add nothing.
    return "".join(out)


def _first_of_class(members: Any) -> str:
    for op, arg in members:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return _category(str(arg))
    return "a"


def _category(name: str) -> str:
    return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " "}.get(name, "a")


def _typed(schema: dict[str, Any]) -> list[Any]:
    """Candidates a schema's own keywords suggest (enum members, its type's simplest value)."""
    found: list[Any] = list(schema.get("enum", []))
    kind = schema.get("type")
    if kind == "array":
        found.append([])
    elif kind == "object":
        found.append({})
    elif kind in {"integer", "number"}:
        found.append(1)
    elif kind == "boolean":
        found.append(False)
    fmt = schema.get("format")
    if fmt == "date-time":
        found.append(_DATE_TIME)
    elif fmt in ("hostname", "ipv4"):
        found.append(UNREACHABLE_HOST)
    elif fmt == "uri":
        found.append("https://lockstitch-verify.invalid/")
    elif fmt == "email":
        found.append("verify@lockstitch.invalid")
    return found
