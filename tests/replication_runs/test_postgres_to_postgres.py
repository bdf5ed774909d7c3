"""hp-postgres -> postgres destination on the local PostgreSQL, with the real tap and target:
a full first run, then rows inserted and updated between runs arrive once on the incremental
run (the target's confirmed state), and deselected fields never arrive."""

from __future__ import annotations

import re

import httpx
import pytest

from lockstitch.context import Context
from lockstitch.models import SourceState
from tests.conftest import AccountHandle
from tests.discovery.test_hp_postgres import pg_properties
from tests.replication_runs.conftest import api, configured_source, latest, query, run_extractions, sync_now

pytestmark = pytest.mark.slow
LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}Z (main|tap|target) - [A-Z]+ ")


async def test_full_then_incremental(
    ctx: Context,
    client: httpx.AsyncClient,
    account: AccountHandle,
    source_postgres: str,
    target_postgres: str,
) -> None:
    await api(
        client,
        account,
        "POST",
        "/v4/destinations",
        {
            "type": "postgres",
            "name": "Warehouse",
            "properties": {
                "host": "127.0.0.1",
                "port": "5432",
                "username": "postgres",
                "password": "trust-ignores-it",
                "database": target_postgres,
                "ssl": "false",
            },
        },
    )
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "platform.hp-postgres",
            "display_name": "Shop",
            "properties": pg_properties(source_postgres),
        },
        {
            "-orders": [
                {
                    "breadcrumb": [],
                    "metadata": {
                        "selected": True,
                        "replication-method": "INCREMENTAL",
                        "replication-key": "updated_at",
                    },
                },
                {"breadcrumb": ["properties", "customer_id"], "metadata": {"selected": True}},
                {"breadcrumb": ["properties", "ordered_on"], "metadata": {"selected": True}},
                # The tap gives no selected-by-default: per Stitch's table (false, null) is
                # not replicated, and neither is a field nobody selected.
                {"breadcrumb": ["properties", "amount"], "metadata": {"selected": False}},
            ],
            "-customers": [
                {"breadcrumb": [], "metadata": {"selected": True, "replication-method": "FULL_TABLE"}}
            ],
        },
    )
    sid = source["id"]

    await sync_now(ctx, sid)
    await run_extractions(ctx)
    first = await latest(ctx, sid)
    assert (first.state, first.tap_exit_status, first.target_exit_status) == ("succeeded", 0, 0), (
        first.tap_description,
        first.target_description,
    )
    assert first.records == {"orders": 2, "customers": 3}
    assert first.source_type == "tap-postgres"
    orders = await query(target_postgres, "SELECT * FROM shop.orders ORDER BY id")
    assert [r["id"] for r in orders] == [1, 2]
    assert "amount" not in orders[0]  # deselected fields never arrive
    assert orders[0]["customer_id"] == 1  # selected fields arrive
    assert orders[0]["ordered_on"] is not None
    assert len(await query(target_postgres, "SELECT id FROM shop.customers")) == 3
    async with ctx.db.read() as session:
        saved = await session.get(SourceState, sid)
    assert saved is not None
    assert "bookmarks" in saved.state

    # Between runs: one new order, one updated order.
    await query(
        source_postgres,
        "INSERT INTO orders (customer_id, amount, updated_at) VALUES (2, 5, now() + interval '1 day')",
    )
    await query(source_postgres, "UPDATE orders SET updated_at = now() + interval '2 days' WHERE id = 1")
    await sync_now(ctx, sid)
    await run_extractions(ctx)
    second = await latest(ctx, sid)
    assert second.state == "succeeded", (second.tap_description, second.target_description)
    # Incremental: the two changed rows (and the bookmark's boundary row, which taps re-read
    # with >=) - not the whole table; customers is FULL_TABLE and comes whole.
    assert 2 <= second.records["orders"] <= 3
    assert second.records["customers"] == 3
    orders = await query(target_postgres, "SELECT id FROM shop.orders ORDER BY id")
    assert [r["id"] for r in orders] == [1, 2, 3]  # upserted on the key: each row once

    # The log, in Stitch's line format, ends with the exit status line.
    from lockstitch.models import ExtractionLog  # noqa: PLC0415

    async with ctx.db.read() as session:
        text = (await session.get(ExtractionLog, second.id)).content  # type: ignore[union-attr]
    lines = text.strip().splitlines()
    assert all(LINE.match(line) for line in lines), [line for line in lines if not LINE.match(line)][:3]
    assert any(line.endswith('tap - INFO replicated 3 records from "customers" endpoint') for line in lines)
    assert lines[-1].endswith(
        "main - INFO Exit status is: Discovery succeeded. Tap succeeded. Target succeeded."
    )
    assert "trust-ignores-it" not in text
