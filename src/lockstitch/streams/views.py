"""Stitch wire objects built from stream rows: the Stream object (spec 3.6) and the Stream Schema
object (spec 3.7). Keys are in the order of Stitch's examples."""

from __future__ import annotations

from typing import Any

from lockstitch.kit.json import dumps
from lockstitch.models import Stream
from lockstitch.streams.selection import (
    NON_DISCOVERABLE_KEYS,
    chosen_selected,
    merged_metadata,
    stream_level_metadata,
)


def wire_order(streams: list[Stream]) -> list[Stream]:
    # Sorted here, not in SQL: SQLite and PostgreSQL collate text differently, and the order
    # must not depend on the database.
    return sorted(streams, key=lambda s: (s.stream_name, s.tap_stream_id))


def stream_json(stream: Stream) -> dict[str, Any]:
    return {
        "selected": chosen_selected(stream.chosen_metadata),
        "stream_id": stream.id,
        "tap_stream_id": stream.tap_stream_id,
        "stream_name": stream.stream_name,
        "metadata": stream_level_metadata(stream),
    }


def stream_schema_json(stream: Stream) -> dict[str, Any]:
    return {
        # A string holding the JSON schema, as Stitch sends it.
        "schema": dumps(stream.schema).decode(),
        "metadata": merged_metadata(stream),
        "non-discoverable-metadata-keys": list(NON_DISCOVERABLE_KEYS),
    }
