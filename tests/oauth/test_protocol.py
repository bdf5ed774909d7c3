"""RFC 6749 protocol helpers: token responses and errors sorted by what to do next.

The token endpoint here is an httpx.MockTransport standing in for providers' servers, to pin
down parsing of every response shape; the real exchanges run against oidc-provider elsewhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from lockstitch.kit.logging import scrub
from lockstitch.oauth.protocol import (
    Client,
    OAuthError,
    authorization_url,
    parse_retry_after,
    pkce_pair,
    token_request,
)

CLIENT = Client("my client", "s3cr3t:&=", "basic")


async def _call(handler: httpx.MockTransport, client: Client = CLIENT) -> object:
    async with httpx.AsyncClient(transport=handler) as http:
        return await token_request(
            http,
            "https://provider.test/token",
            client,
            {"grant_type": "refresh_token", "refresh_token": "rt"},
            timeout=5,
            trusted=True,
        )


async def test_success_and_client_authentication() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "at", "expires_in": "3600", "token_type": "bearer"})

    result = await _call(httpx.MockTransport(handler))
    assert result.access_token == "at"  # type: ignore[attr-defined]
    assert result.expires_in == 3600  # type: ignore[attr-defined]
    assert result.refresh_token is None  # type: ignore[attr-defined]
    # RFC 6749 2.3.1: id and secret form-urlencoded before base64.
    expected = base64.b64encode(b"my%20client:s3cr3t%3A%26%3D").decode()
    assert seen[0].headers["authorization"] == f"Basic {expected}"
    assert b"client_secret" not in seen[0].content

    seen.clear()
    await _call(httpx.MockTransport(handler), Client("id", "secret", "body"))
    form = parse_qs(seen[0].content.decode())
    assert form["client_id"] == ["id"]
    assert form["client_secret"] == ["secret"]
    assert "authorization" not in seen[0].headers


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_class", "code", "retry_after"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "expired"},
            {},
            "reauth",
            "invalid_grant",
            None,
        ),
        (400, {"error": "invalid_scope"}, {}, "reauth", "invalid_scope", None),
        (401, {"error": "invalid_client"}, {}, "client", "invalid_client", None),
        (401, {}, {}, "client", "invalid_client", None),
        (400, {"error": "unauthorized_client"}, {}, "client", "unauthorized_client", None),
        (500, {}, {}, "retriable", "http_500", None),
        (
            503,
            {"error": "temporarily_unavailable"},
            {"Retry-After": "7"},
            "retriable",
            "temporarily_unavailable",
            7.0,
        ),
        (429, {}, {"Retry-After": "30"}, "retriable", "http_429", 30.0),
        (400, {"error": "slow_down"}, {}, "retriable", "slow_down", None),
        (200, {"token_type": "bearer"}, {}, "retriable", "malformed_response", None),
        (418, {}, {}, "retriable", "http_418", None),
    ],
)
async def test_errors_are_sorted(
    status: int,
    body: dict[str, str],
    headers: dict[str, str],
    error_class: str,
    code: str,
    retry_after: float | None,
) -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, json=body, headers=headers))
    with pytest.raises(OAuthError) as raised:
        await _call(transport)
    assert raised.value.error_class == error_class
    assert raised.value.code == code
    assert raised.value.retry_after == retry_after


async def test_html_error_page_is_retriable() -> None:
    transport = httpx.MockTransport(lambda _r: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(OAuthError) as raised:
        await _call(transport)
    assert raised.value.error_class == "retriable"


@pytest.mark.parametrize(
    ("exception", "error_class"),
    [
        (httpx.ConnectError("refused"), "retriable"),
        (httpx.ConnectTimeout("slow"), "retriable"),
        (httpx.ReadTimeout("no answer"), "ambiguous"),
        (httpx.RemoteProtocolError("dropped"), "ambiguous"),
    ],
)
async def test_transport_failures(exception: Exception, error_class: str) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise exception

    with pytest.raises(OAuthError) as raised:
        await _call(httpx.MockTransport(handler))
    assert raised.value.error_class == error_class


def test_retry_after_forms() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


def test_pkce_and_authorization_url() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == digest
    url = authorization_url(
        "https://provider.test/auth?tenant=x",
        client_id="cid",
        redirect_uri="https://lockstitch.test/oauth/callback",
        scopes=["a", "b"],
        scope_separator=" ",
        state="st",
        code_challenge=challenge,
        extra={"access_type": "offline", "prompt": "consent"},
    )
    query = parse_qs(urlsplit(url).query)
    assert query["tenant"] == ["x"]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["a b"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["access_type"] == ["offline"]
    assert query["redirect_uri"] == ["https://lockstitch.test/oauth/callback"]


def test_scrub_removes_secrets_from_provider_text() -> None:
    text = "refresh token rt-123456 is not valid for client secret-xyz"
    assert scrub(text, ["rt-123456", "secret-xyz", None, "ab"]) == (
        "refresh token [redacted] is not valid for client [redacted]"
    )
