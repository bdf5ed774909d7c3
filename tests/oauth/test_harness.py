"""The OAuth test harness against the real provider (npm oidc-provider in Node) and the fault proxy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.oauth_server.harness import (
    BYO,
    MANAGED,
    OIDC_PROVIDER_VERSION,
    RESOURCE_SERVER,
    AuthorizationFlowError,
    FaultProxy,
    OidcProvider,
    ProviderConfig,
    authorization_url,
    authorize,
    ensure_installed,
    free_port,
    lockfile_hash,
    obtain_refresh_token,
    obtain_refresh_token_async,
    pkce_pair,
    token_hash,
    token_request,
    token_request_async,
)

CALLBACK = f"http://127.0.0.1:{free_port()}/oauth/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider().start(ProviderConfig.default(redirect_uris=[CALLBACK])) as running:
        yield running


@pytest.fixture
def oidc(provider: OidcProvider) -> OidcProvider:
    """The module's provider with its counters at zero."""
    provider.reset()
    return provider


@pytest.fixture
async def proxy(provider: OidcProvider) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(provider.issuer, paths=["/token"]) as running:
        yield running


def byo_tokens(provider: OidcProvider) -> dict[str, Any]:
    byo = provider.client(BYO)
    return obtain_refresh_token(provider, byo.client_id, byo.client_secret, CALLBACK)


def refresh(provider: OidcProvider, refresh_token: str, *, endpoint: str | None = None) -> httpx.Response:
    byo = provider.client(BYO)
    return token_request(
        endpoint or provider.token_endpoint,
        byo.client_id,
        byo.client_secret,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth_method=byo.token_endpoint_auth_method,
    )


async def refresh_async(
    provider: OidcProvider, refresh_token: str, *, endpoint: str, read_timeout: float = 10.0
) -> httpx.Response:
    byo = provider.client(BYO)
    return await token_request_async(
        endpoint,
        byo.client_id,
        byo.client_secret,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth_method=byo.token_endpoint_auth_method,
        timeout=read_timeout,
    )


