"""Storing a discovered catalog, and re-discovery merging with the partner's choices (both databases)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lockstitch.context import Context
from lockstitch.models import Source, Stream
from lockstitch.streams import selection
from lockstitch.streams.errors import InvalidCatalogError
from tests.conftest import AccountHandle
from tests.streams.conftest import (
    DB_STREAM,
    SAAS_STREAM,
    VIEW_STREAM,
    MakeSource,
    db_entry,
    discover,
    full_catalog,
    saas_entry,
    view_entry,
)


async def _streams(ctx: Context, source_id: int) -> dict[str, Stream]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(Stream).where(Stream.source_id == source_id))
        return {row.tap_stream_id: row for row in rows}


async def _source(ctx: Context, source_id: int) -> Source:
    async with ctx.db.read() as session:
        source = await session.get(Source, source_id)
        assert source is not None
        return source


async def _select(client: httpx.AsyncClient, who: AccountHandle, source_id: int, streams: Any) -> None:
    response = await client.put(
        f"/v4/sources/{source_id}/streams/metadata", headers=who.headers, json={"streams": streams}
    )
    assert response.status_code == 200, response.text


async def test_discovery_stores_every_stream(
    ctx: Context, make_source: MakeSource, account: AccountHandle
) -> None:
    source_id = await make_source(account)
    streams = await _streams(ctx, source_id)
    assert set(streams) == {DB_STREAM, VIEW_STREAM, SAAS_STREAM, "accounts"}
    db = streams[DB_STREAM]
    assert db.stream_name == "customers"
    assert db.account_id == account.id
    assert db.selected is None
    assert db.chosen_metadata == {}
    assert db.schema == db_entry()["schema"]
    assert selection.catalog_entry(db) == {"table_name": "customers", "stream": "customers"}
    assert not (await _source(ctx, source_id)).selection_complete


async def test_rediscovery_keeps_ids_and_surviving_choices(
    ctx: Context, client: httpx.AsyncClient, make_source: MakeSource, account: AccountHandle
) -> None:
    source_id = await make_source(account)
    before = await _streams(ctx, source_id)
    await _select(
        client,
        account,
        source_id,
        [
            {
                "tap_stream_id": DB_STREAM,
                "metadata": [
                    {
                        "breadcrumb": [],
                        "metadata": {
                            "selected": True,
                            "replication-method": "INCREMENTAL",
                            "replication-key": "updated_at",
                        },
                    },
                    {"breadcrumb": ["properties", "name"], "metadata": {"selected": True}},
                    {"breadcrumb": ["properties", "age"], "metadata": {"selected": False}},
                ],
            },
            {"tap_stream_id": VIEW_STREAM, "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]},
        ],
    )
    # The tap now finds: customers without age and updated_at, no view, a new stream.
    changed = db_entry()
    del changed["schema"]["properties"]["age"]
    del changed["schema"]["properties"]["updated_at"]
    changed["metadata"] = [
        m
        for m in changed["metadata"]
        if m["breadcrumb"] not in (["properties", "age"], ["properties", "updated_at"])
    ]
    new = copy.deepcopy(saas_entry()) | {"tap_stream_id": "orders", "stream": "orders"}
    await discover(ctx, source_id, {"streams": [saas_entry(), changed, new]})

    after = await _streams(ctx, source_id)
    assert set(after) == {DB_STREAM, SAAS_STREAM, "orders"}
    assert after[DB_STREAM].id == before[DB_STREAM].id  # stable stream_id
    assert after[SAAS_STREAM].id == before[SAAS_STREAM].id
    assert after["orders"].id not in {s.id for s in before.values()}
    assert after[DB_STREAM].chosen_metadata == {
        "[]": {"selected": True, "replication-method": "INCREMENTAL"},  # its key's field is gone
        '["properties","name"]': {"selected": True},
    }
    assert after[DB_STREAM].selected is True
    assert (await _source(ctx, source_id)).selection_complete


async def test_rediscovery_can_undo_completion_but_not_the_first_configuration(
    ctx: Context, client: httpx.AsyncClient, make_source: MakeSource, account: AccountHandle
) -> None:
    source_id = await make_source(account)
    await _select(
        client,
        account,
        source_id,
        [{"tap_stream_id": VIEW_STREAM, "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}],
    )
    await _select(
        client,
        account,
        source_id,
        [
            {
                "tap_stream_id": VIEW_STREAM,
                "metadata": [{"breadcrumb": ["properties", "id"], "metadata": {"selected": True}}],
            }
        ],
    )
    configured = await _source(ctx, source_id)
    assert configured.selection_complete
    assert configured.fully_configured_at is not None
    await discover(ctx, source_id, {"streams": [saas_entry(), db_entry()]})  # the view is gone
    source = await _source(ctx, source_id)
    assert not source.selection_complete
    assert source.fully_configured_at == configured.fully_configured_at
    await discover(ctx, source_id, {"streams": [view_entry()]})  # back, but its choices are gone
    assert (await _streams(ctx, source_id))[VIEW_STREAM].chosen_metadata == {}


@pytest.mark.parametrize("bad", [{"streams": "x"}, {"streams": [{"tap_stream_id": 5}]}])
async def test_unusable_catalog_writes_nothing(
    ctx: Context, make_source: MakeSource, account: AccountHandle, bad: Any
) -> None:
    source_id = await make_source(account)
    before = {k: v.id for k, v in (await _streams(ctx, source_id)).items()}
    with pytest.raises(InvalidCatalogError):
        await discover(ctx, source_id, bad)
    assert {k: v.id for k, v in (await _streams(ctx, source_id)).items()} == before


async def test_empty_catalog_removes_every_stream(
    ctx: Context, make_source: MakeSource, account: AccountHandle
) -> None:
    source_id = await make_source(account)
    await discover(ctx, source_id, {"streams": []})
    assert await _streams(ctx, source_id) == {}
    await discover(ctx, source_id, full_catalog())
    assert len(await _streams(ctx, source_id)) == 4
