"""Every error of the spec's sources table (section 2.4), with its status and exact body shape."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from lockstitch.accounts.repository import TokenRepository
from tests.conftest import AccountHandle, MakeAccount
from tests.helpers import assert_source_error, hp_postgres_properties

POST_BODY = (
    "POST body may only include a non-empty type, a non-empty display_name and map of string properties"
)
PUT_BODY = "PUT body many only include the keys: display_name, properties, and paused_at"
NAME_RULES = (
    "The name field must be under 50 characters, and can only contain lowercase letters, numbers, "
    "underscores, or dollar signs. It must begin with a letter or an underscore."
)


async def _create(client: httpx.AsyncClient, who: AccountHandle, **body: Any) -> httpx.Response:
    payload = {"type": "platform.hp-postgres", "display_name": "Warehouse", **body}
    return await client.post("/v4/sources", headers=who.headers, json=payload)


async def test_invalid_type(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await _create(client, account, type="platform.nope")
    assert_source_error(response, 400, "InvalidType", "invalid source type (platform.nope)")


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "x"},
        {"type": "platform.hp-postgres"},
        {"type": "", "display_name": "x"},
        {"type": "platform.hp-postgres", "display_name": ""},
        {"type": "platform.hp-postgres", "display_name": "   "},
        {"type": "platform.hp-postgres", "display_name": 7},
        {"type": ["platform.hp-postgres"], "display_name": "x"},
        {"type": "platform.hp-postgres", "display_name": "x", "properties": "host=x"},
        {"type": "platform.hp-postgres", "display_name": "x", "properties": ["host"]},
        {"type": "platform.hp-postgres", "display_name": "x", "name": "x"},
        {"type": "platform.hp-postgres", "display_name": "x", "destination_id": "12"},
        {"type": "platform.hp-postgres", "display_name": "x", "destination_id": True},
        {"type": "platform.hp-postgres", "display_name": "x", "destination_id": 2**70},
        [],
        "text",
        None,
    ],
)
async def test_invalid_post_body(client: httpx.AsyncClient, account: AccountHandle, body: Any) -> None:
    response = await client.post("/v4/sources", headers=account.headers, json=body)
    assert_source_error(response, 400, "InvalidBody", POST_BODY)


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"type": "x",}', b"\xff\xfe", b"[" * 5000])
async def test_malformed_json_is_invalid_body(
    client: httpx.AsyncClient, account: AccountHandle, raw: bytes
) -> None:
    response = await client.post("/v4/sources", headers=account.headers, content=raw)
    assert_source_error(response, 400, "InvalidBody", POST_BODY)


async def test_huge_body_is_rejected_without_reading_it_all(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    huge = b'{"type": "platform.hp-postgres", "display_name": "' + b"x" * 2_000_000 + b'"}'
    response = await client.post("/v4/sources", headers=account.headers, content=huge)
    assert_source_error(response, 413, "InvalidBody")
    listed = await client.get("/v4/sources", headers=account.headers)
    assert listed.json() == []


async def test_display_name_already_in_use(client: httpx.AsyncClient, account: AccountHandle) -> None:
    assert (await _create(client, account, properties=hp_postgres_properties())).status_code == 200
    response = await _create(client, account)
    assert_source_error(response, 400, "InvalidName", "non-unique name (Warehouse)")


async def test_derived_name_already_in_use(client: httpx.AsyncClient, account: AccountHandle) -> None:
    assert (await _create(client, account, display_name="display_name")).status_code == 200
    response = await _create(client, account, display_name="DISPLAY_NAME!!!")
    assert_source_error(
        response,
        400,
        "InvalidName",
        "non-unique name after deriving it from display_name (DISPLAY_NAME!!! -> display_name)",
    )


async def test_name_rules(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await _create(client, account, display_name="A" * 60)
    assert_source_error(response, 400, "InvalidName", NAME_RULES)


async def test_display_name_that_derives_to_nothing(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    response = await _create(client, account, display_name="####")
    assert_source_error(
        response, 400, "InvalidDisplayName", "invalid name after deriving it from display_name (#### -> )"
    )


async def test_type_access_denied(client: httpx.AsyncClient, make_account: MakeAccount) -> None:
    standard = await make_account(tier="standard")
    response = await _create(client, standard, type="lockstitch.test-enterprise")
    assert_source_error(
        response, 400, "AccessDenied", "you do not have access to source type (lockstitch.test-enterprise)"
    )
    card = await client.get("/v4/source-types/lockstitch.test-enterprise", headers=standard.headers)
    assert card.json()["details"]["access"] is False


async def test_invalid_properties_post(client: httpx.AsyncClient, account: AccountHandle) -> None:
    props = hp_postgres_properties(port="not-a-port", host="bad host!", unknown="x", image_version="9.9")
    response = await _create(client, account, properties=props)
    body = assert_source_error(response, 400, "InvalidProperties", "properties do not match schema")
    assert sorted(body["data"]["bad_properties"]) == ["host", "image_version", "port", "unknown"]
    card = body["data"]["report_card"]
    assert card["type"] == "platform.hp-postgres"
    assert card["current_step_type"] == "form"
    assert (await client.get("/v4/sources", headers=account.headers)).json() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("frequency_in_minutes", "45"),
        ("frequency_in_minutes", 60),
        ("anchor_time", "tomorrow"),
        ("port", ""),
        ("password", ""),
        ("user", "a\x00b"),
        ("ssl", "yes"),
        ("host", 12),
        ("cron_expression", 5),
    ],
)
async def test_each_bad_value_is_named(
    client: httpx.AsyncClient, account: AccountHandle, name: str, value: Any
) -> None:
    response = await _create(client, account, properties=hp_postgres_properties(**{name: value}))
    body = assert_source_error(response, 400, "InvalidProperties")
    assert body["data"]["bad_properties"] == [name]


async def test_invalid_properties_put_and_nothing_changes(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    created = (await _create(client, account, properties=hp_postgres_properties())).json()
    response = await client.put(
        f"/v4/sources/{created['id']}",
        headers=account.headers,
        json={"display_name": "Renamed", "properties": {"dbname": "other", "port": "x"}},
    )
    body = assert_source_error(response, 400, "InvalidProperties", "properties do not match schema")
    assert body["data"]["bad_properties"] == ["port"]
    assert body["data"]["report_card"]["current_step_type"] == "discover_schema"
    after = (await client.get(f"/v4/sources/{created['id']}", headers=account.headers)).json()
    assert after == created


async def test_cron_access_denied(client: httpx.AsyncClient, make_account: MakeAccount) -> None:
    standard = await make_account(tier="standard")
    props = hp_postgres_properties(cron_expression="0 0 12 ? * MON-FRI *")
    response = await _create(client, standard, properties=props)
    assert_source_error(
        response, 400, "AccessDenied", "access to cron_expression based scheduling is not permitted"
    )


async def test_cron_access_denied_on_put(client: httpx.AsyncClient, make_account: MakeAccount) -> None:
    standard = await make_account(tier="standard")
    created = (await _create(client, standard, properties=hp_postgres_properties())).json()
    response = await client.put(
        f"/v4/sources/{created['id']}",
        headers=standard.headers,
        json={"properties": {"cron_expression": "0 0 1 ? * *"}},
    )
    assert_source_error(
        response, 400, "AccessDenied", "access to cron_expression based scheduling is not permitted"
    )


async def test_invalid_cron_expression(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await _create(
        client, account, properties=hp_postgres_properties(cron_expression="* * * * * *")
    )
    assert_source_error(
        response,
        400,
        "InvalidCronExpression",
        'cron_expression "* * * * * *" is invalid: Support for specifying both a day-of-week AND a '
        "day-of-month parameter is not implemented.",
    )


async def test_valid_cron_is_accepted(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await _create(
        client, account, properties=hp_postgres_properties(cron_expression="0 0 12 ? * MON-FRI *")
    )
    assert response.status_code == 200
    assert response.json()["properties"]["cron_expression"] == "0 0 12 ? * MON-FRI *"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "platform.github"},
        {"name": "x"},
        {"properties": {}, "schedule": None},
        {"paused_at": "yesterday-ish"},
        {"paused_at": 5},
        {"properties": "a=b"},
        {"destination_id": "7"},
        [],
        "x",
    ],
)
async def test_invalid_put_body(client: httpx.AsyncClient, account: AccountHandle, body: Any) -> None:
    created = (await _create(client, account, properties=hp_postgres_properties())).json()
    response = await client.put(f"/v4/sources/{created['id']}", headers=account.headers, json=body)
    error = assert_source_error(response, 400, "InvalidBody")
    if body not in ({"paused_at": "yesterday-ish"}, {"paused_at": 5}):
        assert error["data"]["message"] == PUT_BODY


@pytest.mark.parametrize("display_name", ["", "   ", 5, None, "####", "x" * 501])
async def test_invalid_display_name_on_put(
    client: httpx.AsyncClient, account: AccountHandle, display_name: Any
) -> None:
    created = (await _create(client, account, properties=hp_postgres_properties())).json()
    response = await client.put(
        f"/v4/sources/{created['id']}", headers=account.headers, json={"display_name": display_name}
    )
    body = assert_source_error(response, 400, "InvalidDisplayName")
    assert body["data"]["message"].startswith("invalid display_name (")


async def test_display_name_in_use_on_put(client: httpx.AsyncClient, account: AccountHandle) -> None:
    await _create(client, account, display_name="First")
    second = (await _create(client, account, display_name="Second")).json()
    response = await client.put(
        f"/v4/sources/{second['id']}", headers=account.headers, json={"display_name": "First"}
    )
    assert_source_error(response, 400, "InvalidName", "non-unique name (First)")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("raw_id", ["999999", "abc", "-1", "0", "1.5", "99999999999999999999999", "%20"])
async def test_invalid_id(
    client: httpx.AsyncClient, account: AccountHandle, method: str, raw_id: str
) -> None:
    response = await client.request(
        method, f"/v4/sources/{raw_id}", headers=account.headers, json={} if method == "PUT" else None
    )
    body = assert_source_error(response, 400, "InvalidId")
    assert body["data"]["message"].startswith("source not found (")


async def test_put_on_deleted_source(client: httpx.AsyncClient, account: AccountHandle) -> None:
    created = (await _create(client, account, properties=hp_postgres_properties())).json()
    await client.delete(f"/v4/sources/{created['id']}", headers=account.headers)
    response = await client.put(
        f"/v4/sources/{created['id']}", headers=account.headers, json={"display_name": "New"}
    )
    assert_source_error(response, 400, "InvalidId", f"source is deleted ({created['id']})")


async def test_unknown_source_type_on_get(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await client.get("/v4/source-types/platform.nope", headers=account.headers)
    assert_source_error(response, 400, "InvalidType", "invalid source type (platform.nope)")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v4/sources"),
        ("POST", "/v4/sources"),
        ("GET", "/v4/sources/1"),
        ("PUT", "/v4/sources/1"),
        ("DELETE", "/v4/sources/1"),
        ("GET", "/v4/sources/1/last-connection-check"),
        ("GET", "/v4/source-types"),
        ("GET", "/v4/source-types/platform.hubspot"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ac_" + "x" * 43},
        {"Authorization": "Basic abc"},
    ],
)
async def test_unauthenticated(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> None:
    response = await client.request(method, path, headers=headers)
    assert_source_error(response, 401, "Unauthorized")


async def test_revoked_token_is_unauthenticated(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Any
) -> None:
    assert (await client.get("/v4/sources", headers=account.headers)).status_code == 200
    async with ctx.db.unit_of_work() as session:
        tokens = await TokenRepository(session).list_for(account.id)
        assert await TokenRepository(session).revoke(account.id, tokens[0].id)
    # Verified tokens are remembered for one second (accounts.auth.TokenCache); then it is gone.
    await asyncio.sleep(1.1)
    assert_source_error(await client.get("/v4/sources", headers=account.headers), 401, "Unauthorized")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/v4/sources/1"),
        ("POST", "/v4/sources/1"),
        ("DELETE", "/v4/sources"),
        ("PUT", "/v4/source-types"),
    ],
)
async def test_method_not_allowed_is_404_in_the_family_shape(
    client: httpx.AsyncClient, account: AccountHandle, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=account.headers)
    assert_source_error(response, 404, "NotFound")


async def test_no_connection_check_yet(client: httpx.AsyncClient, account: AccountHandle) -> None:
    created = (await _create(client, account)).json()  # form incomplete: nothing to check
    response = await client.get(f"/v4/sources/{created['id']}/last-connection-check", headers=account.headers)
    assert_source_error(response, 404, "NotFound")
