"""Every partner-supplied host or URL, against every hostile address, in production mode.

Issue 8, finding 4: a rest-api source made the worker fetch an internal URL, a ``token_url`` at
169.254.169.254 made Lockstitch POST there, and destination checks worked as a port scanner. Here
each field that names a place Lockstitch or a plugin connects to is given each address of
``tests/outbound.py`` (IP literals, odd spellings, IPv6 forms, names that a stand-in DNS resolves
to internal addresses). Every one is refused with the uniform message, and a listener on the
loopback port they all aim at must see no connection at all: nothing was even tried.

Values that the type's own json_schema already rejects (a 400 at the API) are refused too; the
test counts them apart and requires that at least 40 addresses per field reach the policy.

Development mode, on the other hand, still runs the README's local walk-through (a PostgreSQL
source and destination on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lockstitch.context import Context
from lockstitch.destinations.tasks import CheckDestinations
from lockstitch.kit.outbound import unreachable
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.runner.tasks import RunConnectionChecks
from tests import canary
from tests.conftest import AccountHandle, MakeAccount, MakeContext, api_client
from tests.discovery.conftest import source_postgres
from tests.helpers import hp_postgres_properties
from tests.outbound import StandInDNS, as_url, hostile_hosts

pytestmark = pytest.mark.slow
__all__ = ["source_postgres"]  # a fixture shared with the discovery tests
MIN_REACHING_THE_POLICY = 40
canary.remember("partner-client-secret-matrix", "partner-refresh-token-matrix", "mysql-pass-9f8e")
canary.remember("dest-pass-matrix")
_names = itertools.count(1)


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[str]]]:
    """Where every hostile address points (loopback, IPv4 and IPv6): it records any connection."""
    connected: list[str] = []

    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.append(str(writer.get_extra_info("peername")))
        writer.close()

    v4 = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = v4.sockets[0].getsockname()[1]
    v6 = await asyncio.start_server(handle, "::1", port)
    yield port, connected
    for server in (v4, v6):
        server.close()
        await server.wait_closed()


@pytest.fixture
def production(make_ctx: MakeContext) -> Context:
    """Production's policy as shipped: no allowances; DNS answered by the stand-in."""
    return make_ctx(env="production", network={}, resolver=StandInDNS())


Body = Callable[[str, int], dict[str, Any]]


def _sources(port: int) -> dict[str, Body]:
    def postgres(host: str, p: int) -> dict[str, Any]:
        return {"type": "platform.hp-postgres", "properties": hp_postgres_properties(host=host, port=str(p))}

    def postgres_ssh(host: str, p: int) -> dict[str, Any]:
        properties = hp_postgres_properties(
            host="db.partner.test", ssh="true", ssh_host=host, ssh_port=str(p), ssh_user="tunnel"
        )
        return {"type": "platform.hp-postgres", "properties": properties}

    def mysql(host: str, p: int) -> dict[str, Any]:
        properties = {
            "host": host,
            "port": str(p),
            "user": "u",
            "password": "mysql-pass-9f8e",
            "dbname": "app",
        }
        return {"type": "platform.hp-mysql", "properties": properties}

    def rest_api(host: str, p: int) -> dict[str, Any]:
        # The partner's own client: its token endpoint is public (in the stand-in DNS), the API not.
        return {
            "type": "lockstitch.rest-api",
            "properties": _rest(as_url(host, p, "/api"), "https://api.partner.test/t"),
        }

    return {
        "hp-postgres host": postgres,
        "hp-postgres ssh_host": postgres_ssh,
        "hp-mysql host": mysql,
        "rest-api api_url": rest_api,
    }


def _rest(api_url: str, token_url: str) -> dict[str, Any]:
    return {
        "api_url": api_url,
        "token_url": token_url,
        "streams": [{"name": "items", "path": "/items"}],
        "client_id": "partner-client-id",
        "client_secret": "partner-client-secret-matrix",
        "refresh_token": "partner-refresh-token-matrix",
    }


