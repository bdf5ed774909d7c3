"""The v3 Destination object (``/v3/destinations``, spec 2.3 and 3.14) built from rows.

    {"id", "type", "created_at", "updated_at", "connection": {...}, "last_check": {...}}

Keys are in the order of Stitch's examples (``destinations/v3/*``). ``id`` is the integer every
other Lockstitch object and path uses (the examples show only a quoted placeholder).

``connection`` is ``destination.properties`` with each value typed as a v3 client reads it
(``"port": 5432``, ``"ssl": false``; see ``typed``). Stitch's own v3 examples echo the password;
Lockstitch never does: a secret is never in a response, in any API version. Credentials live in
``destination.credentials`` (sealed) and are not read here at all, and any property the card
marks ``is_credential`` is dropped as well, should one ever be stored in the clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.kit.time import to_wire
from lockstitch.models import CheckState, ConnectionCheck, Destination

# String patterns by which Stitch's cards spell a number or a boolean kept as text (postgres
# ``port``: ``^\d+$``; redshift ``ssl``: ``^(true|false)$``). The v3 examples show those
# properties typed (``"port": 5432``), so they are typed as if the schema said integer/boolean.
_INTEGER_PATTERNS = frozenset({r"^\d+$"})
_BOOLEAN_PATTERNS = frozenset({"^(true|false)$"})
_FINISHED = frozenset({CheckState.SUCCEEDED, CheckState.FAILED})


def value_kind(schema: Mapping[str, Any] | None) -> str | None:
    """``"integer"`` or ``"boolean"`` when a property's json_schema says its value is one
    (its ``type``, an ``anyOf`` branch, or a string pattern spelling only that); else None."""
    if schema is None:
        return None
    kind = schema.get("type")
    if kind in ("integer", "boolean"):
        return str(kind)
    for branch in schema.get("anyOf", ()):
        found = value_kind(branch) if isinstance(branch, Mapping) else None
        if found is not None:
            return found
    if kind == "string":
        pattern = schema.get("pattern")
        if pattern in _INTEGER_PATTERNS:
            return "integer"
        if pattern in _BOOLEAN_PATTERNS:
            return "boolean"
    return None


def typed(kind: str | None, stored: Any) -> Any:
    """A stored (string) value as v3 shows it; a string that does not spell its kind (an older
    row, a schema widened since) stays the string it is rather than failing the response."""
    if not isinstance(stored, str):
        return stored
    if kind == "boolean" and stored in ("true", "false"):
        return stored == "true"
    if kind == "integer" and stored.isascii() and stored.isdigit():
        return int(stored)
    return stored


def connection_json(destination: Destination, destination_type: DestinationType | None) -> dict[str, Any]:
    specs = destination_type.properties if destination_type is not None else {}
    connection: dict[str, Any] = {}
    for name, value in sorted(destination.properties.items()):
        spec = specs.get(name)
        if spec is not None and spec.definition.is_credential:
            continue  # never a secret in a response (module docstring)
        connection[name] = typed(value_kind(spec.definition.json_schema) if spec else None, value)
    return connection


def last_check_json(check: ConnectionCheck | None) -> dict[str, Any]:
    """The destination's current connection check: the one its last create or PUT queued.

    Always all three keys, so a v3 client can index them without looking first. While the check
    is queued or running: ``error`` false (no failure is known), ``started_at`` when it started
    (or was queued, as the v4 check object's ``start_time``), ``completed_at`` null; a client
    polls until ``completed_at`` is set, as v4 clients poll ``status``. It is the current check,
    not the last finished one, so a client never reads the outcome of the properties a PUT just
    replaced as the outcome of the new ones. With no check at all (not reachable through the
    API): false and nulls.
    """
    if check is None:
        return {"error": False, "started_at": None, "completed_at": None}
    finished = check.state in _FINISHED
    return {
        "error": check.state == CheckState.FAILED,
        "started_at": to_wire(check.start_time or check.created_at),
        "completed_at": to_wire(check.completion_time) if finished else None,
    }


def destination_v3_json(
    destination: Destination, destination_type: DestinationType | None, check: ConnectionCheck | None
) -> dict[str, Any]:
    return {
        "id": destination.id,
        "type": destination.type,
        "created_at": to_wire(destination.created_at),
        "updated_at": to_wire(destination.updated_at),
        "connection": connection_json(destination, destination_type),
        "last_check": last_check_json(check),
    }