def introspect(provider: OidcProvider, token: str) -> dict[str, Any]:
    api = provider.client(RESOURCE_SERVER)
    response = token_request(
        provider.introspection_endpoint, api.client_id, api.client_secret, {"token": token}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


# ---------------------------------------------------------------------------- provider


def test_pinned_version_is_installed(provider: OidcProvider) -> None:
    root = ensure_installed()
    assert root.name == f"oidc-provider-{lockfile_hash()}"
    installed = json.loads((root / "node_modules" / "oidc-provider" / "package.json").read_text())
    assert installed["version"] == OIDC_PROVIDER_VERSION == "9.13.3"
    assert provider.discovery["code_challenge_methods_supported"] == ["S256"]
    assert provider.discovery["authorization_response_iss_parameter_supported"] is True
    assert {"openid", "offline_access", "api:read", "api:write"} <= set(
        provider.discovery["scopes_supported"]
    )
    assert httpx.get(provider.admin_url + "/health").json()["issuer"] == provider.issuer


def test_code_flow_with_pkce_gives_access_and_refresh_tokens(oidc: OidcProvider) -> None:
    managed = oidc.client(MANAGED)
    verifier, challenge = pkce_pair()
    url = authorization_url(
        oidc,
        client_id=MANAGED,
        redirect_uri=CALLBACK,
        scope="api:read",
        state="s-1",
        code_challenge=challenge,
    )

    result = authorize(url, login="alice")

    assert result["state"] == "s-1"
    assert result["iss"] == oidc.issuer  # RFC 9207
    assert result["redirect_url"].startswith(CALLBACK + "?")
    exchange = {"grant_type": "authorization_code", "code": result["code"], "redirect_uri": CALLBACK}
    wrong = token_request(
        oidc.token_endpoint, MANAGED, managed.client_secret, {**exchange, "code_verifier": pkce_pair()[0]}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"

    # oidc-provider checks PKCE before it consumes the code: the right verifier still works.
    response = token_request(
        oidc.token_endpoint, MANAGED, managed.client_secret, {**exchange, "code_verifier": verifier}
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["access_token"]
    assert tokens["refresh_token"]  # no offline_access asked: issued anyway
    assert tokens["expires_in"] == 10
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "api:read"
    assert introspect(oidc, tokens["access_token"])["sub"] == "alice"

    again = token_request(
        oidc.token_endpoint, MANAGED, managed.client_secret, {**exchange, "code_verifier": verifier}
    )
    assert again.json()["error"] == "invalid_grant"  # codes are single use; reuse revokes the grant
    assert introspect(oidc, tokens["access_token"])["active"] is False
    stats = oidc.stats()
    assert (stats["code_requests"], stats["code_exchanges"], stats["grants_revoked"]) == (3, 1, 1)


def test_refresh_rotates_the_refresh_token(oidc: OidcProvider) -> None:
    tokens = byo_tokens(oidc)

    response = refresh(oidc, tokens["refresh_token"])

    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    assert refresh(oidc, rotated["refresh_token"]).status_code == 200
    assert oidc.stats()["refresh_success"] == 2


def test_reusing_a_rotated_refresh_token_revokes_the_grant(oidc: OidcProvider) -> None:
    tokens = byo_tokens(oidc)
    rotated = refresh(oidc, tokens["refresh_token"]).json()

    reuse = refresh(oidc, tokens["refresh_token"])
    after = refresh(oidc, rotated["refresh_token"])

    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")
    assert introspect(oidc, rotated["access_token"])["active"] is False
    stats = oidc.stats()
    assert stats["reuse_detected"] == 1
    assert stats["grants_revoked"] == 1
    assert stats["invalid_grant"] == 2
    assert (stats["refresh_requests"], stats["refresh_success"]) == (3, 1)


def test_wrong_client_secret_is_invalid_client(oidc: OidcProvider) -> None:
    tokens = byo_tokens(oidc)
    for client_id in (BYO, MANAGED):
        method = oidc.client(client_id).token_endpoint_auth_method
        response = token_request(
            oidc.token_endpoint,
            client_id,
            "not-the-secret",
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth_method=method,
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    assert oidc.stats()["invalid_client"] == 2
    assert refresh(oidc, tokens["refresh_token"]).status_code == 200  # nothing was consumed


def test_denied_consent_redirects_with_access_denied(oidc: OidcProvider) -> None:
    url = authorization_url(oidc, client_id=MANAGED, redirect_uri=CALLBACK, state="deny-me")

    result = authorize(url, consent=False)

    assert result["error"] == "access_denied"
    assert (result["state"], result["iss"]) == ("deny-me", oidc.issuer)
    assert "code" not in result
    assert oidc.stats()["access_denied"] == 1


def test_introspection_revocation_and_admin_revoke(oidc: OidcProvider) -> None:
    tokens = byo_tokens(oidc)
    info = introspect(oidc, tokens["access_token"])
    assert info["active"] is True
    assert (info["client_id"], info["sub"], info["token_type"]) == (BYO, "user", "Bearer")
    assert set(info["scope"].split()) == {"openid", "api:read"}
    assert introspect(oidc, "not-a-token") == {"active": False}

    oidc.revoke_grant(refresh_token=tokens["refresh_token"])
    assert refresh(oidc, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(oidc, tokens["access_token"])["active"] is False
    assert oidc.stats()["grants_revoked"] == 1

    # RFC 7009 revocation of a refresh token by the client.
    tokens = byo_tokens(oidc)
    byo = oidc.client(BYO)
    revoked = token_request(
        oidc.revocation_endpoint,
        BYO,
        byo.client_secret,
        {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth_method=byo.token_endpoint_auth_method,
    )
    assert revoked.status_code == 200
    assert refresh(oidc, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_redirect_uris_can_change_while_running(oidc: OidcProvider) -> None:
    other = f"http://127.0.0.1:{free_port()}/oauth/callback"
    url = authorization_url(oidc, client_id=MANAGED, redirect_uri=other, state="x")
    with pytest.raises(AuthorizationFlowError, match="redirect_uri") as refused:
        authorize(url)
    assert refused.value.status == 400
    oidc.set_redirect_uris(MANAGED, [CALLBACK, other])
    assert authorize(url)["redirect_url"].startswith(other)


def test_logs_never_show_tokens_or_secrets(oidc: OidcProvider) -> None:
    tokens = byo_tokens(oidc)
    rotated = refresh(oidc, tokens["refresh_token"]).json()
    log = oidc.log_text()
    assert f"rt_in={token_hash(tokens['refresh_token'])}" in log
    assert f"rt_out={token_hash(rotated['refresh_token'])}" in log
    for secret in (
        tokens["refresh_token"],
        tokens["access_token"],
        rotated["refresh_token"],
        *(client.client_secret for client in oidc.config.clients),  # type: ignore[union-attr]
    ):
        assert secret not in log


@pytest.mark.slow
def test_access_tokens_expire_after_their_ttl() -> None:
    config = ProviderConfig.default(redirect_uris=[CALLBACK]).with_ttl(access_token=2)
    with OidcProvider().start(config) as short:
        tokens = byo_tokens(short)
        issued = time.monotonic()
        assert tokens["expires_in"] == 2
        assert introspect(short, tokens["access_token"])["active"] is True
        while introspect(short, tokens["access_token"])["active"]:
            assert time.monotonic() - issued < 4, "the access token outlived its TTL"
            time.sleep(0.1)
        assert time.monotonic() - issued > 0.9  # exp is whole seconds: between 1 and 2 s
        assert refresh(short, tokens["refresh_token"]).status_code == 200


# ---------------------------------------------------------------------------- fault proxy


async def test_proxy_passes_and_records_with_secrets_masked(oidc: OidcProvider, proxy: FaultProxy) -> None:
    byo = oidc.client(BYO)
    tokens = await obtain_refresh_token_async(oidc, byo.client_id, byo.client_secret, CALLBACK)
    endpoint = proxy.url_for(oidc.token_endpoint)
    assert endpoint == f"{proxy.base_url}/token"

    response = await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint)

    assert response.status_code == 200
    [seen] = proxy.requests
    assert (seen.method, seen.path, seen.grant_type, seen.client_id) == (
        "POST",
        "/token",
        "refresh_token",
        BYO,
    )
    assert seen.refresh_token_hash == token_hash(tokens["refresh_token"])
    assert seen.form["refresh_token"] == f"sha256:{seen.refresh_token_hash}"
    assert seen.form["client_secret"] == "***"
    assert (seen.outcome, seen.status, seen.upstream_status) == ("forwarded", 200, 200)
    assert seen.upstream_refresh_token_hash == token_hash(response.json()["refresh_token"])
    assert byo.client_secret not in repr(proxy.requests)


async def test_proxy_answers_5xx_then_passes(oidc: OidcProvider, proxy: FaultProxy) -> None:
    tokens = byo_tokens(oidc)
    proxy.set_program([("status", 503)] * 2 + [("status", 500), ("status", 502), ("pass",)])
    endpoint = proxy.url_for(oidc.token_endpoint)

    statuses = [
        (await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint)).status_code for _ in range(5)
    ]

    assert statuses == [503, 503, 500, 502, 200]
    assert [r.outcome for r in proxy.requests] == ["responded"] * 4 + ["forwarded"]
    assert {r.refresh_token_hash for r in proxy.requests} == {token_hash(tokens["refresh_token"])}
    assert oidc.stats()["refresh_requests"] == 1  # the provider saw only the last one
    assert proxy.remaining() == 0


async def test_proxy_429_carries_retry_after(oidc: OidcProvider, proxy: FaultProxy) -> None:
    tokens = byo_tokens(oidc)
    proxy.set_program([("retry_after", 7), ("status", 429, 2.5), ("status", 429)])
    endpoint = proxy.url_for(oidc.token_endpoint)

    answers = [await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint) for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 429]
    assert [a.headers.get("retry-after") for a in answers] == ["7", "2.5", None]
    assert (await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint)).status_code == 200


async def test_proxy_delay_times_the_client_out_before_the_provider_sees_anything(
    oidc: OidcProvider, proxy: FaultProxy
) -> None:
    tokens = byo_tokens(oidc)
    endpoint = proxy.url_for(oidc.token_endpoint)
    proxy.set_program([("delay", 3), ("delay", 0.3)])

    with pytest.raises(httpx.ReadTimeout):
        await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint, read_timeout=0.3)
    await proxy.wait_idle(5)
    assert proxy.requests[0].outcome == "client_closed"
    assert proxy.requests[0].upstream_status is None
    assert oidc.stats()["refresh_requests"] == 0

    began = time.monotonic()
    slow = await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint)  # still valid
    assert slow.status_code == 200
    assert time.monotonic() - began >= 0.3


async def test_proxy_delayed_response_lets_the_provider_rotate(oidc: OidcProvider, proxy: FaultProxy) -> None:
    tokens = byo_tokens(oidc)
    endpoint = proxy.url_for(oidc.token_endpoint)
    proxy.set_program([("delay_response", 3)])

    with pytest.raises(httpx.ReadTimeout):
        await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint, read_timeout=0.5)
    await proxy.wait_idle(5)

    [seen] = proxy.requests
    assert (seen.outcome, seen.upstream_status, seen.status) == ("client_closed", 200, None)
    assert oidc.stats()["refresh_success"] == 1