async def _post(
    client: httpx.AsyncClient, who: AccountHandle, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(path, headers=who.headers, json={**body, "display_name": f"M{next(_names)}"})


async def _run_source_checks(ctx: Context) -> None:
    job = RunConnectionChecks()
    while await job.run_once(ctx, ctx.process_id) or job.busy:
        await job.wait()


async def test_every_hostile_address_in_every_field_is_refused_alike(
    production: Context, account: AccountHandle, listener: tuple[int, list[str]]
) -> None:
    port, connected = listener
    hosts = hostile_hosts()
    schema_refused: dict[str, int] = {}
    reaching: dict[str, int] = {}
    async with api_client(production) as client:
        # Sources whose tap would connect: the check must end before any plugin runs.
        for field, body in _sources(port).items():
            created: dict[int, str] = {}
            for host in hosts:
                response = await _post(client, account, "/v4/sources", body(host, port))
                if response.status_code == 400:
                    assert response.json()["error"] == "InvalidProperties", response.text
                    schema_refused[field] = schema_refused.get(field, 0) + 1
                    continue
                assert response.status_code == 200, (field, host, response.text)
                created[response.json()["id"]] = host
            if field == "rest-api api_url":  # the partner's own client is validated first
                await TokenEngine(production, "matrix").refresh_due()
            await _run_source_checks(production)
            for source_id, host in created.items():
                check = (
                    await client.get(
                        f"/v4/sources/{source_id}/last-connection-check", headers=account.headers
                    )
                ).json()
                assert (check["status"], check["discovery_error_message"]) == ("failed", unreachable()), (
                    field,
                    host,
                    check,
                )
                log = await client.get(
                    f"/v4/sources/{source_id}/last-connection-check/log", headers=account.headers
                )
                assert "--discover" not in log.text, (field, host)  # no plugin ran
            reaching[field] = len(created)

        # A partner's own token endpoint: Lockstitch itself would POST there.
        field = "rest-api token_url"
        created = {}
        for host in hosts:
            url = as_url(host, port, "/token")
            response = await _post(
                client,
                account,
                "/v4/sources",
                {"type": "lockstitch.rest-api", "properties": _rest("https://api.partner.test/api", url)},
            )
            if response.status_code == 400:
                schema_refused[field] = schema_refused.get(field, 0) + 1
                continue
            created[response.json()["id"]] = url
        await TokenEngine(production, "matrix").refresh_due()
        for source_id, url in created.items():
            health = (
                await client.get(f"/v4/sources/{source_id}/credentials", headers=account.headers)
            ).json()
            assert health["status"] == "backing_off", (url, health)
            assert health["last_error"]["message"] == f"unreachable: {unreachable(urlsplit(url).hostname)}", (
                url,
                health,
            )
        reaching[field] = len(created)

        # A destination's host: Lockstitch's own probe would connect.
        field = "postgres destination host"
        made: dict[int, str] = {}
        for host in hosts:
            properties = {
                "host": host,
                "port": str(port),
                "username": "u",
                "password": "dest-pass-matrix",
                "database": "d",
                "ssl": "false",
            }
            response = await client.post(
                "/v4/destinations",
                headers=account.headers,
                json={"type": "postgres", "name": f"D{next(_names)}", "properties": properties},
            )
            if response.status_code == 400:
                schema_refused[field] = schema_refused.get(field, 0) + 1
                continue
            assert response.status_code == 200, (host, response.text)
            made[response.json()["id"]] = host
        job = CheckDestinations()
        while await job.run_once(production, "matrix"):
            pass
        for destination_id, host in made.items():
            check = (
                await client.get(
                    f"/v4/destinations/{destination_id}/last-connection-check", headers=account.headers
                )
            ).json()
            assert (check["status"], check["target_error_message"]) == (
                "failed",
                unreachable(f"{host}:{port}"),
            ), (host, check)
        reaching[field] = len(made)

    assert connected == [], connected
    assert all(count >= MIN_REACHING_THE_POLICY for count in reaching.values()), (reaching, schema_refused)
    assert set(reaching) == {*_sources(port), "rest-api token_url", "postgres destination host"}


async def test_development_runs_the_local_walk_through(
    make_ctx: MakeContext, make_account: MakeAccount, source_postgres: str
) -> None:
    """``make run`` (development, no network settings) reaches the machine's own PostgreSQL, as
    the README's curl walk-through does: the source's check and the destination's check pass."""
    dev = make_ctx(env="development", network={})
    assert dev.settings.allow_private_addresses
    who = await make_account()
    async with api_client(dev) as client:
        source = await _post(
            client,
            who,
            "/v4/sources",
            {
                "type": "platform.hp-postgres",
                "properties": hp_postgres_properties(
                    host="127.0.0.1", user="postgres", dbname=source_postgres
                ),
            },
        )
        assert source.status_code == 200, source.text
        await _run_source_checks(dev)
        check = (
            await client.get(f"/v4/sources/{source.json()['id']}/last-connection-check", headers=who.headers)
        ).json()
        assert check["status"] == "succeeded", check
        destination = await client.post(
            "/v4/destinations",
            headers=who.headers,
            json={
                "type": "postgres",
                "name": "Warehouse",
                "properties": {
                    "host": "127.0.0.1",
                    "port": "5432",
                    "username": "postgres",
                    "password": "trust-ignores-it",
                    "database": source_postgres,
                    "ssl": "false",
                },
            },
        )
        assert destination.status_code == 200, destination.text
        job = CheckDestinations()
        assert await job.run_once(dev, "dev")
        checked = (
            await client.get(
                f"/v4/destinations/{destination.json()['id']}/last-connection-check", headers=who.headers
            )
        ).json()
        assert checked["status"] == "succeeded", checked
