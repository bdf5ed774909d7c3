"""``/v3/destinations`` errors, byte for byte: the v3 body string, then the destination family's
plain strings (limit, type change, bad id, 401, 404 and method-not-allowed), never a secret."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lockstitch.destinations import errors
from tests.conftest import AccountHandle, MakeAccount
from tests.destinations.support import PG_PASSWORD, assert_plain, postgres_properties

V3_BODY = "body must be a map with type = redshift, postgres, or snowflake. required-keys = type, connection"
CONNECTION = postgres_properties(port=5432)
BAD_BODIES: list[Any] = [
    [],
    "postgres",
    None,
    {},
    {"type": "postgres"},  # no connection
    {"connection": CONNECTION},  # no type
    {"type": "postgres", "properties": CONNECTION},  # the v4 body
    {"type": "postgres", "connection": CONNECTION, "name": "x"},
    {"type": 7, "connection": CONNECTION},
    {"type": None, "connection": CONNECTION},
    {"type": "", "connection": CONNECTION},  # refused by the v4 rule, in the v3 words
    {"type": "x" * 201, "connection": CONNECTION},
    {"type": "postgres", "connection": [1, 2]},
    {"type": "postgres", "connection": None},
    {"type": "postgres", "connection": "host=127.0.0.1"},
]


def _body(connection: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "postgres", "connection": CONNECTION if connection is None else connection}


async def _create(client: httpx.AsyncClient, who: AccountHandle) -> dict[str, Any]:
    response = await client.post("/v3/destinations", headers=who.headers, json=_body())
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_bad_bodies(client: httpx.AsyncClient, account: AccountHandle, body: Any) -> None:
    created = await _create(client, account)
    assert_plain(await client.post("/v3/destinations", headers=account.headers, json=body), 400, V3_BODY)
    put = await client.put(f"/v3/destinations/{created['id']}", headers=account.headers, json=body)
    assert_plain(put, 400, V3_BODY)
    assert errors.V3_BODY == V3_BODY


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe"])
async def test_not_json(client: httpx.AsyncClient, account: AccountHandle, raw: bytes) -> None:
    headers = {**account.headers, "Content-Type": "application/json"}
    assert_plain(await client.post("/v3/destinations", headers=headers, content=raw), 400, V3_BODY)
    assert_plain(await client.put("/v3/destinations/1", headers=headers, content=raw), 400, V3_BODY)


async def test_destination_limit(client: httpx.AsyncClient, make_account: MakeAccount) -> None:
    standard = await make_account("standard")
    await _create(client, standard)
    second = await client.post("/v3/destinations", headers=standard.headers, json=_body())
    assert_plain(second, 400, "you are at your destination limit")
    listed = (await client.get("/v3/destinations", headers=standard.headers)).json()
    assert len(listed) == 1


async def test_v4_rules_apply(client: httpx.AsyncClient, account: AccountHandle) -> None:
    """Validation is the v4 one, in the family's words (names, never values)."""
    unknown = await client.post(
        "/v3/destinations", headers=account.headers, json={"type": "nowhere", "connection": {}}
    )
    assert_plain(unknown, 400, "invalid destination type (nowhere)")
    missing = await client.post(
        "/v3/destinations", headers=account.headers, json=_body({"host": "127.0.0.1"})
    )
    assert missing.status_code == 400
    assert missing.json().startswith("missing required properties: ")
    bad = await client.post(
        "/v3/destinations",
        headers=account.headers,
        json=_body({**CONNECTION, "port": "five", "password": PG_PASSWORD}),
    )
    assert_plain(bad, 400, "properties do not match schema: port")
    assert (await client.get("/v3/destinations", headers=account.headers)).json() == []


async def test_put_errors(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount
) -> None:
    created = await _create(client, account)
    change = await client.put(
        f"/v3/destinations/{created['id']}",
        headers=account.headers,
        json={"type": "lockstitch.duckdb", "connection": {}},
    )
    assert_plain(change, 400, "this API endpoint does not support modifying destination type")

    other = await make_account()
    theirs = await _create(client, other)
    deleted = await _create(client, account)
    assert (
        await client.delete(f"/v4/destinations/{deleted['id']}", headers=account.headers)
    ).status_code == 200
    for raw in ("999999", "abc", "0", "-1", "1.5", str(theirs["id"]), str(deleted["id"])):
        response = await client.put(f"/v3/destinations/{raw}", headers=account.headers, json=_body())
        assert_plain(response, 400, "invalid connection id")
    # Nothing changed: the other account's destination keeps its values.
    (kept,) = (await client.get("/v3/destinations", headers=other.headers)).json()
    assert kept == theirs


async def test_not_found_and_method_not_allowed(client: httpx.AsyncClient, account: AccountHandle) -> None:
    created = await _create(client, account)
    for method, path in (
        ("GET", f"/v3/destinations/{created['id']}"),
        ("DELETE", f"/v3/destinations/{created['id']}"),
        ("DELETE", "/v3/destinations"),
        ("PATCH", f"/v3/destinations/{created['id']}"),
    ):
        response = await client.request(method, path, headers=account.headers)
        assert_plain(response, 404, f"method {method} is not allowed here")
    unknown = await client.get(
        f"/v3/destinations/{created['id']}/last-connection-check", headers=account.headers
    )
    assert_plain(unknown, 404, "not found")
    # Still there: a refused DELETE deletes nothing.
    assert [d["id"] for d in (await client.get("/v3/destinations", headers=account.headers)).json()] == [
        created["id"]
    ]


async def test_unauthenticated(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/v3/destinations"),
        ("POST", "/v3/destinations"),
        ("PUT", "/v3/destinations/1"),
    ):
        response = await client.request(method, path, json=_body())
        assert_plain(response, 401, "missing or invalid API access token")
        wrong = await client.request(method, path, json=_body(), headers={"Authorization": "Bearer nope"})
        assert_plain(wrong, 401, "missing or invalid API access token")


async def test_no_secret_in_any_error(client: httpx.AsyncClient, account: AccountHandle) -> None:
    created = await _create(client, account)
    bodies = [
        {"type": "postgres", "connection": {"password": PG_PASSWORD, "port": "x"}},
        {"type": "redshift", "connection": {"password": PG_PASSWORD}},
        {"type": "postgres", "connection": {"password": PG_PASSWORD}, "extra": PG_PASSWORD},
    ]
    for body in bodies:
        for response in (
            await client.post("/v3/destinations", headers=account.headers, json=body),
            await client.put(f"/v3/destinations/{created['id']}", headers=account.headers, json=body),
        ):
            assert response.status_code == 400
            assert PG_PASSWORD not in response.text
