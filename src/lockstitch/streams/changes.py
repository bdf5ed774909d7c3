"""The metadata PUT (spec 2.6): parsing the body and checking every rule before anything is written.

Pure. ``parse_body`` answers a malformed body with Stitch's plain string; ``plan`` checks, in
this order, the tap_stream_ids (all unknown ones listed), the keys (all discoverable ones listed),
then each write in body order (breadcrumb, value types, unsupported fields, replication method
and key, view key properties), and returns the new ``chosen_metadata`` of every stream the body
names. The first violation raises; nothing is half-applied because nothing is applied here.

Decisions where Stitch is silent:
* a ``null`` value removes the partner's choice for that key (``selected: null`` means "never
  selected" again; ``replication-method: null`` falls back to the tap's default);
* ``replication-method``, ``replication-key`` and ``view-key-properties`` belong to the stream's
  breadcrumb ``[]``; on a field they are an error;
* a chosen INCREMENTAL needs a replication key (given now, chosen before, or the tap's default)
  unless the tap forces the method (then the tap knows its key, as in Stitch's SaaS example).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lockstitch.streams import errors
from lockstitch.streams.selection import (
    NON_DISCOVERABLE_KEYS,
    REPLICATION_METHODS,
    STREAM,
    STREAM_KEY,
    STREAM_ONLY_KEYS,
    Breadcrumb,
    StreamLike,
    breadcrumb_key,
    default_replication_key,
    discovered,
    forced_method,
    known_breadcrumbs,
    log_based_available,
    replication_key_problem,
    schema_fields,
)

Chosen = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Write:
    breadcrumb: list[Any]
    values: dict[str, Any]


@dataclass(frozen=True)
class StreamWrites:
    tap_stream_id: object  # as sent: None when missing, possibly not a string
    writes: list[Write] = field(default_factory=list)


def parse_body(body: Any) -> list[StreamWrites]:
    """The body's streams, or Stitch's plain-string error for anything that is not
    ``{"streams": [{"tap_stream_id", "metadata": [{"breadcrumb": [...], "metadata": {...}}]}]}``."""
    if not isinstance(body, dict) or not isinstance(body.get("streams"), list):
        raise errors.bad_body()
    return [_parse_stream(item) for item in body["streams"]]


def _parse_stream(item: Any) -> StreamWrites:
    if not isinstance(item, dict) or not isinstance(item.get("metadata"), list):
        raise errors.bad_body()
    writes = []
    for entry in item["metadata"]:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("breadcrumb"), list)
            or not isinstance(entry.get("metadata"), dict)
        ):
            raise errors.bad_body()
        writes.append(Write(entry["breadcrumb"], entry["metadata"]))
    # Spec 9.19: "tap-stream-id" is accepted as an alias.
    tap_stream_id = item.get("tap_stream_id")
    if tap_stream_id is None:
        tap_stream_id = item.get("tap-stream-id")
    return StreamWrites(tap_stream_id, writes)


def plan(requests: Sequence[StreamWrites], streams: Mapping[str, StreamLike]) -> dict[str, Chosen]:
    """The new ``chosen_metadata`` of each named stream (by tap_stream_id), all rules checked."""
    _check_ids(requests, streams)
    _check_keys(requests)
    planned: dict[str, Chosen] = {}
    touched: dict[str, set[str]] = {}
    for request in requests:
        tap_stream_id = str(request.tap_stream_id)
        stream = streams[tap_stream_id]
        chosen = planned.setdefault(tap_stream_id, copy.deepcopy(stream.chosen_metadata))
        found = discovered(stream)  # read once per stream: a body may write thousands of fields
        known = set(known_breadcrumbs(stream.schema, found))
        for write in request.writes:
            breadcrumb = _breadcrumb(stream, write.breadcrumb, known)
            _check_values(stream, found.get(breadcrumb, {}), breadcrumb, write.values)
            _apply(chosen, breadcrumb, write.values)
            if breadcrumb == STREAM:
                touched.setdefault(tap_stream_id, set()).update(write.values)
    for tap_stream_id, keys in touched.items():
        _check_incremental(streams[tap_stream_id], planned[tap_stream_id], keys)
    return planned


def _check_ids(requests: Sequence[StreamWrites], streams: Mapping[str, StreamLike]) -> None:
    # Keyed by how each id prints: ids may be any JSON value (unhashable), and a dict keeps the
    # body's order while dropping repeats in constant time.
    unknown: dict[str, object] = {}
    for request in requests:
        value = request.tap_stream_id
        if not isinstance(value, str) or value not in streams:
            unknown.setdefault("nil" if value is None else errors.echo(value), value)
    if unknown:
        raise errors.invalid_tap_stream_ids(unknown.values())


def _check_keys(requests: Sequence[StreamWrites]) -> None:
    allowed = set(NON_DISCOVERABLE_KEYS)
    bad: dict[str, None] = {}  # an ordered set
    for request in requests:
        for write in request.writes:
            bad.update((key, None) for key in write.values if key not in allowed)
    if bad:
        raise errors.discoverable_keys(bad)


def _breadcrumb(stream: StreamLike, raw: list[Any], known: set[Breadcrumb]) -> Breadcrumb:
    if all(isinstance(part, str) for part in raw) and tuple(raw) in known:
        return tuple(raw)
    name = errors.echo(stream.tap_stream_id)
    if len(raw) == 2 and raw[0] == "properties":
        raise errors.invalid(f"unknown field for stream {name}: {errors.echo(raw[1])}")
    raise errors.invalid(f"invalid breadcrumb for stream {name}: {errors.echo(raw)}")


def _check_values(
    stream: StreamLike, found: Mapping[str, Any], breadcrumb: Breadcrumb, values: dict[str, Any]
) -> None:
    """``found``: the tap's metadata for ``breadcrumb``."""
    name = errors.echo(stream.tap_stream_id)
    if breadcrumb != STREAM and STREAM_ONLY_KEYS & set(values):
        keys = ", ".join(sorted(STREAM_ONLY_KEYS & set(values)))
        raise errors.invalid(f"{keys} can only be set on the stream's breadcrumb [] (stream {name})")
    selected = values.get("selected")
    if selected is not None and not isinstance(selected, bool):
        raise errors.invalid(f"selected must be true, false or null (stream {name})")
    if selected is True and found.get("inclusion") == "unsupported":
        raise errors.unsupported_selected()
    if breadcrumb == STREAM:
        # Each stream-level key is checked only when it is given a value, in this order.
        for key, check in _STREAM_KEY_CHECKS.items():
            if values.get(key) is not None:
                check(stream, values[key], name)


