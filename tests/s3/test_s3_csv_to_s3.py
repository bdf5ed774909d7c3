"""platform.s3-csv (singer-io's tap-s3-csv, CSV objects in one bucket of the local S3 server)
-> s3 (pipelinewise-target-s3-csv, into another bucket): created through the API as a partner
would, replicated for real, and the rows read back from the objects the target wrote."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle
from tests.replication_runs.conftest import api, configured_source, latest, run_extractions, sync_now
from tests.replication_runs.helpers import check_log, exit_line
from tests.s3_server import SECRET_ACCESS_KEY, S3Server

pytestmark = pytest.mark.slow
SUCCEEDED = "Exit status is: Discovery succeeded. Tap succeeded. Target succeeded."
KEY_FORMAT = "[integration_name]/[table_name]/[table_version]_[timestamp_loaded].csv"


async def test_csv_objects_replicate_into_another_bucket(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, s3_server: S3Server
) -> None:
    source_bucket = s3_server.new_bucket("lockstitch-src")
    target_bucket = s3_server.new_bucket("lockstitch-dst")
    s3_server.put(source_bucket, "exports/orders-1.csv", b"id,name,amount\n1,Ada,10\n2,Grace,20\n")
    s3_server.put(source_bucket, "exports/orders-2.csv", b"id,name,amount\n3,Linus,7\n")
    s3_server.put(source_bucket, "exports/other.txt", b"not a table\n")
    await api(
        client,
        account,
        "POST",
        "/v4/destinations",
        {
            "type": "s3",
            "properties": {
                "s3_bucket": target_bucket,
                "output_file_format": "csv",
                "s3_key_format_string": KEY_FORMAT,
                "csv_delimiter": ",",
            },
        },
    )
    tables = [
        {
            "table_name": "orders",
            "search_prefix": "exports",
            "search_pattern": r"orders-.*\.csv",
            "key_properties": "id",
        }
    ]
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "platform.s3-csv",
            "display_name": "Order exports",
            "properties": {
                "account_id": "123456789012",
                "bucket": source_bucket,
                "start_date": "2020-01-01T00:00:00Z",
                "tables": json.dumps(tables),
            },
        },
        {
            "orders": [
                {"breadcrumb": [], "metadata": {"selected": True}},
                # The tap's fields are "available", not selected by default: chosen one by one.
                *(
                    {"breadcrumb": ["properties", field], "metadata": {"selected": True}}
                    for field in ("name", "amount", "_sdc_source_bucket", "_sdc_source_file")
                ),
            ]
        },
    )
    assert source["properties"]["role_name"] == f"lockstitch_{account.id}"
    assert source["properties"]["external_id"] == f"lockstitch_connection_{source['id']}"

    await sync_now(ctx, source["id"])
    await run_extractions(ctx)
    run = await latest(ctx, source["id"])
    assert (run.state, run.tap_exit_status, run.target_exit_status) == ("succeeded", 0, 0), (
        run.tap_description,
        run.target_description,
    )
    assert run.source_type == "tap-s3-csv"
    assert run.records == {"orders": 3}
    assert exit_line(await check_log(ctx, run, [SECRET_ACCESS_KEY])) == SUCCEEDED

    landed = s3_server.objects(target_bucket)
    assert len(landed) == 1, sorted(landed)
    [(key, body)] = landed.items()
    # [integration_name]/[table_name]/...: the source's name, then the stream.
    assert key.startswith(f"{source['name']}/orders/"), key
    assert key.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert sorted((r["id"], r["name"], r["amount"]) for r in rows) == [
        ("1", "Ada", "10"),
        ("2", "Grace", "20"),
        ("3", "Linus", "7"),
    ]
    # Stitch's _sdc columns, and the tap's own: which object and line each row came from.
    assert {"_sdc_batched_at", "_sdc_received_at", "_sdc_sequence"} <= set(rows[0])
    assert {r["_sdc_source_file"] for r in rows} == {"exports/orders-1.csv", "exports/orders-2.csv"}
    assert {r["_sdc_source_bucket"] for r in rows} == {source_bucket}
