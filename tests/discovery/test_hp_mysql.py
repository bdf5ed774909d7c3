"""platform.hp-mysql against the machine's MariaDB with the real pipelinewise-tap-mysql: check,
discovery (Stitch's database metadata), selection with INCREMENTAL, fully configured."""

from __future__ import annotations

import json

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle
from tests.discovery.conftest import MARIADB_PASSWORD, MARIADB_USER, run_checks
from tests.discovery.test_hp_postgres import get_json, put_metadata, step

pytestmark = pytest.mark.slow


async def test_mariadb_source_reaches_fully_configured(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, source_mariadb: str
) -> None:
    created = await client.post(
        "/v4/sources",
        headers=account.headers,
        json={
            "type": "platform.hp-mysql",
            "display_name": "Shop MariaDB",
            "properties": {
                "host": "127.0.0.1",
                "port": "3306",
                "user": MARIADB_USER,
                "password": MARIADB_PASSWORD,
                "dbname": source_mariadb,
            },
        },
    )
    assert created.status_code == 200, created.text
    sid = created.json()["id"]
    await run_checks(ctx)
    check = await get_json(client, account, f"/v4/sources/{sid}/last-connection-check")
    assert (check["status"], check["discovery_exit_status"]) == ("succeeded", 0), check
    assert MARIADB_PASSWORD not in json.dumps(check)

    streams = {s["stream_name"]: s for s in await get_json(client, account, f"/v4/sources/{sid}/streams")}
    assert {"products", "stock", "cheap_products"} <= {name.split("-")[-1] for name in streams}
    products = next(s for name, s in streams.items() if name.endswith("products") and "cheap" not in name)
    assert products["tap_stream_id"] == f"{source_mariadb}-products"
    meta = products["metadata"]
    assert meta["database-name"] == source_mariadb
    assert meta["is-view"] is False
    assert meta["table-key-properties"] == ["id"]
    assert meta["selected"] is None
    view = next(s for name, s in streams.items() if "cheap_products" in name)
    assert view["metadata"]["is-view"] is True

    schema = await get_json(client, account, f"/v4/sources/{sid}/streams/{products['stream_id']}")
    fields = {tuple(m["breadcrumb"]): m["metadata"] for m in schema["metadata"]}
    assert fields[("properties", "id")]["inclusion"] == "automatic"
    assert fields[("properties", "price")]["sql-datatype"] == "decimal(10,2)"

    chosen = await put_metadata(
        client,
        account,
        sid,
        {
            "streams": [
                {
                    "tap-stream-id": products["tap_stream_id"],  # the documented alias
                    "metadata": [
                        {
                            "breadcrumb": [],
                            "metadata": {
                                "selected": True,
                                "replication-method": "INCREMENTAL",
                                "replication-key": "updated_at",
                            },
                        },
                        {"breadcrumb": ["properties", "attributes"], "metadata": {"selected": False}},
                    ],
                }
            ]
        },
    )
    assert chosen.status_code == 200, chosen.text
    source = await get_json(client, account, f"/v4/sources/{sid}")
    assert step(source) == (4, "fully_configured")
    assert source["schedule"]["next_fire_time"] is not None
