"""Resolving a refresh whose outcome is unknown (oauth/in_flight.py), provider by provider.

The introspection endpoint is stood in for at the transport layer; the verdicts decide whether
a refresh token may be sent again, so each rule of the module docstring has its case here.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from lockstitch.catalog.providers import Client, ProviderSpec
from lockstitch.oauth.in_flight import resolve

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
TIMEOUT = 5.0
CLIENT = Client("the-client", "the-client-secret", "basic")


def _spec(**fields: object) -> ProviderSpec:
    base = {"name": "p", "authorization_url": "https://p.test/a", "token_url": "https://p.test/t"}
    return ProviderSpec.model_validate({**base, **fields})


async def _resolve(
    spec: ProviderSpec, seconds_ago: float, handler: object = None, *, operator: bool = True
) -> str:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert callable(handler)
        return handler(request)  # type: ignore[no-any-return]

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        verdict = await resolve(
            http,
            spec,
            CLIENT,
            "the-refresh-token",
            in_flight_since=NOW - dt.timedelta(seconds=seconds_ago),
            now=NOW,
            timeout=TIMEOUT,
            operator_endpoint=operator,
        )
    if handler is None:
        assert seen == []  # nothing asked, nothing sent
    return verdict


async def test_a_provider_that_does_not_rotate_gets_the_token_again() -> None:
    assert await _resolve(_spec(rotates_refresh_tokens=False), 1) == "resend"


async def test_within_a_documented_grace_period_the_token_is_sent_again() -> None:
    xero = _spec(rotates_refresh_tokens=True, refresh_token_grace_seconds=1800)
    assert await _resolve(xero, 60) == "resend"
    assert await _resolve(xero, 1795) == "unknown"  # too close to its end: not any more


async def test_without_rotation_facts_or_introspection_the_outcome_is_unknown() -> None:
    assert await _resolve(_spec(rotates_refresh_tokens=True), 600) == "unknown"
    # A partner's own token endpoint tells nothing of rotation: assumed to rotate.
    assert await _resolve(_spec(rotates_refresh_tokens=False), 600, operator=False) == "unknown"


@pytest.mark.parametrize(("active", "verdict"), [(True, "resend"), (False, "spent")])
async def test_introspection_tells_a_spent_token_from_an_unused_one(active: bool, verdict: str) -> None:
    asked: list[bytes] = []

    def introspection(request: httpx.Request) -> httpx.Response:
        asked.append(request.content)
        assert request.url == "https://p.test/introspect"
        assert request.headers["authorization"].startswith("Basic ")
        return httpx.Response(200, json={"active": active})

    spec = _spec(rotates_refresh_tokens=True, introspection_url="https://p.test/introspect")
    assert await _resolve(spec, 60, introspection) == verdict
    assert asked == [b"token=the-refresh-token&token_type_hint=refresh_token"]


async def test_introspection_waits_until_the_first_request_cannot_still_be_answered() -> None:
    spec = _spec(rotates_refresh_tokens=True, introspection_url="https://p.test/introspect")
    assert await _resolve(spec, TIMEOUT) == "later"  # the provider may still be working on it


@pytest.mark.parametrize(
    "response",
    [httpx.Response(503), httpx.Response(200, text="not json"), httpx.Response(200, json={"exp": 1})],
)
async def test_an_introspection_that_says_nothing_is_asked_again_later(response: httpx.Response) -> None:
    spec = _spec(rotates_refresh_tokens=True, introspection_url="https://p.test/introspect")
    assert await _resolve(spec, 60, lambda _request: response) == "later"
