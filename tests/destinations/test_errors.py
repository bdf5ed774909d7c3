"""Every destination error, byte for byte: bare JSON strings (spec 2.3), never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lockstitch.context import Context
from lockstitch.destinations import errors
from tests import canary
from tests.conftest import AccountHandle, MakeAccount, api_client
from tests.destinations.support import PG_PASSWORD, assert_plain, create, postgres_properties

BAD_POST_BODIES: list[Any] = [
    [],
    "postgres",
    {"properties": postgres_properties()},  # no type
    {"type": "postgres"},  # no properties
    {"type": "postgres", "properties": postgres_properties(), "display_name": "x"},
    {"type": "postgres", "properties": postgres_properties(), "connection": {}},
    {"type": 7, "properties": postgres_properties()},
    {"type": "", "properties": postgres_properties()},
    {"type": "postgres", "properties": [1, 2]},
    {"type": "postgres", "properties": None},
    {"type": "postgres", "properties": postgres_properties(), "ignore_unmapped_sources": "yes"},
    {"type": "postgres", "properties": postgres_properties(), "name": ""},
    {"type": "postgres", "properties": postgres_properties(), "name": 5},
    {"type": "postgres", "properties": postgres_properties(), "name": "a\x00b"},
    {"type": "postgres", "properties": postgres_properties(), "name": "x" * 501},
    {"type": "postgres", "properties": postgres_properties(), "description": ["x"]},
]


@pytest.mark.parametrize("body", BAD_POST_BODIES)
async def test_post_body_shape(client: httpx.AsyncClient, account: AccountHandle, body: Any) -> None:
    response = await client.post("/v4/destinations", headers=account.headers, json=body)
    assert_plain(response, 400, errors.POST_BODY)


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe"])
async def test_post_not_json(client: httpx.AsyncClient, account: AccountHandle, raw: bytes) -> None:
    response = await client.post(
        "/v4/destinations", headers={**account.headers, "content-type": "application/json"}, content=raw
    )
    assert_plain(response, 400, errors.POST_BODY)


async def test_post_too_large(make_ctx: Any, account: AccountHandle) -> None:
    ctx: Context = make_ctx(max_body_bytes=200)
    async with api_client(ctx) as client:
        body = {"type": "postgres", "properties": postgres_properties(), "description": "x" * 500}
        response = await client.post("/v4/destinations", headers=account.headers, json=body)
    assert_plain(response, 413, "request body is larger than 200 bytes")


async def test_unknown_type(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await client.post(
        "/v4/destinations", headers=account.headers, json={"type": "storagegrid", "properties": {}}
    )  # a Stitch type (alpha) that Lockstitch does not ship
    assert_plain(response, 400, "invalid destination type (storagegrid)")
    response = await client.get("/v4/destination-types/storagegrid", headers=account.headers)
    assert_plain(response, 404, "invalid destination type (storagegrid)")


async def test_bad_values_name_properties_never_values(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    secret = "do-not-echo-this-credential"
    canary.remember(secret)
    props = postgres_properties(
        port="abc", host="not a host!!", ssl="maybe", foo="bar", password=[secret], database=1.5
    )
    response = await client.post(
        "/v4/destinations", headers=account.headers, json={"type": "postgres", "properties": props}
    )
    assert_plain(response, 400, _expected_bad(props))
    assert secret not in response.text


def _expected_bad(props: dict[str, Any]) -> str:
    bad = [n for n in props if n in {"port", "host", "ssl", "foo", "password", "database"}]
    return "properties do not match schema: " + ", ".join(bad)


@pytest.mark.parametrize(
    ("value", "ok"),
    # A boolean is stored as "true", which is no port; a float or an object is no value at all.
    [
        ("", False),
        ("a\x00b", False),
        (True, False),
        (5432, True),
        (5432.0, False),
        ({"a": 1}, False),
        ("99", True),
    ],
)
async def test_value_kinds(client: httpx.AsyncClient, account: AccountHandle, value: Any, ok: bool) -> None:
    props = postgres_properties(port=value)
    response = await client.post(
        "/v4/destinations", headers=account.headers, json={"type": "postgres", "properties": props}
    )
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert_plain(response, 400, "properties do not match schema: port")


async def test_missing_required(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await client.post(
        "/v4/destinations",
        headers=account.headers,
        json={"type": "postgres", "properties": {"host": "db.example.com"}},
    )
    assert_plain(response, 400, "missing required properties: database, password, port, ssl, username")


async def test_ssh_not_supported(client: httpx.AsyncClient, account: AccountHandle) -> None:
    response = await client.post(
        "/v4/destinations",
        headers=account.headers,
        json={"type": "postgres", "properties": postgres_properties(encryption_type="ssh")},
    )
    assert_plain(response, 400, "property encryption_type ssh is not supported: Lockstitch connects directly")


@pytest.mark.parametrize("path", ["../outside.duckdb", "/etc/x.duckdb", "a/../../x", ".", "a/.."])
async def test_local_path_outside_home(client: httpx.AsyncClient, account: AccountHandle, path: str) -> None:
    response = await client.post(
        "/v4/destinations",
        headers=account.headers,
        json={"type": "lockstitch.duckdb", "properties": {"path": path}},
    )
    assert_plain(
        response,
        400,
        "property path must name a location inside the account's own folder for local destinations",
    )


async def test_put_errors(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount
) -> None:
    created = await create(client, account)
    url = f"/v4/destinations/{created['id']}"
    cases: list[tuple[str, Any, str]] = [
        (
            url,
            {"type": "redshift", "properties": {}},
            "this API endpoint does not support modifying destination type",
        ),
        (url, {"username": "x"}, errors.PUT_BODY),
        (url, {"properties": {}, "paused_at": None}, errors.PUT_BODY),
        (url, [], errors.PUT_BODY),
        (url, {"properties": {"port": "x"}}, "properties do not match schema: port"),
        (url, {"properties": {"host": None}}, "properties do not match schema: host"),
        ("/v4/destinations/999999", {"properties": {}}, "invalid connection id"),
        ("/v4/destinations/abc", {"properties": {}}, "invalid connection id"),
        ("/v4/destinations/0", {"properties": {}}, "invalid connection id"),
        ("/v4/destinations/99999999999999999999999", {"properties": {}}, "invalid connection id"),
    ]
    for path, body, message in cases:
        assert_plain(await client.put(path, headers=account.headers, json=body), 400, message)

    other = await make_account()
    assert_plain(
        await client.put(url, headers=other.headers, json={"properties": {}}), 400, "invalid connection id"
    )
    assert (await client.delete(url, headers=account.headers)).status_code == 200
    assert_plain(
        await client.put(url, headers=account.headers, json={"properties": {}}), 400, "invalid connection id"
    )


async def test_delete_errors(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount
) -> None:
    created = await create(client, account)
    other = await make_account()
    for raw in ("999999", "99999999999999999999999", "0"):
        response = await client.delete(f"/v4/destinations/{raw}", headers=account.headers)
        assert_plain(response, 400, f"Unable to locate dest ({raw}) for client ({account.id}) to delete")
    response = await client.delete(f"/v4/destinations/{created['id']}", headers=other.headers)
    assert_plain(response, 400, f"Unable to locate dest ({created['id']}) for client ({other.id}) to delete")
    assert_plain(await client.delete("/v4/destinations/12ab", headers=account.headers), 404, "not found")
    missing = await client.delete("/v4/destinations", headers=account.headers)  # no id: the app says
    assert_plain(missing, 404, "method DELETE is not allowed here")
    assert (
        await client.delete(f"/v4/destinations/{created['id']}", headers=account.headers)
    ).status_code == 200
    response = await client.delete(f"/v4/destinations/{created['id']}", headers=account.headers)
    assert_plain(
        response, 400, f"Unable to locate dest ({created['id']}) for client ({account.id}) to delete"
    )


@pytest.mark.parametrize(
    "query", ["foo=1", "source_id=abc", "destination_id=", "destination_id=1&x=2", "source_id=0"]
)
async def test_list_params(client: httpx.AsyncClient, account: AccountHandle, query: str) -> None:
    response = await client.get(f"/v4/destinations?{query}", headers=account.headers)
    assert_plain(response, 400, errors.LIST_PARAMS)


async def test_last_connection_check_errors(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount
) -> None:
    created = await create(client, account)
    other = await make_account()
    for who, raw in ((account, "999999"), (account, "abc"), (other, str(created["id"]))):
        response = await client.get(f"/v4/destinations/{raw}/last-connection-check", headers=who.headers)
        assert_plain(response, 400, "invalid connection id")


async def test_unauthenticated(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/v4/destinations"),
        ("POST", "/v4/destinations"),
        ("GET", "/v4/destination-types"),
        ("GET", "/v4/destination-types/postgres"),
        ("PUT", "/v4/destinations/1"),
        ("DELETE", "/v4/destinations/1"),
    ):
        response = await client.request(method, path, json={})
        assert_plain(response, 401, "missing or invalid API access token")


async def test_no_secret_in_any_error(client: httpx.AsyncClient, account: AccountHandle) -> None:
    created = await create(client, account)
    bodies = [
        {"properties": {"password": PG_PASSWORD, "port": "x"}},
        {"properties": {"password": None}},
        {"type": "x", "properties": {"password": PG_PASSWORD}},
    ]
    for body in bodies:
        response = await client.put(f"/v4/destinations/{created['id']}", headers=account.headers, json=body)
        assert response.status_code == 400
        assert PG_PASSWORD not in response.text
