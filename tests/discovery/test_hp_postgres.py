"""platform.hp-postgres against the machine's PostgreSQL: the connection check runs the real tap
(meltanolabs-tap-postgres from PyPI), discovery becomes streams, selection makes the source
fully configured. Both Lockstitch databases (the backend fixture)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle
from tests.discovery.conftest import run_checks
from tests.stitch_docs import doc_example

pytestmark = pytest.mark.slow


def pg_properties(database: str, **overrides: str) -> dict[str, str]:
    props = {
        "host": "127.0.0.1",
        "port": "5432",
        "user": "postgres",
        "password": "trust-auth-ignores-this",
        "dbname": database,
        "frequency_in_minutes": "60",
    }
    props.update(overrides)
    return props


async def create_source(
    client: httpx.AsyncClient, who: AccountHandle, properties: dict[str, str]
) -> dict[str, Any]:
    response = await client.post(
        "/v4/sources",
        headers=who.headers,
        json={"type": "platform.hp-postgres", "display_name": "Shop DB", "properties": properties},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def get_json(client: httpx.AsyncClient, who: AccountHandle, path: str) -> Any:
    response = await client.get(path, headers=who.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


async def put_metadata(
    client: httpx.AsyncClient, who: AccountHandle, source_id: int, body: Any
) -> httpx.Response:
    return await client.put(f"/v4/sources/{source_id}/streams/metadata", headers=who.headers, json=body)


def step(source: dict[str, Any]) -> tuple[int, str]:
    card = source["report_card"]
    return card["current_step"], card["current_step_type"]


async def test_form_to_fully_configured(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, source_postgres: str
) -> None:
    source = await create_source(client, account, pg_properties(source_postgres))
    assert step(source) == (2, "discover_schema")
    sid = source["id"]
    running = await get_json(client, account, f"/v4/sources/{sid}/last-connection-check")
    assert running["status"] == "running"

    await run_checks(ctx)

    check = await get_json(client, account, f"/v4/sources/{sid}/last-connection-check")
    example = doc_example("connection-checks/connection-check-object-v4")
    assert set(check) == set(example)
    assert check["name"] == source["check_job_name"]
    assert (check["status"], check["error"], check["discovery_exit_status"]) == ("succeeded", False, 0)
    assert check["completion_time"] >= check["start_time"]
    source = await get_json(client, account, f"/v4/sources/{sid}")
    assert step(source) == (3, "field_selection")
    assert source["schedule"] is None  # no schedule before the source is fully configured

    streams = {s["stream_name"]: s for s in await get_json(client, account, f"/v4/sources/{sid}/streams")}
    assert {"customers", "orders", "big_customers"} <= set(streams)
    customers = streams["customers"]
    assert set(customers) == {"selected", "stream_id", "tap_stream_id", "stream_name", "metadata"}
    assert customers["selected"] is None
    assert customers["metadata"]["selected"] is None
    assert customers["metadata"]["table-key-properties"] == ["id"]

    schema = await get_json(client, account, f"/v4/sources/{sid}/streams/{customers['stream_id']}")
    assert set(schema) == {"schema", "metadata", "non-discoverable-metadata-keys"}
    fields = json.loads(schema["schema"])["properties"]
    assert {"id", "name", "balance", "created_at", "tags", "doc"} <= set(fields)
    assert "date-time" in json.dumps(fields["created_at"])
    assert "array" in json.dumps(fields["tags"])
    breadcrumbs = {tuple(m["breadcrumb"]) for m in schema["metadata"]}
    assert () in breadcrumbs
    assert ("properties", "balance") in breadcrumbs

    tap_id = customers["tap_stream_id"]
    ok = await put_metadata(
        client,
        account,
        sid,
        {
            "streams": [
                {
                    "tap_stream_id": tap_id,
                    "metadata": [
                        {
                            "breadcrumb": [],
                            "metadata": {"selected": True, "replication-method": "FULL_TABLE"},
                        },
                        {"breadcrumb": ["properties", "name"], "metadata": {"selected": True}},
                        {"breadcrumb": ["properties", "doc"], "metadata": {"selected": False}},
                    ],
                }
            ]
        },
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"status": 200}
    source = await get_json(client, account, f"/v4/sources/{sid}")
    assert step(source) == (4, "fully_configured")
    assert source["schedule"]["type"] == "interval"
    assert source["schedule"]["next_fire_time"] is not None
    listed = {s["stream_name"]: s for s in await get_json(client, account, f"/v4/sources/{sid}/streams")}
    assert listed["customers"]["selected"] is True
    assert listed["orders"]["selected"] is None


async def test_selection_errors_name_the_problem(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, source_postgres: str
) -> None:
    source = await create_source(client, account, pg_properties(source_postgres))
    await run_checks(ctx)
    sid = source["id"]
    streams = {s["stream_name"]: s for s in await get_json(client, account, f"/v4/sources/{sid}/streams")}
    orders = streams["orders"]["tap_stream_id"]

    def body(tap_stream_id: str | None, *entries: tuple[list[str], dict[str, Any]]) -> dict[str, Any]:
        stream: dict[str, Any] = {"metadata": [{"breadcrumb": b, "metadata": m} for b, m in entries]}
        if tap_stream_id is not None:
            stream["tap_stream_id"] = tap_stream_id
        return {"streams": [stream]}

    cases: list[tuple[Any, Any]] = [
        (
            body("nope-public-nothing", ([], {"selected": True})),
            {"invalid_fields": "invalid tap-stream-ids:  [nope-public-nothing]"},
        ),
        (body(None, ([], {"selected": True})), {"invalid_fields": "invalid tap-stream-ids:  [nil]"}),
        (
            body(orders, ([], {"table-key-properties": ["id"]})),
            {
                "invalid_fields": "only non-discoverable metadata can be produced by the UI: "
                '#{"table-key-properties"}'
            },
        ),
        ({"nothing": []}, "body must contain a 'streams' property with a list of metadatas by tap_stream_id"),
    ]
    for request, expected in cases:
        response = await put_metadata(client, account, sid, request)
        assert response.status_code == 400, (request, response.text)
        assert response.json() == expected
    # INCREMENTAL needs a replication key that is a date-time or integer field of the stream.
    no_key = await put_metadata(
        client, account, sid, body(orders, ([], {"selected": True, "replication-method": "INCREMENTAL"}))
    )
    assert no_key.status_code == 400
    assert "replication-key" in no_key.json()["invalid_fields"]
    bad_key = await put_metadata(
        client,
        account,
        sid,
        body(
            orders,
            ([], {"selected": True, "replication-method": "INCREMENTAL", "replication-key": "amount_x"}),
        ),
    )
    assert bad_key.status_code == 400
    good = await put_metadata(
        client,
        account,
        sid,
        body(
            orders,
            ([], {"selected": True, "replication-method": "INCREMENTAL", "replication-key": "updated_at"}),
        ),
    )
    assert good.status_code == 200, good.text
    # Nothing of the rejected requests was written.
    meta = await get_json(client, account, f"/v4/sources/{sid}/streams")
    orders_meta = next(s for s in meta if s["tap_stream_id"] == orders)["metadata"]
    assert orders_meta["replication-key"] == "updated_at"


async def test_rediscovery_keeps_selection(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, source_postgres: str
) -> None:
    source = await create_source(client, account, pg_properties(source_postgres))
    await run_checks(ctx)
    sid = source["id"]
    streams = {s["stream_name"]: s for s in await get_json(client, account, f"/v4/sources/{sid}/streams")}
    chosen = streams["customers"]
    selection = {
        "streams": [
            {
                "tap_stream_id": chosen["tap_stream_id"],
                "metadata": [
                    {"breadcrumb": [], "metadata": {"selected": True}},
                    {"breadcrumb": ["properties", "balance"], "metadata": {"selected": False}},
                ],
            }
        ]
    }
    assert (await put_metadata(client, account, sid, selection)).status_code == 200
    # A PUT of connection properties starts a new check; its discovery keeps the choices.
    changed = await client.put(
        f"/v4/sources/{sid}",
        headers=account.headers,
        json={"properties": {"password": "another-ignored-one"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["check_job_name"] != source["check_job_name"]
    assert step(changed.json()) == (2, "discover_schema")
    await run_checks(ctx)
    again = {s["stream_name"]: s for s in await get_json(client, account, f"/v4/sources/{sid}/streams")}
    assert again["customers"]["stream_id"] == chosen["stream_id"]
    assert again["customers"]["selected"] is True
    schema = await get_json(client, account, f"/v4/sources/{sid}/streams/{chosen['stream_id']}")
    balance = next(m for m in schema["metadata"] if m["breadcrumb"] == ["properties", "balance"])
    assert balance["metadata"]["selected"] is False
    assert step(await get_json(client, account, f"/v4/sources/{sid}")) == (4, "fully_configured")
