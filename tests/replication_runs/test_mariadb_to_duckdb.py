"""hp-mysql (the machine's MariaDB, pipelinewise-tap-mysql) -> lockstitch.duckdb (target-duckdb):
a full first run lands the rows in the DuckDB file under LOCKSTITCH_HOME, in the schema named
after the source; after rows change in MariaDB the next run brings only the changed ones for the
INCREMENTAL stream (the FULL_TABLE one comes whole, upserts keep one row per key), and a field the
partner deselected arrives exactly when spec 3.9's replication table says it does."""

from __future__ import annotations

import httpx
import pytest

from lockstitch.context import Context
from lockstitch.streams.selection import field_replicated
from tests.conftest import AccountHandle
from tests.discovery.conftest import MARIADB_PASSWORD, MARIADB_USER, mariadb
from tests.replication_runs.conftest import api, configured_source, latest, run_extractions, sync_now
from tests.replication_runs.helpers import check_log, duckdb_query, exit_line, loads_of, saved_state

pytestmark = pytest.mark.slow


async def replicated(client: httpx.AsyncClient, who: AccountHandle, sid: int, stream: str, name: str) -> bool:
    """Whether the field is replicated by spec 3.9's table, from its metadata as the API shows
    it after the partner deselected it. pipelinewise-tap-mysql discovers every supported column
    with ``selected-by-default: true``, and the table's row (false, true) says "replicated":
    so a deselected MariaDB column still arrives (see the report to the lead)."""
    streams = await api(client, who, "GET", f"/v4/sources/{sid}/streams")
    found = next(s for s in streams if s["tap_stream_id"] == stream)
    schema = await api(client, who, "GET", f"/v4/sources/{sid}/streams/{found['stream_id']}")
    field = next(m["metadata"] for m in schema["metadata"] if m["breadcrumb"] == ["properties", name])
    assert field["selected"] is False  # the partner's choice is kept
    return field_replicated(field.get("inclusion"), field["selected"], field.get("selected-by-default"))


async def test_mariadb_into_duckdb_full_then_incremental(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, source_mariadb: str
) -> None:
    await api(
        client,
        account,
        "POST",
        "/v4/destinations",
        {"type": "lockstitch.duckdb", "name": "Local warehouse", "properties": {"path": "shop.duckdb"}},
    )
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "platform.hp-mysql",
            "display_name": "Maria Shop",
            "properties": {
                "host": "127.0.0.1",
                "port": "3306",
                "user": MARIADB_USER,
                "password": MARIADB_PASSWORD,
                "dbname": source_mariadb,
            },
        },
        {
            "-products": [
                {
                    "breadcrumb": [],
                    "metadata": {
                        "selected": True,
                        "replication-method": "INCREMENTAL",
                        "replication-key": "updated_at",
                    },
                },
                {"breadcrumb": ["properties", "price"], "metadata": {"selected": False}},
            ],
            "-stock": [
                {"breadcrumb": [], "metadata": {"selected": True, "replication-method": "FULL_TABLE"}}
            ],
        },
    )
    sid, schema = source["id"], source["name"]
    price_replicated = await replicated(client, account, sid, f"{source_mariadb}-products", "price")
    warehouse = ctx.settings.account_warehouse(account.id) / "shop.duckdb"

    # Distinct update times (the seed gives every row the same one, and the tap re-reads the
    # bookmark's rows with >=): the bookmark after the first run is product 3's.
    mariadb("UPDATE products SET updated_at = TIMESTAMP('2024-01-01') + INTERVAL id DAY;", source_mariadb)
    await sync_now(ctx, sid)
    await run_extractions(ctx)
    first = await latest(ctx, sid)
    assert (first.state, first.tap_exit_status, first.target_exit_status) == ("succeeded", 0, 0), (
        first.tap_description,
        first.target_description,
    )
    assert first.source_type == "tap-mysql"
    products_stream, stock_stream = "products", "stock"  # stream names, as the log and loads say
    assert first.records == {products_stream: 3, stock_stream: 2}
    lines = await check_log(ctx, first, secrets=[MARIADB_PASSWORD])
    assert exit_line(lines) == "Exit status is: Discovery succeeded. Tap succeeded. Target succeeded."

    assert warehouse.is_file()
    tables = duckdb_query(
        ctx,
        warehouse,
        "SELECT table_schema, table_name FROM information_schema.tables ORDER BY table_name",
    )
    assert {(t["table_schema"], t["table_name"]) for t in tables} == {(schema, "products"), (schema, "stock")}
    products = duckdb_query(ctx, warehouse, f'SELECT * FROM "{schema}".products ORDER BY id')
    assert [(p["id"], p["title"]) for p in products] == [(1, "Needle"), (2, "Thread"), (3, "Machine")]
    assert ("price" in products[0]) is price_replicated
    assert "attributes" in products[0]
    stock = duckdb_query(ctx, warehouse, f'SELECT product_id, quantity FROM "{schema}".stock ORDER BY 1')
    assert [(s["product_id"], s["quantity"]) for s in stock] == [(1, 100), (3, 2)]
    state = await saved_state(ctx, sid)
    assert state is not None
    assert state.job_name == first.job_name
    assert "bookmarks" in state.state
    loads = await loads_of(ctx, sid)
    assert set(loads) == {products_stream, stock_stream}
    assert all(load.error_state is None and load.last_batch_loaded_at for load in loads.values())

    # Between runs: one new product and one changed product, both later than the bookmark.
    mariadb(
        "INSERT INTO products (title, price, updated_at) VALUES ('Bobbin', 1.25, '2025-01-01');"
        "UPDATE products SET title = 'Needle XL', updated_at = '2025-01-02' WHERE id = 1;"
        "UPDATE stock SET quantity = 99 WHERE product_id = 1;",
        source_mariadb,
    )
    await sync_now(ctx, sid)
    await run_extractions(ctx)
    second = await latest(ctx, sid)
    assert second.state == "succeeded", (second.tap_description, second.target_description)
    # The two changed rows and the bookmark's boundary row (product 3, re-read with >=), never
    # the unchanged product 2; FULL_TABLE comes whole.
    assert second.records[products_stream] == 3, second.records
    assert second.records[stock_stream] == 2
    await check_log(ctx, second, secrets=[MARIADB_PASSWORD])
    products = duckdb_query(ctx, warehouse, f'SELECT * FROM "{schema}".products ORDER BY id')
    assert [(p["id"], p["title"]) for p in products] == [
        (1, "Needle XL"),
        (2, "Thread"),
        (3, "Machine"),
        (4, "Bobbin"),
    ]  # upserted on the key: each row once
    assert all(("price" in p) is price_replicated for p in products)
    stock = duckdb_query(ctx, warehouse, f'SELECT product_id, quantity FROM "{schema}".stock ORDER BY 1')
    assert [(s["product_id"], s["quantity"]) for s in stock] == [(1, 99), (3, 2)]
    advanced = await saved_state(ctx, sid)
    assert advanced is not None
    assert advanced.job_name == second.job_name
