"""platform.hp-mariadb (the machine's MariaDB, pipelinewise-tap-mysql) -> mysql_destination (thk-target-mysql)
into another MariaDB database: the rows land in a database named after the source, with the
target's _sdc metadata columns; the destination's own check passes first."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle
from tests.destinations.test_probes_protocols import MYSQL_PASSWORD, mysql_user
from tests.discovery.conftest import MARIADB_PASSWORD, MARIADB_USER, mariadb
from tests.replication_runs.conftest import api, configured_source, latest, run_extractions, sync_now
from tests.replication_runs.helpers import check_log, exit_line

pytestmark = pytest.mark.slow
__all__ = ["mysql_user"]  # the fixture: a MariaDB user that may create databases


@pytest.fixture
def landed() -> Iterator[list[str]]:
    """Databases the target made, dropped after the test."""
    made: list[str] = []
    yield made
    for name in made:
        mariadb(f"DROP DATABASE IF EXISTS `{name}`;")


async def test_mariadb_into_mysql_destination(
    ctx: Context,
    client: httpx.AsyncClient,
    account: AccountHandle,
    source_mariadb: str,
    mysql_user: str,
    landed: list[str],
) -> None:
    await api(
        client,
        account,
        "POST",
        "/v4/destinations",
        {
            "type": "mysql_destination",
            "name": "MariaDB warehouse",
            "properties": {
                "host": "127.0.0.1",
                "port": "3306",
                "username": mysql_user,
                "password": MYSQL_PASSWORD,
                "encryption_type": "none",
            },
        },
    )
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "platform.hp-mariadb",
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
                {"breadcrumb": [], "metadata": {"selected": True, "replication-method": "FULL_TABLE"}}
            ]
        },
    )
    sid, schema = source["id"], source["name"]
    landed.append(schema)
    await sync_now(ctx, sid)
    await run_extractions(ctx)
    run = await latest(ctx, sid)
    assert (run.state, run.tap_exit_status, run.target_exit_status) == ("succeeded", 0, 0), (
        run.tap_description,
        run.target_description,
    )
    assert run.records == {"products": 3}
    lines = await check_log(ctx, run, secrets=[MARIADB_PASSWORD, MYSQL_PASSWORD])
    assert exit_line(lines) == "Exit status is: Discovery succeeded. Tap succeeded. Target succeeded."
    rows = mariadb(f"SELECT id, title FROM `{schema}`.products ORDER BY id;")
    assert rows.strip().splitlines() == ["1\tNeedle", "2\tThread", "3\tMachine"]
    columns = mariadb(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = '{schema}' AND table_name = 'products';"
    ).split()
    # The source's columns, then the target's record metadata: Stitch's _sdc_* columns, renamed
    # sdc_..._ by the target (it moves the leading underscore), and its own table-version column
    # for activate_version (FULL_TABLE).
    assert {c.lower() for c in columns} == {
        "id",
        "title",
        "price",
        "attributes",
        "updated_at",
        "sdc_extracted_at_",
        "sdc_received_at_",
        "sdc_batched_at_",
        "sdc_deleted_at_",
        "sdc_sequence_",
        "sdc_table_version_",
        "x_sdc_table_version",
    }