async def test_proxy_drop_consumes_the_refresh_token_without_an_answer(
    oidc: OidcProvider, proxy: FaultProxy
) -> None:
    tokens = byo_tokens(oidc)
    endpoint = proxy.url_for(oidc.token_endpoint)
    proxy.set_program([("drop",)])

    with pytest.raises(httpx.RemoteProtocolError):
        await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint)

    [dropped] = proxy.requests
    assert (dropped.outcome, dropped.status, dropped.upstream_status) == ("dropped", None, 200)
    assert dropped.upstream_refresh_token_hash not in (None, dropped.refresh_token_hash)
    assert oidc.stats()["refresh_success"] == 1  # the provider rotated...
    retry = await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint)  # ...so this is reuse
    assert (retry.status_code, retry.json()["error"]) == (400, "invalid_grant")
    stats = oidc.stats()
    assert (stats["reuse_detected"], stats["grants_revoked"]) == (1, 1)


async def test_proxy_program_can_be_a_function(oidc: OidcProvider, proxy: FaultProxy) -> None:
    tokens = byo_tokens(oidc)
    endpoint = proxy.url_for(oidc.token_endpoint)
    proxy.set_program(lambda request: ("status", 503) if request.index % 2 == 0 else None)

    statuses = [
        (await refresh_async(oidc, tokens["refresh_token"], endpoint=endpoint)).status_code for _ in range(2)
    ]

    assert statuses == [503, 200]