def _check_method(stream: StreamLike, method: Any, name: str) -> None:
    if method not in REPLICATION_METHODS:
        raise errors.invalid(
            f"invalid replication-method for stream {name}: {errors.echo(method)} "
            "(expected FULL_TABLE, INCREMENTAL or LOG_BASED)"
        )
    forced = forced_method(discovered(stream).get(STREAM, {}))
    if forced is not None and method != forced:
        raise errors.invalid(
            f"replication-method {method} is not allowed for stream {name}: the tap forces {forced}"
        )
    if method == "LOG_BASED" and not log_based_available(stream):
        raise errors.invalid(f"replication-method LOG_BASED is not available for stream {name}")


def _check_key(stream: StreamLike, key: Any, name: str) -> None:
    problem = "expected a field name" if not isinstance(key, str) else replication_key_problem(stream, key)
    if problem is not None:
        raise errors.invalid(f"invalid replication-key for stream {name}: {errors.echo(key)} ({problem})")


def _check_view_keys(stream: StreamLike, keys: Any, name: str) -> None:
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise errors.invalid(f"view-key-properties must be a list of field names (stream {name})")
    fields = schema_fields(stream.schema)
    unknown = [key for key in keys if key not in fields]
    if unknown:
        raise errors.invalid(
            f"unknown view-key-properties for stream {name}: {errors.echo(', '.join(unknown))}"
        )


# ``name``: the stream's id, echoed safely (``errors.echo``) for the messages.
_STREAM_KEY_CHECKS: dict[str, Callable[[StreamLike, Any, str], None]] = {
    "replication-method": _check_method,
    "replication-key": _check_key,
    "view-key-properties": _check_view_keys,
}


def _apply(chosen: Chosen, breadcrumb: Breadcrumb, values: dict[str, Any]) -> None:
    key = breadcrumb_key(breadcrumb)
    own = chosen.setdefault(key, {})
    for name, value in values.items():
        if value is None:
            own.pop(name, None)
        else:
            own[name] = value
    if not own:
        del chosen[key]


def _check_incremental(stream: StreamLike, chosen: Chosen, touched: set[str]) -> None:
    """After all writes: a chosen INCREMENTAL (not forced by the tap) has a usable key."""
    if not touched & {"replication-method", "replication-key"}:
        return
    own = chosen.get(STREAM_KEY, {})
    if own.get("replication-method") != "INCREMENTAL":
        return
    if forced_method(discovered(stream).get(STREAM, {})) is not None:
        return
    if own.get("replication-key") is None and default_replication_key(stream) is None:
        name = errors.echo(stream.tap_stream_id)
        raise errors.invalid(f"replication-method INCREMENTAL needs a replication-key (stream {name})")
