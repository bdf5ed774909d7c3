"""Destination errors: Stitch answers the destinations family with bare JSON strings (spec 2.3).

Messages Stitch documents are kept word for word (clients compare them); the others follow their
style. A message may name properties, never a value a client sent for one.
"""

from __future__ import annotations

from lockstitch.kit.errors import PlainError
from lockstitch.kit.json import too_large_message
from lockstitch.kit.naming import quoted

POST_BODY = (
    "POST body may only include a type, a name, a description, map of properties, "
    "and boolean for unmapped sources"
)
# Stitch documents no message for a malformed PUT body; this one follows the POST one.
PUT_BODY = (
    "PUT body must include a map of properties, and may only include a type, a name, "
    "a description, and boolean for unmapped sources"
)
LIST_PARAMS = "GET may only include the params: source_id and/or destination_id"
# /v3/destinations (spec 2.3), word for word: Stitch's v3 names only its first three types, and
# older clients compare the text, so it stays as documented whatever types Lockstitch serves.
V3_BODY = "body must be a map with type = redshift, postgres, or snowflake. required-keys = type, connection"


def invalid_body(message: str) -> PlainError:
    return PlainError(message)


def body_too_large(limit: int) -> PlainError:
    return PlainError(too_large_message(limit), status_code=413)


def at_limit() -> PlainError:
    return PlainError("you are at your destination limit")


def invalid_type(destination_type: object) -> PlainError:
    return PlainError(f"invalid destination type ({quoted(destination_type)})")


def unknown_type(destination_type: object) -> PlainError:
    """``GET /v4/destination-types/{type}`` of a type the server does not have: nothing to show."""
    return PlainError(f"invalid destination type ({quoted(destination_type)})", status_code=404)


def type_access_denied(destination_type: str) -> PlainError:
    return PlainError(f"you do not have access to destination type ({destination_type})")


def type_change() -> PlainError:
    return PlainError("this API endpoint does not support modifying destination type")


def invalid_id() -> PlainError:
    """PUT (and last-connection-check) of an id that is malformed, unknown, deleted or another
    account's: one answer, so ids of other accounts cannot be probed."""
    return PlainError("invalid connection id")


def not_found_for_delete(raw_id: str, account_id: int) -> PlainError:
    return PlainError(f"Unable to locate dest ({quoted(raw_id, 40)}) for client ({account_id}) to delete")


def not_found() -> PlainError:
    """An id with letters in a DELETE path: Stitch answers 404 (spec 2.3)."""
    return PlainError("not found", status_code=404)


def invalid_properties(names: list[str]) -> PlainError:
    return PlainError(f"properties do not match schema: {_names(names)}")


def missing_properties(names: list[str]) -> PlainError:
    return PlainError(f"missing required properties: {_names(names)}")


def unsupported_property(name: str, reason: str) -> PlainError:
    return PlainError(f"property {name} {reason}")


def no_connection_check(destination_id: int) -> PlainError:
    return PlainError(f"no connection check has been run for destination ({destination_id})")


def list_params() -> PlainError:
    return PlainError(LIST_PARAMS)


def _names(names: list[str]) -> str:
    return ", ".join(quoted(name, 60) for name in names[:20]) + (", ..." if len(names) > 20 else "")
