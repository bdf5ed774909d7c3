"""``POST /v3/accounts`` (partners) and the errors of the spec's accounts table."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from lockstitch.accounts.auth import Principal, TokenCache
from tests.conftest import AccountHandle

PARTNER = {"partner_id": "oc_partner", "partner_secret": "partner-secret-value"}
PERSON = {
    "first_name": "Stitch",
    "last_name": "Product Team",
    "company": "Stitch Product Team",
    "region": "us-east-1",
    "email": "stitch-api-test@example.com",
}


async def _create(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post("/v3/accounts", json=body)


async def test_partner_creates_an_account_whose_token_works(client: httpx.AsyncClient) -> None:
    response = await _create(client, {**PARTNER, **PERSON})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["access_token", "stitch_account_id"]
    assert body["access_token"].startswith("ac_")
    assert len(body["access_token"]) >= 3 + 43  # 32 random bytes, base64url
    assert isinstance(body["stitch_account_id"], int)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    sources = await client.get("/v4/sources", headers=headers)
    assert sources.status_code == 200
    assert sources.json() == []


async def test_region_may_be_omitted(client: httpx.AsyncClient) -> None:
    """Without ``region`` the account is still created, and its token works."""
    person = {k: v for k, v in PERSON.items() if k != "region"}
    response = await _create(client, {**PARTNER, **person})
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    sources = await client.get("/v4/sources", headers=headers)
    assert (sources.status_code, sources.json()) == (200, [])


def _expect(response: httpx.Response, status: int, code: str, message: str, errors: Any) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"code": code, "message": message, "errors": errors}


async def test_existing_user(client: httpx.AsyncClient) -> None:
    assert (await _create(client, {**PARTNER, **PERSON})).status_code == 200
    again = await _create(client, {**PARTNER, **PERSON, "email": PERSON["email"].upper()})
    assert again.status_code == 400
    assert again.json() == {
        "code": "ExistingUser",
        "message": "This email address is already associated with an active user.",
    }


@pytest.mark.parametrize("missing", ["partner_id", "partner_secret"])
async def test_partner_credentials_required(client: httpx.AsyncClient, missing: str) -> None:
    body = {**PARTNER, **PERSON}
    del body[missing]
    _expect(await _create(client, body), 400, "BadRequest", "Invalid form data.", {missing: "required"})


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"null", b"{", b""])
async def test_not_a_form(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post("/v3/accounts", content=raw)
    _expect(response, 400, "BadRequest", "Invalid form data.", {})


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"email": "not-an-email"}, {"email": "invalid"}),
        ({"email": ""}, {"email": "required"}),
        ({"region": "mars-1"}, {"region": "must be one of us-east-1, eu-central-1"}),
        ({"company": 5}, {"company": "invalid"}),
        ({"first_name": "x" * 201}, {"first_name": "invalid"}),
        ({"last_name": None}, {"last_name": "required"}),
        ({"nickname": "bob"}, {"nickname": "unknown field"}),
    ],
)
async def test_invalid_fields_are_named(
    client: httpx.AsyncClient, change: dict[str, Any], errors: dict[str, str]
) -> None:
    _expect(
        await _create(client, {**PARTNER, **PERSON, **change}),
        400,
        "BadRequest",
        "Invalid form data.",
        errors,
    )


@pytest.mark.parametrize(
    "partner",
    [
        {"partner_id": "oc_partner", "partner_secret": "wrong"},
        {"partner_id": "oc_nobody", "partner_secret": "x"},
    ],
)
async def test_bad_partner_credentials(client: httpx.AsyncClient, partner: dict[str, str]) -> None:
    response = await _create(client, {**partner, **PERSON})
    _expect(response, 401, "Unauthorized", "Invalid partner credentials.", {})
    assert "partner-secret-value" not in response.text


async def test_method_not_allowed_uses_the_accounts_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/v3/accounts")
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "errors"}


async def test_bearer_token_variants(client: httpx.AsyncClient, account: AccountHandle) -> None:
    """The header forms Stitch clients send all authenticate the account; the same forms with
    a wrong token are refused."""
    for form in ("Bearer {}", "bearer {}", "Bearer: {}"):
        response = await client.get("/v4/sources", headers={"Authorization": form.format(account.token)})
        assert (response.status_code, response.json()) == (200, []), form
        wrong = await client.get("/v4/sources", headers={"Authorization": form.format(account.token + "x")})
        assert wrong.status_code == 401, form


def test_token_cache_expires_and_is_bounded() -> None:
    cache = TokenCache(ttl_seconds=0.05, max_entries=2)
    who = Principal(1, "enterprise", frozenset(), 1)
    cache.put("a", who)
    assert cache.get("a") == who
    cache.put("b", who)
    cache.put("c", who)
    assert cache.get("a") is None  # the oldest entry made room
    assert cache.get("c") == who
    time.sleep(0.06)
    assert cache.get("c") is None
