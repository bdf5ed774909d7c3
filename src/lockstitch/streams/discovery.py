"""Reading a tap's ``--discover`` output, and what of a partner's choices survives a re-discovery.

Pure: ``service.store_discovered_catalog`` does the writing. A catalog that is not a usable Singer
catalog raises ``InvalidCatalogError`` before anything is written (the discovery then fails, and the
streams stored before stay as they were).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lockstitch.streams.errors import InvalidCatalogError
from lockstitch.streams.selection import (
    STREAM_KEY,
    breadcrumb_key,
    known_breadcrumbs,
    schema_fields,
)

# The streams table's limit for tap_stream_id and stream_name.
MAX_NAME = 500
# Catalog-entry keys stored in their own columns; the rest goes to Stream.catalog_entry.
_OWN_COLUMNS = frozenset({"tap_stream_id", "schema", "metadata"})


@dataclass(frozen=True)
class DiscoveredStream:
    tap_stream_id: str
    stream_name: str
    schema: dict[str, Any]
    # The tap's metadata list, checked.
    discovered_metadata: list[dict[str, Any]]
    # The entry's other top-level keys (stream, table_name, key_properties...).
    catalog_entry: dict[str, Any]

    @property
    def known_keys(self) -> set[str]:
        """``breadcrumb_key`` of every breadcrumb a partner may write for this stream."""
        tap = (tuple(entry["breadcrumb"]) for entry in self.discovered_metadata)
        return {breadcrumb_key(b) for b in known_breadcrumbs(self.schema, tap)}


def parse_catalog(catalog: Any) -> list[DiscoveredStream]:
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise InvalidCatalogError("the catalog has no 'streams' list")
    parsed = [_parse_entry(index, entry) for index, entry in enumerate(catalog["streams"])]
    seen: set[str] = set()
    for stream in parsed:
        if stream.tap_stream_id in seen:
            raise InvalidCatalogError(f"tap_stream_id {stream.tap_stream_id!r} appears twice")
        seen.add(stream.tap_stream_id)
    return parsed


def _parse_entry(index: int, entry: Any) -> DiscoveredStream:
    if not isinstance(entry, dict):
        raise InvalidCatalogError(f"stream #{index} is not an object")
    tap_stream_id = entry.get("tap_stream_id")
    if not isinstance(tap_stream_id, str) or not tap_stream_id or len(tap_stream_id) > MAX_NAME:
        raise InvalidCatalogError(f"stream #{index} has no usable tap_stream_id")
    schema = entry.get("schema", {})
    if not isinstance(schema, dict):
        raise InvalidCatalogError(f"the schema of stream {tap_stream_id!r} is not an object")
    metadata = _parse_metadata(tap_stream_id, entry.get("metadata", []))
    extras = {k: v for k, v in entry.items() if k not in _OWN_COLUMNS}
    return DiscoveredStream(tap_stream_id, _stream_name(entry, tap_stream_id), schema, metadata, extras)


def _stream_name(entry: dict[str, Any], tap_stream_id: str) -> str:
    # Stitch shows a database stream by its table's name ("orders" for "db-heroku-orders"; spec
    # 3.6: "not unique across schemas"); SDK SQL taps name the stream "<schema>-<table>" and give
    # the table as table_name. Other taps give only "stream".
    for key in ("table_name", "stream"):
        value = entry.get(key)
        if isinstance(value, str) and value:
            return value[:MAX_NAME]
    return tap_stream_id


def _parse_metadata(tap_stream_id: str, metadata: Any) -> list[dict[str, Any]]:
    if not isinstance(metadata, list):
        raise InvalidCatalogError(f"the metadata of stream {tap_stream_id!r} is not a list")
    by_breadcrumb: dict[tuple[str, ...], dict[str, Any]] = {}
    for item in metadata:
        breadcrumb = item.get("breadcrumb") if isinstance(item, dict) else None
        values = item.get("metadata") if isinstance(item, dict) else None
        if (
            not isinstance(breadcrumb, list)
            or not all(isinstance(part, str) for part in breadcrumb)
            or not isinstance(values, dict)
        ):
            raise InvalidCatalogError(f"stream {tap_stream_id!r} has a malformed metadata entry")
        by_breadcrumb[tuple(breadcrumb)] = values  # the last entry of a breadcrumb wins
    return [{"breadcrumb": list(b), "metadata": m} for b, m in by_breadcrumb.items()]


def surviving_choices(
    chosen: dict[str, dict[str, Any]], stream: DiscoveredStream
) -> dict[str, dict[str, Any]]:
    """The partner's choices that still apply after a re-discovery.

    A choice for a breadcrumb that no longer exists goes (a removed field loses its selection);
    the stream's own ``[]`` choices stay while the stream exists, except a replication key or
    view key property naming a field that left the schema (a run would fail on it).
    """
    known = stream.known_keys
    kept = {key: dict(values) for key, values in chosen.items() if key in known}
    stream_level = kept.get(STREAM_KEY)
    if stream_level is None:
        return kept
    fields = schema_fields(stream.schema)
    if isinstance(stream_level.get("replication-key"), str) and stream_level["replication-key"] not in fields:
        del stream_level["replication-key"]
    view_keys = stream_level.get("view-key-properties")
    if isinstance(view_keys, list):
        stream_level["view-key-properties"] = [name for name in view_keys if name in fields]
    if not stream_level:
        del kept[STREAM_KEY]
    return kept
