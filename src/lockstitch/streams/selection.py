"""Stream and field selection rules (spec sections 3.6 to 3.9). Pure: no I/O, no session.

What a tap discovered (``Stream.discovered_metadata``) and what the partner chose
(``Stream.chosen_metadata``, keyed by ``breadcrumb_key``) are stored apart; everything else is
computed from the two here:

    discovered + chosen --> merged_metadata / stream_level_metadata   (the wire, spec 3.6, 3.7)
                        --> selection_complete                        (the report card)
                        --> singer_catalog                            (the catalog a run hands the tap)

``selected`` is the partner's alone: a ``selected`` key in the tap's discovered metadata is
ignored (a source must not become fully configured, or sync a stream, that nobody selected).
The other non-discoverable keys (``replication-method``, ...) default to what the tap discovered.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from lockstitch.kit.json import dumps

Breadcrumb = tuple[str, ...]
STREAM: Breadcrumb = ()
STREAM_KEY = "[]"
NON_DISCOVERABLE_KEYS = ("selected", "replication-method", "replication-key", "view-key-properties")
# Keys that only mean something for the whole stream (breadcrumb []).
STREAM_ONLY_KEYS = frozenset(NON_DISCOVERABLE_KEYS[1:])
REPLICATION_METHODS = ("FULL_TABLE", "INCREMENTAL", "LOG_BASED")


class StreamLike(Protocol):
    """What the rules read of a stream: an ORM ``Stream`` or a stand-in in tests."""

    @property
    def tap_stream_id(self) -> str: ...
    @property
    def stream_name(self) -> str: ...
    @property
    def schema(self) -> dict[str, Any]: ...
    @property
    def discovered_metadata(self) -> list[dict[str, Any]]: ...
    @property
    def chosen_metadata(self) -> dict[str, dict[str, Any]]: ...
    @property
    def catalog_entry(self) -> dict[str, Any]: ...


def breadcrumb_key(breadcrumb: Sequence[str]) -> str:
    """The key of a breadcrumb in ``chosen_metadata``: compact JSON, ``"[]"`` for the stream."""
    return dumps(list(breadcrumb)).decode()


def field_replicated(inclusion: object, selected: object, selected_by_default: object) -> bool:
    """Spec 3.9: is a field replicated?

    ``automatic`` always, ``unsupported`` never; ``available`` (and a missing inclusion, which
    Singer reads as available) by the pair (selected, selected-by-default):
    (true,*) yes, (false,null) no, (false,true) YES, (false,false) no, (null,true) yes,
    (null,false) no, (null,null) no. That is: selected is true, or selected-by-default is true.
    """
    if inclusion == "automatic":
        return True
    if inclusion == "unsupported":
        return False
    return selected is True or selected_by_default is True


# --- reading a stream ------------------------------------------------------------------------


def discovered(stream: StreamLike) -> dict[Breadcrumb, dict[str, Any]]:
    """The tap's metadata by breadcrumb, in the tap's order (discovery stored it well-formed)."""
    found: dict[Breadcrumb, dict[str, Any]] = {}
    for entry in stream.discovered_metadata:
        found[tuple(entry["breadcrumb"])] = entry["metadata"]
    return found


def catalog_entry(stream: StreamLike) -> dict[str, Any]:
    """The tap's top-level catalog-entry keys kept at discovery (``Stream.catalog_entry``)."""
    return dict(stream.catalog_entry or {})


