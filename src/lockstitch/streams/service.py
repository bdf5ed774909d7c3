"""Stream rules: storing a discovered catalog, reading streams, the metadata PUT.

Services take a session from the caller's unit of work and never commit. Every change to a
source's streams locks the source row first, then reads its streams, so concurrent PUTs and
re-discoveries serialise instead of losing each other's writes. After every change the source's
``selection_complete`` is recomputed; the first time it holds, ``fully_configured_at`` is set
(and never reset: it anchors the interval schedule).

Decisions where Stitch is silent:
* an unknown, malformed, deleted or other account's source id answers the stream GETs with the
  plain-string 400 (``invalid source-id: <ID>`` for the list, ``invalid stream-id: <ID>`` for one
  stream), and the PUT as if its streams were unknown (``invalid tap-stream-ids: [...]``); a
  deleted source's streams stay readable, but no longer writable;
* a PUT may write a source's streams whatever its report-card step once discovery stored them
  (streams exist only after a successful discovery; a re-check in progress does not freeze them).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts.auth import Principal
from lockstitch.kit.ids import parse_id
from lockstitch.models import Source, Stream
from lockstitch.streams import changes, discovery, errors, selection
from lockstitch.streams.repository import StreamRepository
from lockstitch.streams.views import stream_json, stream_schema_json, wire_order


async def store_discovered_catalog(
    session: AsyncSession, source: Source, catalog: Any, now: dt.datetime
) -> None:
    """Store a tap's ``--discover`` output as the source's streams.

    Streams are matched by tap_stream_id (their ``stream_id`` stays stable); streams gone from the
    catalog are deleted; the partner's choices survive for breadcrumbs that still exist. Raises
    ``errors.InvalidCatalogError`` (nothing written) when ``catalog`` is not a usable Singer catalog.
    """
    found = discovery.parse_catalog(catalog)
    repo = StreamRepository(session)
    await repo.lock_source(source)
    existing = {stream.tap_stream_id: stream for stream in await repo.streams_of(source.id)}
    streams = [_upsert(repo, source, existing.pop(d.tap_stream_id, None), d, now) for d in found]
    for gone in existing.values():
        await repo.delete(gone)
    await repo.flush()
    _refresh_selection(source, streams, now)


def _upsert(
    repo: StreamRepository,
    source: Source,
    stream: Stream | None,
    found: discovery.DiscoveredStream,
    now: dt.datetime,
) -> Stream:
    if stream is None:
        stream = Stream(
            account_id=source.account_id,
            source_id=source.id,
            tap_stream_id=found.tap_stream_id,
            chosen_metadata={},
            created_at=now,
        )
        repo.stage(stream)
    stream.stream_name = found.stream_name
    stream.schema = found.schema
    stream.discovered_metadata = found.discovered_metadata
    stream.catalog_entry = found.catalog_entry
    stream.chosen_metadata = discovery.surviving_choices(stream.chosen_metadata or {}, found)
    stream.selected = selection.chosen_selected(stream.chosen_metadata)
    stream.updated_at = now
    return stream


def _refresh_selection(source: Source, streams: list[Stream], now: dt.datetime) -> None:
    complete = selection.selection_complete(streams)
    if complete != source.selection_complete:
        source.selection_complete = complete
        source.updated_at = now
    if complete and source.fully_configured_at is None:
        source.fully_configured_at = now


async def list_streams(session: AsyncSession, who: Principal, raw_source_id: str) -> list[dict[str, Any]]:
    source_id = parse_id(raw_source_id)
    repo = StreamRepository(session)
    source = await repo.source(who.account_id, source_id) if source_id else None
    if source is None:
        raise errors.invalid_source_id(raw_source_id)
    return [stream_json(stream) for stream in wire_order(await repo.streams_of(source.id))]


async def get_stream(
    session: AsyncSession, who: Principal, raw_source_id: str, raw_stream_id: str
) -> dict[str, Any]:
    source_id = parse_id(raw_source_id)
    stream_id = parse_id(raw_stream_id)
    stream = None
    if source_id and stream_id:
        stream = await StreamRepository(session).stream(who.account_id, source_id, stream_id)
    if stream is None:
        raise errors.invalid_stream_id(raw_stream_id)
    return stream_schema_json(stream)


async def update_metadata(
    session: AsyncSession, who: Principal, raw_source_id: str, body: Any, now: dt.datetime
) -> dict[str, Any]:
    """``PUT .../streams/metadata``: all rules are checked before the first write."""
    requests = changes.parse_body(body)
    source_id = parse_id(raw_source_id)
    repo = StreamRepository(session)
    source = await repo.source(who.account_id, source_id, for_update=True) if source_id else None
    writable = source is not None and source.deleted_at is None
    streams = await repo.streams_of(source.id) if source is not None and writable else []
    planned = changes.plan(requests, {stream.tap_stream_id: stream for stream in streams})
    if source is None or not planned:
        return {"status": 200}
    for stream in streams:
        if stream.tap_stream_id in planned:
            stream.chosen_metadata = planned[stream.tap_stream_id]
            stream.selected = selection.chosen_selected(stream.chosen_metadata)
            stream.updated_at = now
    _refresh_selection(source, streams, now)
    source.updated_at = now
    await repo.flush()
    return {"status": 200}