async def test_proxy_only_programs_matching_paths_and_reads_chunked_bodies(
    oidc: OidcProvider, proxy: FaultProxy
) -> None:
    tokens = byo_tokens(oidc)
    api = oidc.client(RESOURCE_SERVER)
    proxy.set_program([("status", 503)])
    body = f"token={tokens['access_token']}".encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    async with httpx.AsyncClient(auth=(api.client_id, api.client_secret)) as http:
        response = await http.post(
            proxy.url_for(oidc.introspection_endpoint),
            content=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    assert response.status_code == 200  # /token/introspection is not programmed
    assert response.json()["active"] is True
    [seen] = proxy.requests
    assert seen.headers.get("Transfer-Encoding") == "chunked"
    assert seen.form["token"] == f"sha256:{token_hash(tokens['access_token'])}"
    assert seen.client_id == RESOURCE_SERVER
    assert proxy.remaining() == 1


async def test_proxy_serves_other_processes(oidc: OidcProvider, proxy: FaultProxy) -> None:
    tokens = byo_tokens(oidc)
    byo = oidc.client(BYO)
    proxy.set_program([("status", 502)])
    script = (
        "import httpx, sys\n"
        "data = {'grant_type': 'refresh_token', 'refresh_token': sys.argv[2], 'client_id': sys.argv[3],"
        " 'client_secret': sys.argv[4]}\n"
        "for _ in range(2):\n"
        "    print(httpx.post(sys.argv[1], data=data, timeout=10).status_code)\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        proxy.url_for(oidc.token_endpoint),
        tokens["refresh_token"],
        byo.client_id,
        byo.client_secret,
        stdout=subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(child.communicate(), 30)
    assert out.decode().split() == ["502", "200"]


async def test_proxy_answers_502_when_the_upstream_is_down() -> None:
    async with FaultProxy(f"http://127.0.0.1:{free_port()}") as proxy, httpx.AsyncClient() as http:
        response = await http.post(f"{proxy.base_url}/token", data={"grant_type": "refresh_token"})
    assert response.status_code == 502
    assert proxy.requests[0].outcome == "upstream_error"


def test_proxy_runs_in_a_thread_for_synchronous_tests(oidc: OidcProvider) -> None:
    tokens = byo_tokens(oidc)
    with FaultProxy(oidc.issuer, program=[("status", 500)]).running_in_thread() as proxy:
        endpoint = proxy.url_for(oidc.token_endpoint)
        assert refresh(oidc, tokens["refresh_token"], endpoint=endpoint).status_code == 500
        assert refresh(oidc, tokens["refresh_token"], endpoint=endpoint).status_code == 200
        assert len(proxy.requests) == 2


# ---------------------------------------------------------------------------- installation


@pytest.mark.slow
def test_concurrent_installs_share_one_tree(tmp_path: Path) -> None:
    """Two processes (as two xdist workers would) install into an empty cache at once."""
    code = (
        "import sys\n"
        "from tests.oauth_server.harness import ensure_installed\n"
        "print(ensure_installed(sys.argv[1]))\n"
    )
    root = Path(__file__).resolve().parents[2]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], cwd=root, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=300)[0].strip() for child in children]
    assert [child.returncode for child in children] == [0, 0]
    assert outputs[0] == outputs[1] == str(tmp_path / f"oidc-provider-{lockfile_hash()}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"oidc-provider-{lockfile_hash()}",
        f"oidc-provider-{lockfile_hash()}.lock",
    ]
    with OidcProvider(ProviderConfig.default(redirect_uris=[CALLBACK]), cache_dir=tmp_path) as fresh:
        assert fresh.stats()["token_requests"] == 0
