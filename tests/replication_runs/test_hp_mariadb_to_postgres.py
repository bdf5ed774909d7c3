"""platform.hp-mariadb (the machine's MariaDB, on pipelinewise-tap-mysql) -> postgres destination
(the machine's PostgreSQL): one run lands every row of both tables, values as MariaDB holds them,
in the schema named after the source. (The lead switches the destination to mysql_destination
once that type exists.)"""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle
from tests.discovery.conftest import MARIADB_PASSWORD, MARIADB_USER
from tests.replication_runs.conftest import (
    configured_source,
    full_table,
    incremental,
    postgres_destination,
    query,
    run_to_success,
)
from tests.replication_runs.helpers import check_log, exit_line, saved_state

pytestmark = pytest.mark.slow


async def test_hp_mariadb_rows_land_in_postgres(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, source_mariadb: str, target_postgres: str
) -> None:
    await postgres_destination(client, account, target_postgres)
    properties = {"host": "127.0.0.1", "port": "3306", "user": MARIADB_USER, "password": MARIADB_PASSWORD}
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "platform.hp-mariadb",
            "display_name": "Maria Shop",
            "properties": {**properties, "dbname": source_mariadb},
        },
        {"-products": [incremental("updated_at")], "-stock": [full_table()]},
    )
    sid, schema = source["id"], source["name"]
    assert schema == "maria_shop"

    run = await run_to_success(ctx, sid)
    assert run.source_type == "tap-mysql"
    assert run.records == {"products": 3, "stock": 2}
    lines = await check_log(ctx, run, secrets=[MARIADB_PASSWORD, "trust-ignores-it"])
    assert exit_line(lines) == "Exit status is: Discovery succeeded. Tap succeeded. Target succeeded."
    products = await query(
        target_postgres, f"SELECT id, title, price, attributes FROM {schema}.products ORDER BY id"
    )
    assert [(r["id"], r["title"], r["price"]) for r in products] == [
        (1, "Needle", Decimal("2.50")),
        (2, "Thread", Decimal("4.00")),
        (3, "Machine", Decimal("349.00")),
    ]
    assert products[1]["attributes"] is None
    assert json.loads(products[0]["attributes"]) == {"size": "small"}  # jsonb, as asyncpg reads it: text
    stock = await query(
        target_postgres, f"SELECT product_id, quantity FROM {schema}.stock ORDER BY product_id"
    )
    assert [tuple(r) for r in stock] == [(1, 100), (3, 2)]
    state = await saved_state(ctx, sid)
    assert state is not None
    assert "bookmarks" in state.state