def schema_fields(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The top-level fields of a stream's JSON schema."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    return {name: spec if isinstance(spec, dict) else {} for name, spec in properties.items()}


def known_breadcrumbs(schema: Mapping[str, Any], metadata: Iterable[Breadcrumb]) -> list[Breadcrumb]:
    """Every breadcrumb a partner may write for a stream, in wire order: the stream's ``[]``,
    the tap's breadcrumbs, then schema fields the tap wrote no metadata for."""
    order: list[Breadcrumb] = [STREAM]
    order.extend(b for b in metadata if b != STREAM)
    seen = set(order)
    order.extend(f for f in (("properties", name) for name in schema_fields(schema)) if f not in seen)
    return order


def chosen_selected(
    chosen: Mapping[str, Mapping[str, Any]], breadcrumb: Sequence[str] = STREAM
) -> bool | None:
    value = chosen.get(breadcrumb_key(breadcrumb), {}).get("selected")
    return value if isinstance(value, bool) else None


def is_selected(stream: StreamLike) -> bool:
    return chosen_selected(stream.chosen_metadata) is True


def _entries(stream: StreamLike) -> list[tuple[Breadcrumb, dict[str, Any], bool | None]]:
    """(breadcrumb, discovered + chosen metadata without ``selected``, the chosen ``selected``)."""
    found = discovered(stream)
    chosen = stream.chosen_metadata
    entries = []
    for breadcrumb in known_breadcrumbs(stream.schema, found):
        merged = {k: v for k, v in found.get(breadcrumb, {}).items() if k != "selected"}
        own = chosen.get(breadcrumb_key(breadcrumb), {})
        merged.update((k, v) for k, v in own.items() if k != "selected")
        entries.append((breadcrumb, merged, chosen_selected(chosen, breadcrumb)))
    return entries


def stream_level_metadata(stream: StreamLike) -> dict[str, Any]:
    """The stream's ``[]`` metadata as the wire shows it: always with ``selected`` (spec 9.18)."""
    merged = {k: v for k, v in discovered(stream).get(STREAM, {}).items() if k != "selected"}
    own = stream.chosen_metadata.get(STREAM_KEY, {})
    merged.update((k, v) for k, v in own.items() if k != "selected")
    merged["selected"] = chosen_selected(stream.chosen_metadata)
    return merged


def merged_metadata(stream: StreamLike) -> list[dict[str, Any]]:
    """The Stream Schema object's ``metadata`` (spec 3.7, 9.21): every entry carries ``selected``
    as a boolean, as in Stitch's example, because clients index ``entry["metadata"]["selected"]``.

    The stream's entry reads its chosen value, else false. A field's entry reads its chosen value,
    else whether the field would be replicated by the spec 3.9 table (automatic fields and fields
    selected by default read true).
    """
    result = []
    for breadcrumb, metadata, chosen in _entries(stream):
        metadata["selected"] = (
            chosen
            if chosen is not None
            else breadcrumb != STREAM
            and field_replicated(metadata.get("inclusion"), None, metadata.get("selected-by-default"))
        )
        result.append({"breadcrumb": list(breadcrumb), "metadata": metadata})
    return result


def replicated_fields(stream: StreamLike) -> list[str]:
    """The top-level fields a run of the stream would replicate, by the spec 3.9 table."""
    return [
        breadcrumb[1]
        for breadcrumb, metadata, selected in _entries(stream)
        if len(breadcrumb) == 2
        and breadcrumb[0] == "properties"
        and field_replicated(metadata.get("inclusion"), selected, metadata.get("selected-by-default"))
    ]


def selection_complete(streams: Iterable[StreamLike]) -> bool:
    """Field selection is done once a selected stream replicates at least one field (automatic
    fields count), spec section 7."""
    return any(is_selected(stream) and replicated_fields(stream) for stream in streams)


# --- replication method and key --------------------------------------------------------------


def forced_method(stream_metadata: Mapping[str, Any]) -> str | None:
    """``forced-replication-method``: a string, or ``{"replication-method": ...}`` (Salesforce).
    SDK SQL taps write ``""`` for "none"; that is not a forced method."""
    value = stream_metadata.get("forced-replication-method")
    if isinstance(value, dict):
        value = value.get("replication-method")
    return value if isinstance(value, str) and value else None


def valid_replication_keys(stream_metadata: Mapping[str, Any]) -> list[str] | None:
    """The tap's ``valid-replication-keys``, or None when it gives no (or an empty) list."""
    keys = stream_metadata.get("valid-replication-keys")
    if isinstance(keys, list) and keys:
        return [key for key in keys if isinstance(key, str)]
    return None


def default_replication_key(stream: StreamLike) -> str | None:
    """The key the tap itself would use: its ``replication-key``, its entry's ``replication_key``,
    or its only valid replication key."""
    found = discovered(stream).get(STREAM, {})
    for value in (found.get("replication-key"), catalog_entry(stream).get("replication_key")):
        if isinstance(value, str) and value:
            return value
    keys = valid_replication_keys(found)
    return keys[0] if keys and len(keys) == 1 else None


def effective_method(stream: StreamLike) -> str:
    """The method a run uses: the partner's choice, else the tap's forced method, else its
    discovered default, else INCREMENTAL when the tap names a key and FULL_TABLE otherwise."""
    found = discovered(stream).get(STREAM, {})
    candidates = (
        stream.chosen_metadata.get(STREAM_KEY, {}).get("replication-method"),
        forced_method(found),
        found.get("replication-method"),
        catalog_entry(stream).get("replication_method"),
    )
    for value in candidates:
        if value in REPLICATION_METHODS:
            return str(value)
    return "INCREMENTAL" if default_replication_key(stream) else "FULL_TABLE"


def effective_replication_key(stream: StreamLike) -> str | None:
    chosen = stream.chosen_metadata.get(STREAM_KEY, {}).get("replication-key")
    return chosen if isinstance(chosen, str) else default_replication_key(stream)


def is_database_stream(stream: StreamLike) -> bool:
    found = discovered(stream).get(STREAM, {})
    entry = catalog_entry(stream)
    return any(key in found for key in ("database-name", "schema-name")) or any(
        key in entry for key in ("table_name", "database_name")
    )


def log_based_available(stream: StreamLike) -> bool:
    """LOG_BASED needs a tap that reads a database's change log: the tap forces or proposes it,
    or the stream is a database table (not a view: views have no change log)."""
    found = discovered(stream).get(STREAM, {})
    if "LOG_BASED" in (
        forced_method(found),
        found.get("replication-method"),
        catalog_entry(stream).get("replication_method"),
    ):
        return True
    is_view = found.get("is-view") is True or catalog_entry(stream).get("is_view") is True
    return is_database_stream(stream) and not is_view


def _types(field_schema: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(JSON types, formats) of a field, ``anyOf`` members included."""
    types: set[str] = set()
    formats: set[str] = set()
    any_of = field_schema.get("anyOf")
    for part in [field_schema, *(any_of if isinstance(any_of, list) else [])]:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        types.update(k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str))
        if isinstance(part.get("format"), str):
            formats.add(part["format"])
    return types, formats


def replication_key_problem(stream: StreamLike, key: str) -> str | None:
    """Why ``key`` cannot be the stream's replication key (spec 3.8), or None if it can: it must
    be in ``valid-replication-keys`` when the tap gives that list, else an integer, date-time or
    timestamp field of the schema."""
    found = discovered(stream)
    valid = valid_replication_keys(found.get(STREAM, {}))
    if valid is not None:
        return None if key in valid else f"expected one of: {', '.join(valid)}"
    fields = schema_fields(stream.schema)
    if key not in fields:
        return "no such field"
    types, formats = _types(fields[key])
    sql_type = found.get(("properties", key), {}).get("sql-datatype")
    if (
        "integer" in types
        or ("string" in types and "date-time" in formats)
        or (isinstance(sql_type, str) and "timestamp" in sql_type.lower())
    ):
        return None
    return "expected an integer, date-time or timestamp field"


def key_properties(stream: StreamLike) -> list[str]:
    """Primary key for a run: the partner's ``view-key-properties`` (views), else the tap's."""
    chosen = stream.chosen_metadata.get(STREAM_KEY, {}).get("view-key-properties")
    if isinstance(chosen, list) and chosen:
        return [str(name) for name in chosen]
    for value in (
        discovered(stream).get(STREAM, {}).get("table-key-properties"),
        catalog_entry(stream).get("key_properties"),
    ):
        if isinstance(value, list):
            return [str(name) for name in value]
    return []


# --- the catalog for a run -------------------------------------------------------------------


def _singer_metadata(stream: StreamLike, method: str, key: str | None) -> list[dict[str, Any]]:
    selected = is_selected(stream)
    # A run cannot do without its replication key and primary key (SDK taps fail on a key they
    # were told not to read; targets need the primary key), whatever the partner deselected.
    needed = {key, *key_properties(stream)}
    result = []
    for breadcrumb, metadata, chosen in _entries(stream):
        if breadcrumb == STREAM:
            metadata.update({"selected": selected, "replication-method": method})
            if key is not None:
                metadata["replication-key"] = key
        elif selected:
            metadata["selected"] = (
                breadcrumb[:1] == ("properties",) and len(breadcrumb) == 2 and breadcrumb[1] in needed
            ) or field_replicated(metadata.get("inclusion"), chosen, metadata.get("selected-by-default"))
        result.append({"breadcrumb": list(breadcrumb), "metadata": metadata})
    return result


def singer_entry(stream: StreamLike) -> dict[str, Any]:
    """One stream of a run's Singer catalog.

    The full schema is kept; selection is expressed in metadata only: ``selected`` on the stream,
    and on each field of a selected stream ``selected: true`` exactly when the spec 3.9 table
    replicates it, or when it is the replication key or part of the primary key. Method, key and
    primary key are written both as metadata and as the top-level entries that classic and SDK
    taps read (tap-postgres needs ``replication_method``).
    """
    method = effective_method(stream)
    key = effective_replication_key(stream) if method == "INCREMENTAL" else None
    entry = catalog_entry(stream)
    entry.update(
        {
            "tap_stream_id": stream.tap_stream_id,
            "stream": entry.get("stream") or stream.stream_name,
            "schema": stream.schema,
            "metadata": _singer_metadata(stream, method, key),
            "key_properties": key_properties(stream),
            "replication_method": method,
        }
    )
    if key is None:
        entry.pop("replication_key", None)
    else:
        entry["replication_key"] = key
    return entry


def singer_catalog(streams: Iterable[StreamLike]) -> dict[str, Any]:
    """The Singer catalog for a run, from the partner's selection.

    Every discovered stream is listed; unselected ones say ``selected: false``. Leaving them out
    would not be safer: a Singer SDK tap falls back to its own default metadata for a stream
    missing from the catalog, which may select it.
    """
    # A copy: whoever writes the catalog file may change it without touching the stored rows.
    return copy.deepcopy({"streams": [singer_entry(stream) for stream in streams]})
