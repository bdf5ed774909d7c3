"""Sources CRUD behaviour through the API (both databases)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from sqlalchemy import func, select

from lockstitch.context import Context
from lockstitch.models import ConnectionCheck, Source
from tests.conftest import AccountHandle, MakeAccount
from tests.helpers import assert_source_error, hp_postgres_properties
from tests.stitch_docs import doc_example

WIRE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


async def _create(client: httpx.AsyncClient, who: AccountHandle, **body: Any) -> dict[str, Any]:
    payload = {"type": "platform.hp-postgres", "display_name": "Warehouse", **body}
    response = await client.post("/v4/sources", headers=who.headers, json=payload)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _put(client: httpx.AsyncClient, who: AccountHandle, source_id: int, body: Any) -> httpx.Response:
    return await client.put(f"/v4/sources/{source_id}", headers=who.headers, json=body)


def _provided(source: dict[str, Any]) -> dict[str, bool]:
    return {p["name"]: p["provided"] for s in source["report_card"]["steps"] for p in s["properties"]}


async def test_source_object_has_stitch_shape(client: httpx.AsyncClient, account: AccountHandle) -> None:
    example = doc_example("sources/sources-object")  # the example that shows check_job_name
    source = await _create(client, account, properties=hp_postgres_properties())
    assert list(source) == [k for k in example if k in source]  # Stitch's key order
    assert set(example) - set(source) == set()
    for key in ("created_at", "updated_at"):
        assert WIRE_TIME.match(source[key])
    assert source["stitch_client_id"] == account.id
    assert source["name"] == "warehouse"
    assert source["properties"]["image_version"] == "1.latest"
    assert source["properties"]["product"] == "pipeline"
    assert source["properties"]["cron_expression"] is None
    assert "password" not in source["properties"]
    assert _provided(source)["password"] is True
    assert list(source["report_card"]) == ["type", "current_step", "current_step_type", "steps"]


async def test_form_complete_queues_a_check(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    source = await _create(client, account, properties=hp_postgres_properties())
    assert (source["report_card"]["current_step"], source["report_card"]["current_step_type"]) == (
        2,
        "discover_schema",
    )
    check = (
        await client.get(f"/v4/sources/{source['id']}/last-connection-check", headers=account.headers)
    ).json()
    assert check["name"] == source["check_job_name"]
    assert check["status"] == "running"
    assert check["mode"] == "check"
    assert check["completion_time"] is None
    assert check["error"] is False
    assert set(check) == set(doc_example("connection-checks/connection-check-object-v4"))

    # A schedule-only change does not queue another check; a connection change with a check
    # still queued reuses it (it reads the properties when a worker picks it up).
    await _put(client, account, source["id"], {"properties": {"frequency_in_minutes": "30"}})
    await _put(client, account, source["id"], {"properties": {"dbname": "other"}})
    async with ctx.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(ConnectionCheck))
    assert count == 1


async def test_incomplete_form_stays_at_form(client: httpx.AsyncClient, account: AccountHandle) -> None:
    source = await _create(client, account, properties=hp_postgres_properties(password=None))
    assert (source["report_card"]["current_step"], source["report_card"]["current_step_type"]) == (1, "form")
    assert "check_job_name" not in source
    completed = (
        await _put(client, account, source["id"], {"properties": {"password": "s3cret-value"}})
    ).json()
    assert completed["report_card"]["current_step_type"] == "discover_schema"
    assert completed["check_job_name"]


async def test_default_frequency_is_never_null(client: httpx.AsyncClient, account: AccountHandle) -> None:
    source = await _create(client, account, properties=hp_postgres_properties(frequency_in_minutes=None))
    assert source["properties"]["frequency_in_minutes"] == "60"  # the type's default_scheduling_interval
    cleared = (
        await _put(client, account, source["id"], {"properties": {"frequency_in_minutes": None}})
    ).json()
    assert cleared["properties"]["frequency_in_minutes"] == "60"


async def test_get_modify_put_roundtrip(client: httpx.AsyncClient, account: AccountHandle) -> None:
    """Clients that PUT back the properties they got (read-only values, nulls) keep working."""
    source = await _create(client, account, properties=hp_postgres_properties())
    props = dict(source["properties"])
    props["dbname"] = "analytics"
    response = await _put(client, account, source["id"], {"properties": props})
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["dbname"] == "analytics"
    assert response.json()["properties"]["image_version"] == "1.latest"


async def test_read_only_cannot_be_changed(client: httpx.AsyncClient, account: AccountHandle) -> None:
    source = await _create(client, account, properties=hp_postgres_properties())
    for name, value in (("image_version", "2.latest"), ("product", "other"), ("image_version", None)):
        response = await _put(client, account, source["id"], {"properties": {name: value}})
        body = assert_source_error(response, 400, "InvalidProperties")
        assert body["data"]["bad_properties"] == [name]


async def test_immutable_cannot_change_once_set(client: httpx.AsyncClient, account: AccountHandle) -> None:
    props = hp_postgres_properties(include_schemas_in_destination_stream_name="true")
    source = await _create(client, account, properties=props)
    same = await _put(
        client, account, source["id"], {"properties": {"include_schemas_in_destination_stream_name": "true"}}
    )
    assert same.status_code == 200
    for value in ("false", None):
        changed = await _put(
            client,
            account,
            source["id"],
            {"properties": {"include_schemas_in_destination_stream_name": value}},
        )
        body = assert_source_error(changed, 400, "InvalidProperties")
        assert body["data"]["bad_properties"] == ["include_schemas_in_destination_stream_name"]


async def test_null_clears_optional_but_not_required(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    source = await _create(client, account, properties=hp_postgres_properties(ssl="true"))
    cleared = (await _put(client, account, source["id"], {"properties": {"ssl": None}})).json()
    assert "ssl" not in cleared["properties"]
    assert _provided(cleared)["ssl"] is False
    for name in ("host", "password"):
        response = await _put(client, account, source["id"], {"properties": {name: None}})
        assert assert_source_error(response, 400, "InvalidProperties")["data"]["bad_properties"] == [name]


async def test_credentials_can_be_replaced_and_are_never_returned(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    source = await _create(client, account, properties=hp_postgres_properties(password="first-secret-1"))
    updated = await _put(client, account, source["id"], {"properties": {"password": "second-secret-2"}})
    assert updated.status_code == 200
    for response in (updated, await client.get(f"/v4/sources/{source['id']}", headers=account.headers)):
        assert "first-secret-1" not in response.text
        assert "second-secret-2" not in response.text
        assert "password" not in response.json()["properties"]


async def test_pause_and_unpause(client: httpx.AsyncClient, account: AccountHandle) -> None:
    source = await _create(client, account, properties=hp_postgres_properties())
    paused = (await _put(client, account, source["id"], {"paused_at": "2019-06-01T00:00:00Z"})).json()
    assert paused["paused_at"] == "2019-06-01T00:00:00Z"
    future = (
        await _put(client, account, source["id"], {"paused_at": "2999-01-01T10:00:00.123+02:00"})
    ).json()
    assert future["paused_at"] == "2999-01-01T08:00:00Z"  # any value pauses; UTC, whole seconds
    unpaused = (await _put(client, account, source["id"], {"paused_at": None})).json()
    assert unpaused["paused_at"] is None
    assert unpaused["properties"] == source["properties"]


async def test_delete_is_soft_and_still_listed(client: httpx.AsyncClient, account: AccountHandle) -> None:
    source = await _create(client, account, properties=hp_postgres_properties())
    deleted = await client.delete(f"/v4/sources/{source['id']}", headers=account.headers)
    assert deleted.status_code == 200
    body = deleted.json()
    assert WIRE_TIME.match(body["deleted_at"])
    assert body["schedule"] is None
    assert "report_card" in body
    again = await client.delete(f"/v4/sources/{source['id']}", headers=account.headers)
    assert again.json()["deleted_at"] == body["deleted_at"]
    listed = (await client.get("/v4/sources", headers=account.headers)).json()
    assert [s["id"] for s in listed] == [source["id"]]
    got = (await client.get(f"/v4/sources/{source['id']}", headers=account.headers)).json()
    assert got["deleted_at"] == body["deleted_at"]
    # The name is free again for a new live source.
    reborn = await _create(client, account, properties=hp_postgres_properties())
    assert reborn["name"] == "warehouse"


async def test_list_returns_all_sources_in_id_order(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    ids = [(await _create(client, account, display_name=f"Source {n}"))["id"] for n in range(3)]
    listed = await client.get("/v4/sources", headers=account.headers)
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == ids
    assert [s["name"] for s in listed.json()] == ["source_0", "source_1", "source_2"]


async def test_display_name_change_keeps_name(client: httpx.AsyncClient, account: AccountHandle) -> None:
    source = await _create(client, account, display_name="Café Orders")
    assert source["name"] == "cafe_orders"
    renamed = (await _put(client, account, source["id"], {"display_name": "Something Else"})).json()
    assert renamed["display_name"] == "Something Else"
    assert renamed["name"] == "cafe_orders"


async def _destination(client: httpx.AsyncClient, who: AccountHandle) -> int:
    body = {"type": "lockstitch.jsonl", "properties": {}}
    response = await client.post("/v4/destinations", headers=who.headers, json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def _stored_destination(ctx: Context, source_id: int) -> int | None:
    """The stored destination_id (the Source object does not show it, as in Stitch's examples)."""
    async with ctx.db.read() as session:
        return await session.scalar(select(Source.destination_id).where(Source.id == source_id))


async def test_destination_id_names_a_live_destination_of_the_account(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount, ctx: Context
) -> None:
    """Spec 9.22: a destination_id that names no destination of the caller's account (none at
    all, or another account's) is InvalidBody and nothing is stored; one of its own is kept."""
    mine = await _destination(client, account)
    other = await make_account()
    theirs = await _destination(client, other)
    for bad in (mine + 1000, theirs):
        refused = await client.post(
            "/v4/sources",
            headers=account.headers,
            json={"type": "platform.hp-postgres", "display_name": f"Bad {bad}", "destination_id": bad},
        )
        assert_source_error(
            refused, 400, "InvalidBody", f"destination_id {bad} is not a destination of this account"
        )
    listed = (await client.get("/v4/sources", headers=account.headers)).json()
    assert listed == []

    source = await _create(client, account, destination_id=mine)
    assert await _stored_destination(ctx, source["id"]) == mine
    for bad in (mine + 1000, theirs):
        refused = await _put(client, account, source["id"], {"destination_id": bad})
        assert_source_error(refused, 400, "InvalidBody")
    assert await _stored_destination(ctx, source["id"]) == mine
    cleared = await _put(client, account, source["id"], {"destination_id": None})
    assert cleared.status_code == 200
    assert await _stored_destination(ctx, source["id"]) is None


async def test_a_copy_of_properties_as_destination_id_is_absent(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    """Spec 9.22: stitch-connect-client 0.6.2 sends destination_id = a copy of properties in
    every create and update; that reads as no destination_id, and other objects stay InvalidBody."""
    properties = hp_postgres_properties()
    mine = await _destination(client, account)
    source = await _create(client, account, properties=properties, destination_id=dict(properties))
    assert await _stored_destination(ctx, source["id"]) is None
    assert source["properties"]["host"] == properties["host"]
    assert (await _put(client, account, source["id"], {"destination_id": mine})).status_code == 200
    change = {"display_name": "Renamed"}
    kept = await _put(client, account, source["id"], {**change, "destination_id": {}})
    assert kept.status_code == 200, kept.text
    assert kept.json()["display_name"] == "Renamed"
    assert await _stored_destination(ctx, source["id"]) == mine
    for bad in ({"host": "other"}, "7", 1.5, True, [mine]):
        refused = await _put(client, account, source["id"], {"destination_id": bad})
        assert_source_error(refused, 400, "InvalidBody")
    assert await _stored_destination(ctx, source["id"]) == mine


async def test_property_values_come_back_as_strings(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    """Spec 9.23: ``"port": 5432`` sent as a number reads ``"5432"`` in the Source object (POST,
    PUT and GET), is stored as the string, and re-sending it either way changes nothing; an
    array value (GA's report_definitions) stays an array."""
    source = await _create(client, account, properties=hp_postgres_properties(port=5432))
    assert source["properties"]["port"] == "5432"
    fetched = (await client.get(f"/v4/sources/{source['id']}", headers=account.headers)).json()
    assert fetched["properties"]["port"] == "5432"
    async with ctx.db.read() as session:
        stored = await session.scalar(select(Source.properties).where(Source.id == source["id"]))
    assert stored["port"] == "5432"
    updated = await _put(client, account, source["id"], {"properties": {"port": 6543}})
    assert updated.json()["properties"]["port"] == "6543"
    echoed = await _put(client, account, source["id"], {"properties": {"product": "pipeline"}})
    assert echoed.status_code == 200, echoed.text

    reports = [{"name": "Audience", "id": "ga:1"}]
    ga = await _create(
        client,
        account,
        type="platform.google-analytics",
        display_name="GA strings",
        properties={"report_definitions": reports, "start_date": "2020-01-01T00:00:00Z"},
    )
    assert ga["properties"]["report_definitions"] == reports


async def test_google_analytics_system_values(client: httpx.AsyncClient, account: AccountHandle) -> None:
    source = await _create(
        client,
        account,
        type="platform.google-analytics",
        display_name="GA",
        properties={"start_date": "2020-01-01T00:00:00Z"},
    )
    assert source["properties"]["quota_user"] == f"{account.id}-{source['id']}"
    assert _provided(source)["quota_user"] is True
    assert _provided(source)["cached_profile_lookup"] is False


async def test_concurrent_puts_lose_nothing(client: httpx.AsyncClient, account: AccountHandle) -> None:
    source = await _create(client, account, properties=hp_postgres_properties())
    names = ["incremental_limit", "itersize", "logical_poll_total_seconds", "socket_timeout", "ssh_port"]
    values = {name: str(100 + i) for i, name in enumerate(names)}
    responses = await asyncio.gather(
        *(
            _put(client, account, source["id"], {"properties": {name: value}})
            for name, value in values.items()
        )
    )
    assert [r.status_code for r in responses] == [200] * len(names)
    final = (await client.get(f"/v4/sources/{source['id']}", headers=account.headers)).json()
    for name, value in values.items():
        assert final["properties"][name] == value


async def test_concurrent_creates_with_one_name(client: httpx.AsyncClient, account: AccountHandle) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                "/v4/sources",
                headers=account.headers,
                json={"type": "platform.github", "display_name": f"Repo{'!' * n}"},
            )
            for n in range(6)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 5
    for r in responses:
        if r.status_code == 400:
            assert r.json()["error"] == "InvalidName"
    assert len((await client.get("/v4/sources", headers=account.headers)).json()) == 1


async def test_source_types_are_listed_in_order_and_usable(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    cards = (await client.get("/v4/source-types", headers=account.headers)).json()
    assert [c["type"] for c in cards] == sorted(c["type"] for c in cards)
    for card in cards:
        definition = ctx.catalog.source_type(card["type"]).definition  # type: ignore[union-attr]
        # An enterprise account may use every type that has a tap and is not alpha or deprecated.
        usable = definition.tap is not None and definition.details.pipeline_state not in (
            "alpha",
            "deprecated",
        )
        assert card["details"]["access"] is usable, card["type"]
    assert any(c["details"]["access"] is False for c in cards)  # deprecated, alpha and tap-less types
