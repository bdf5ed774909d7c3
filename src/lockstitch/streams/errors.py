"""Stream errors, in the two shapes of the streams family (spec sections 2.6 and 4).

GETs and malformed PUT bodies answer a bare JSON string (``PlainError``); the metadata PUT's rule
violations answer ``{"invalid_fields": "..."}`` (``InvalidFieldsError``). The Stitch messages are kept
byte for byte, Clojure printing included (``[nil]``, ``#{"key"}``, the double space after the
colon): clients compare them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lockstitch.kit.errors import LockstitchError, PlainError
from lockstitch.kit.json import dumps, too_large_message

BODY_SHAPE = "body must contain a 'streams' property with a list of metadatas by tap_stream_id"
UNSUPPORTED_SELECTED = "Unsupported fields cannot be selected by default"
# Client-supplied values are cut to this length when echoed in a message.
ECHO_LIMIT = 100


class InvalidFieldsError(LockstitchError):
    """The metadata PUT's rule violations: ``{"invalid_fields": "<message>"}``."""

    def body(self) -> Any:
        return {"invalid_fields": self.message}


class InvalidCatalogError(ValueError):
    """A tap's ``--discover`` output is not a usable Singer catalog (nothing was stored)."""


def echo(value: object) -> str:
    """A client-supplied value for a message: strings as they are, anything else as JSON; cut short."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = dumps(value).decode()
        except TypeError:  # what orjson cannot write (integers past 64 bits): the stdlib can
            text = json.dumps(value, default=str)
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "..."


def bad_body() -> PlainError:
    return PlainError(BODY_SHAPE)


def body_too_large(limit: int) -> PlainError:
    return PlainError(too_large_message(limit), status_code=413)


def invalid_stream_id(raw: str) -> PlainError:
    return PlainError(f"invalid stream-id: {echo(raw)}")


def invalid_source_id(raw: str) -> PlainError:
    # Stitch documents no error for listing the streams of a bad source; this mirrors the
    # stream GET's message (same family, same plain-string shape).
    return PlainError(f"invalid source-id: {echo(raw)}")


def invalid_tap_stream_ids(ids: Iterable[object]) -> InvalidFieldsError:
    # Clojure prints a missing id as nil and a vector's items space-separated, strings unquoted.
    items = " ".join("nil" if value is None else echo(value) for value in ids)
    return InvalidFieldsError(f"invalid tap-stream-ids:  [{items}]")


def discoverable_keys(keys: Iterable[str]) -> InvalidFieldsError:
    # A Clojure set of strings: #{"a" "b"} (each key JSON-quoted, as Clojure quotes strings).
    items = " ".join(dumps(echo(key)).decode() for key in keys)
    return InvalidFieldsError(f"only non-discoverable metadata can be produced by the UI: #{{{items}}}")


def unsupported_selected() -> InvalidFieldsError:
    return InvalidFieldsError(UNSUPPORTED_SELECTED)


def invalid(message: str) -> InvalidFieldsError:
    """Any other rule of the PUT (replication method and key, breadcrumbs, value types)."""
    return InvalidFieldsError(message)
