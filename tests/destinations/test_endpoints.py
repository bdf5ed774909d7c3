"""Destinations and destination types through the API (both databases)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from sqlalchemy import select

from lockstitch.context import Context
from lockstitch.destinations import schemas
from lockstitch.models import ConnectionCheck, Destination
from tests.conftest import AccountHandle, MakeAccount
from tests.destinations.support import PG_PASSWORD, assert_plain, create, postgres_properties, provided
from tests.stitch_docs import doc_example

WIRE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CREATE_EXAMPLE = doc_example("destinations/v4/create-a-destination-v4", "Response")
UPDATE_EXAMPLE = doc_example("destinations/v4/update-a-destination-v4", "Response")


def _no_secret(response: httpx.Response) -> None:
    assert PG_PASSWORD not in response.text


async def test_list_destination_types(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await client.get("/v4/destination-types", headers=account.headers)
    assert response.status_code == 200
    cards = response.json()
    assert [c["type"] for c in cards] == sorted(c["type"] for c in cards)
    assert {"postgres", "lockstitch.duckdb", "lockstitch.jsonl"} <= {c["type"] for c in cards}
    example = doc_example("destination-types/list-destination-types", "Response")
    for card in cards:
        schemas.DestinationTypeCard.model_validate(card)
        assert list(card) == list(example[0])
        assert list(card["details"]) == list(example[0]["details"])
        # A form with no required property is done at once (as Stitch's import_api card); one
        # with a required property waits at the form (every Stitch destination card has one).
        required = any(p["is_required"] for p in card["steps"][0]["properties"])
        blank = (1, "form") if required else (2, "fully_configured")
        assert required is not card["type"].startswith("lockstitch."), card["type"]
        assert (card["current_step"], card["current_step_type"]) == blank
        assert [s["type"] for s in card["steps"]] == ["form", "fully_configured"]


async def test_get_postgres_type_is_stitchs_card(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await client.get("/v4/destination-types/postgres", headers=account.headers)
    assert response.status_code == 200
    example = doc_example("destination-types/list-destination-types", "Response")
    assert response.json() == next(c for c in example if c["type"] == "postgres")


async def test_enterprise_type_has_no_access_on_standard(
    client: httpx.AsyncClient, make_account: MakeAccount, ctx: Context
) -> None:
    # Every shipped type is open to every plan; the tier rule is the catalogue's (Details.access_for).
    # Only the types Lockstitch cannot load into yet (access false in their file) are closed.
    standard = await make_account("standard")
    cards = (await client.get("/v4/destination-types", headers=standard.headers)).json()
    closed = {t.type for t in ctx.catalog.destination_types() if not t.details.access}
    assert closed == {"redshift", "panoply", "databricks_delta", "bigquery_v2", "dataworld"}
    assert all(c["details"]["access"] is (c["type"] not in closed) for c in cards)


async def test_create_has_stitch_shape(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    response = await client.post(
        "/v4/destinations",
        headers=account.headers,
        json={
            "type": "postgres",
            "name": "Staging",
            "description": "Postgres database for the staging environment.",
            "properties": postgres_properties(),
        },
    )
    assert response.status_code == 200, response.text
    _no_secret(response)
    created = response.json()
    schemas.DestinationOut.model_validate(created)
    # Stitch's key order (the update example shows where check_job_name goes).
    assert list(created) == list(UPDATE_EXAMPLE)
    assert set(created) == set(CREATE_EXAMPLE) | {"check_job_name"}
    assert list(created["report_card"]) == list(CREATE_EXAMPLE["report_card"])
    for key in ("created_at", "updated_at"):
        assert WIRE_TIME.match(created[key])
    assert created["display_name"] is None
    assert created["deleted_at"] is None
    assert created["stitch_client_id"] == account.id
    assert created["description"] == "Postgres database for the staging environment."
    # Values as strings; "ssl": false in the request -> "false"; encryption_type filled as Stitch does.
    assert created["properties"] == {
        "database": "postgres",
        "encryption_type": "none",
        "host": "127.0.0.1",
        "port": "5432",
        "ssl": "false",
        "username": "postgres",
    }
    card = created["report_card"]
    assert (card["current_step"], card["current_step_type"]) == (2, "fully_configured")
    expected_card = dict(CREATE_EXAMPLE["report_card"])
    assert card == expected_card  # the same properties provided as in Stitch's example
    assert provided(created)["password"] is True
    assert created["check_job_name"].startswith(f"{account.id}.{created['id']}.check.")

    async with ctx.db.read() as session:
        check = await session.scalar(
            select(ConnectionCheck).where(ConnectionCheck.name == created["check_job_name"])
        )
        row = await session.get(Destination, created["id"])
    assert check is not None
    assert (check.destination_id, check.source_id, check.state) == (created["id"], None, "pending")
    assert row is not None
    assert set(row.credentials) == {"password"}
    assert PG_PASSWORD not in str(row.credentials)
    assert "password" not in row.properties


async def test_last_connection_check_while_queued(client: httpx.AsyncClient, account: AccountHandle) -> None:
    created = await create(client, account)
    response = await client.get(
        f"/v4/destinations/{created['id']}/last-connection-check", headers=account.headers
    )
    assert response.status_code == 200
    check = response.json()
    example = doc_example("connection-checks/connection-check-object-v4")
    assert list(check) == list(example)
    schemas.ConnectionCheckOut.model_validate(check)
    assert check["name"] == created["check_job_name"]
    assert (check["status"], check["mode"], check["error"], check["completion_time"]) == (
        "running",
        "check",
        False,
        None,
    )


async def test_name_generated_from_type(client: httpx.AsyncClient, account: AccountHandle) -> None:
    payload = {"type": "postgres", "properties": postgres_properties()}
    created = (await client.post("/v4/destinations", headers=account.headers, json=payload)).json()
    assert created["name"] == "Postgres"
    assert created["description"] is None
    local = (
        await client.post(
            "/v4/destinations", headers=account.headers, json={"type": "lockstitch.duckdb", "properties": {}}
        )
    ).json()
    assert local["name"] == "Duckdb"


async def test_values_are_strings(client: httpx.AsyncClient, account: AccountHandle) -> None:
    created = await create(client, account, properties=postgres_properties(port=5433, ssl="true"))
    assert created["properties"]["port"] == "5433"
    assert created["properties"]["ssl"] == "true"
    explicit = await create(client, account, properties=postgres_properties(encryption_type="none", ssl=True))
    assert explicit["properties"]["ssl"] == "true"


async def test_list_includes_deleted(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount
) -> None:
    first = await create(client, account, name="One")
    second = await create(client, account, name="Two")
    other = await make_account()
    await create(client, other, name="Theirs")
    assert (await client.delete(f"/v4/destinations/{first['id']}", headers=account.headers)).json() == {}
    response = await client.get("/v4/destinations", headers=account.headers)
    assert response.status_code == 200
    _no_secret(response)
    listed = response.json()
    assert [d["id"] for d in listed] == [first["id"], second["id"]]
    assert listed[0]["deleted_at"] is not None
    assert WIRE_TIME.match(listed[0]["deleted_at"])
    assert listed[1]["deleted_at"] is None
    example = doc_example("destinations/v4/list-destinations-v4", "Response")[0]
    for item in listed:
        assert set(item) == set(example) | {"check_job_name"}
        schemas.DestinationOut.model_validate(item)

    only = (
        await client.get(f"/v4/destinations?destination_id={second['id']}", headers=account.headers)
    ).json()
    assert [d["id"] for d in only] == [second["id"]]


async def test_list_by_source(client: httpx.AsyncClient, account: AccountHandle) -> None:
    first = await create(client, account, name="Default")
    second = await create(client, account, name="Named")
    source_payload: dict[str, Any] = {"type": "platform.hp-postgres", "display_name": "Mapped"}
    mapped = (
        await client.post(
            "/v4/sources", headers=account.headers, json={**source_payload, "destination_id": second["id"]}
        )
    ).json()
    unmapped = (
        await client.post(
            "/v4/sources", headers=account.headers, json={**source_payload, "display_name": "Plain"}
        )
    ).json()
    by_mapped = (
        await client.get(f"/v4/destinations?source_id={mapped['id']}", headers=account.headers)
    ).json()
    assert [d["id"] for d in by_mapped] == [second["id"]]
    by_unmapped = (
        await client.get(f"/v4/destinations?source_id={unmapped['id']}", headers=account.headers)
    ).json()
    assert [d["id"] for d in by_unmapped] == [first["id"]]
    both = f"/v4/destinations?source_id={mapped['id']}&destination_id={first['id']}"
    assert (await client.get(both, headers=account.headers)).json() == []
    assert (await client.get("/v4/destinations?source_id=999999", headers=account.headers)).json() == []


async def test_update_merges_and_requeues(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    created = await create(client, account)
    response = await client.put(
        f"/v4/destinations/{created['id']}",
        headers=account.headers,
        json={"properties": {"username": "stitch_admin", "password": "another-secret-value"}},
    )
    assert response.status_code == 200, response.text
    assert "another-secret-value" not in response.text
    updated = response.json()
    assert list(updated) == list(UPDATE_EXAMPLE)
    assert updated["properties"]["username"] == "stitch_admin"
    assert updated["properties"]["host"] == "127.0.0.1"  # merged, not replaced
    assert updated["check_job_name"] != created["check_job_name"]
    assert updated["report_card"]["current_step_type"] == "fully_configured"
    async with ctx.db.read() as session:
        checks = list(
            await session.scalars(
                select(ConnectionCheck).where(ConnectionCheck.destination_id == created["id"])
            )
        )
    # The queued check it replaces is dropped: one check, the new one.
    assert [c.name for c in checks] == [updated["check_job_name"]]

    same_type = await client.put(
        f"/v4/destinations/{created['id']}",
        headers=account.headers,
        json={
            "type": "postgres",
            "properties": {},
            "description": "Now described",
            "ignore_unmapped_sources": True,
        },
    )
    assert same_type.status_code == 200
    assert same_type.json()["description"] == "Now described"


async def test_optional_property_cleared(client: httpx.AsyncClient, account: AccountHandle) -> None:
    created = await create(client, account, properties=postgres_properties(sslrootcert="CERT"))
    assert created["properties"]["sslrootcert"] == "CERT"
    cleared = (
        await client.put(
            f"/v4/destinations/{created['id']}",
            headers=account.headers,
            json={"properties": {"sslrootcert": None}},
        )
    ).json()
    assert "sslrootcert" not in cleared["properties"]
    assert provided(cleared)["sslrootcert"] is False


async def test_standard_tier_limit(client: httpx.AsyncClient, make_account: MakeAccount) -> None:
    standard = await make_account("standard")
    first = await create(client, standard)
    second = await client.post(
        "/v4/destinations",
        headers=standard.headers,
        json={"type": "postgres", "properties": postgres_properties()},
    )
    assert_plain(second, 400, "you are at your destination limit")
    # A deleted destination no longer counts.
    assert (
        await client.delete(f"/v4/destinations/{first['id']}", headers=standard.headers)
    ).status_code == 200
    await create(client, standard)
    for tier in ("premium", "enterprise"):
        unlimited = await make_account(tier)
        for _ in range(3):
            await create(client, unlimited)


async def test_local_destinations(client: httpx.AsyncClient, account: AccountHandle) -> None:
    duck = await create(
        client, account, type="lockstitch.duckdb", name="Duck", properties={"path": "dw/my.duckdb"}
    )
    assert duck["properties"] == {"path": "dw/my.duckdb"}
    assert duck["report_card"]["current_step_type"] == "fully_configured"
    assert provided(duck) == {"path": True}
    jsonl = await create(client, account, type="lockstitch.jsonl", name="Files", properties={})
    assert jsonl["properties"] == {}
    assert provided(jsonl) == {"path": False}
    assert jsonl["report_card"]["current_step"] == 2


async def test_delete(client: httpx.AsyncClient, account: AccountHandle, ctx: Context) -> None:
    created = await create(client, account)
    response = await client.delete(f"/v4/destinations/{created['id']}", headers=account.headers)
    assert response.status_code == 200
    assert response.content == b"{}"
    async with ctx.db.read() as session:
        row = await session.get(Destination, created["id"])
    assert row is not None
    assert row.deleted_at is not None
    # Still readable: listed, and its last check (which the worker ends as failed).
    check = await client.get(
        f"/v4/destinations/{created['id']}/last-connection-check", headers=account.headers
    )
    assert check.status_code == 200
    assert check.json()["name"] == created["check_job_name"]


async def test_limit_holds_under_concurrent_creates(
    client: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    standard = await make_account("standard")
    body = {"type": "postgres", "properties": postgres_properties()}
    responses = await asyncio.gather(
        *(client.post("/v4/destinations", headers=standard.headers, json=body) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400]
    listed = (await client.get("/v4/destinations", headers=standard.headers)).json()
    assert len(listed) == 1
