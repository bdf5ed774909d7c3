"""platform.heroku_pg (Stitch's older Heroku PostgreSQL type, on meltanolabs-tap-postgres) ->
postgres destination, both on the machine's PostgreSQL: a first run lands every row of a
FULL_TABLE and an INCREMENTAL table, and the next run brings the whole FULL_TABLE table again but
only the rows changed since the bookmark (and the bookmark's own row, re-read with >=).

Stitch serves heroku_pg as deprecated (access false: creating one is refused, as
tests/catalog/test_database_variants.py checks), so this run is what an operator who still runs
such sources gets after re-enabling the type with an override file in a source-type directory."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from lockstitch.catalog.loader import PACKAGED_SOURCES, Catalog, load_catalog
from lockstitch.context import Context
from tests.conftest import TEST_TYPES, AccountHandle
from tests.discovery.test_hp_postgres import pg_properties
from tests.replication_runs.conftest import (
    configured_source,
    fields,
    full_table,
    incremental,
    postgres_destination,
    query,
    run_to_success,
)
from tests.replication_runs.helpers import check_log, exit_line

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The test catalogue plus an operator's copy of heroku_pg marked released."""
    operator = tmp_path_factory.mktemp("operator_types")
    card = (PACKAGED_SOURCES / "platform.heroku_pg.yaml").read_text()
    assert "pipeline_state: deprecated" in card
    (operator / "heroku_pg.yaml").write_text(
        card.replace("pipeline_state: deprecated", "pipeline_state: released")
    )
    return load_catalog([TEST_TYPES, Path(operator)])


async def customers_and_orders(database: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    customers = await query(database, "SELECT id, name, balance, tags FROM heroku_shop.customers ORDER BY id")
    orders = await query(database, "SELECT id, customer_id, amount FROM heroku_shop.orders ORDER BY id")
    return [tuple(r) for r in customers], [tuple(r) for r in orders]


async def test_heroku_pg_full_table_then_incremental(
    ctx: Context,
    client: httpx.AsyncClient,
    account: AccountHandle,
    source_postgres: str,
    target_postgres: str,
) -> None:
    await postgres_destination(client, account, target_postgres)
    # Distinct update times, so the first run's bookmark is order 2's.
    await query(
        source_postgres, "UPDATE orders SET updated_at = timestamp '2024-01-01' + id * interval '1 day'"
    )
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "platform.heroku_pg",
            "display_name": "Heroku Shop",
            "properties": pg_properties(source_postgres),
        },
        {
            # The tap gives no selected-by-default: only selected fields (and keys) are replicated.
            "-customers": [full_table(), *fields("name", "balance", "tags")],
            "-orders": [incremental("updated_at"), *fields("customer_id", "amount")],
        },
    )
    assert source["name"] == "heroku_shop"
    sid = source["id"]

    first = await run_to_success(ctx, sid)
    assert first.records == {"customers": 3, "orders": 2}
    lines = await check_log(ctx, first, secrets=["trust-auth-ignores-this", "trust-ignores-it"])
    assert exit_line(lines) == "Exit status is: Discovery succeeded. Tap succeeded. Target succeeded."
    customers, orders = await customers_and_orders(target_postgres)
    assert customers == [
        (1, "Ada", Decimal("120.50"), ["vip", "early"]),
        (2, "Grace", Decimal("80.00"), ["trial"]),
        (3, "Linus", Decimal("999.99"), None),
    ]
    assert orders == [(1, 1, Decimal("10.5")), (2, 3, Decimal("99.95"))]

    # Between runs: a new customer, a new order and a changed order, both after the bookmark.
    await query(source_postgres, "INSERT INTO customers (name, balance) VALUES ('Barbara', 7.25)")
    await query(
        source_postgres, "INSERT INTO orders (customer_id, amount, updated_at) VALUES (4, 1.25, '2025-01-01')"
    )
    await query(source_postgres, "UPDATE orders SET amount = 11, updated_at = '2025-01-02' WHERE id = 1")
    second = await run_to_success(ctx, sid)
    # customers whole; orders: 1 and 3 (changed) and 2 (the bookmark's row), never more.
    assert second.records == {"customers": 4, "orders": 3}
    await check_log(ctx, second, secrets=["trust-auth-ignores-this", "trust-ignores-it"])
    customers, orders = await customers_and_orders(target_postgres)
    assert [c[:3] for c in customers] == [
        (1, "Ada", Decimal("120.50")),
        (2, "Grace", Decimal("80.00")),
        (3, "Linus", Decimal("999.99")),
        (4, "Barbara", Decimal("7.25")),
    ]  # upserted on the key: each row once
    assert orders == [(1, 1, Decimal("11")), (2, 3, Decimal("99.95")), (3, 4, Decimal("1.25"))]
