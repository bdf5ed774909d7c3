"""Secrets never leak: a canary credential through a real server, and key rotation while it serves.

The canary is sent as a credential property in every way a client could send it (valid, invalid,
malformed, oversized); afterwards it must appear in no response body, no log line and no byte of
the database (the SQLite files, or every row of every table on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from lockstitch.config import Settings
from lockstitch.context import build_context
from lockstitch.kit.crypto import generate_key
from lockstitch.models import Base, Source
from lockstitch.sources import credentials
from tests.e2e.processes import Server, cli
from tests.helpers import hp_postgres_properties

pytestmark = pytest.mark.slow


def _account(env: dict[str, str], email: str = "canary@example.com") -> dict[str, str]:
    created = json.loads(cli(env, "accounts", "create", "--email", email, "--company", "C", "--json").stdout)
    return {"Authorization": f"Bearer {created['access_token']}"}


async def _database_text(env: dict[str, str]) -> bytes:
    """Everything the database holds, as bytes: raw files for SQLite, every row for PostgreSQL."""
    url = env["LOCKSTITCH_DATABASE_URL"]
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    settings = Settings(env="test", database_url=url, encryption_keys=[env["LOCKSTITCH_ENCRYPTION_KEYS"]])
    ctx = build_context(settings)
    chunks = []
    async with ctx.db.read() as session:
        for table in Base.metadata.sorted_tables:
            rows = await session.execute(text(f"SELECT row_to_json(t)::text FROM {table.name} t"))
            chunks.extend(r[0].encode() for r in rows)
    await ctx.close()
    return b"\n".join(chunks)


async def test_canary_never_leaves(lockstitch_env: dict[str, str], tmp_path: Path) -> None:
    canary = "CANARY" + secrets.token_hex(12)
    headers = _account(lockstitch_env)
    server = Server(lockstitch_env, tmp_path / "server.log").start()
    bodies: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:

            async def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
                response = await http.request(method, path, **kwargs)
                bodies.append(response.text)
                bodies.append(json.dumps(dict(response.headers)))
                assert response.status_code < 500, response.text
                return response

            pg = await send(
                "POST",
                "/v4/sources",
                json={
                    "type": "platform.hp-postgres",
                    "display_name": "PG",
                    "properties": hp_postgres_properties(password=canary),
                },
            )
            assert pg.status_code == 200
            ga = await send(
                "POST",
                "/v4/sources",
                json={
                    "type": "platform.google-analytics",
                    "display_name": "GA",
                    "properties": {"start_date": "2020-01-01T00:00:00Z"},
                },
            )
            oauth = {"client_id": canary, "client_secret": canary, "refresh_token": canary, "view_id": "1"}
            assert (
                await send("PUT", f"/v4/sources/{ga.json()['id']}", json={"properties": oauth})
            ).status_code == 200
            # Invalid: wrong type for a credential, credential on the wrong type, bad JSON, too big.
            await send(
                "PUT", f"/v4/sources/{pg.json()['id']}", json={"properties": {"password": {"nested": canary}}}
            )
            await send(
                "POST",
                "/v4/sources",
                json={
                    "type": "platform.github",
                    "display_name": "G",
                    "properties": {"access_token": canary, "port": canary},
                },
            )
            await send("POST", "/v4/sources", content=f'{{"properties": {{"password": "{canary}"'.encode())
            oversized = json.dumps({"password": canary, "pad": "x" * 2_000_000}).encode()
            await send("POST", "/v4/sources", content=oversized)
            await send(
                "PUT",
                f"/v4/sources/{pg.json()['id']}?password={canary}",
                json={"properties": {"password": canary}},
            )
            await send("GET", f"/v4/sources/{pg.json()['id']}")
            await send("GET", "/v4/sources")
            await send("GET", f"/v4/sources/{ga.json()['id']}/last-connection-check")
            await send("POST", "/v3/accounts", json={"partner_id": "x", "partner_secret": canary})
            await send("GET", "/v4/sources", headers={"Authorization": f"Bearer ac_{canary}{canary}"})
    finally:
        server.stop()

    leaked = [body for body in bodies if canary in body]
    assert bodies
    assert leaked == []
    log = server.log
    assert "POST /v4/sources" in log  # the log is real and verbose (debug level)
    assert canary not in log
    database = await _database_text(lockstitch_env)
    assert canary.encode() not in database
    assert b"v1." in database  # ciphertexts are there


def _hammer(
    url: str, headers: dict[str, str], ids: list[int], stop: threading.Event, failures: list[str]
) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        n = 0
        while not stop.is_set():
            source_id = ids[n % len(ids)]
            if n % 3 == 0:
                response = http.put(f"/v4/sources/{source_id}", json={"properties": {"dbname": f"db{n}"}})
            else:
                response = http.get(f"/v4/sources/{source_id}")
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.text[:200]}")
            n += 1


async def test_keys_rotate_while_serving(lockstitch_env: dict[str, str], tmp_path: Path) -> None:
    k1 = lockstitch_env["LOCKSTITCH_ENCRYPTION_KEYS"]
    headers = _account(lockstitch_env)
    server = Server(lockstitch_env, tmp_path / "server.log").start("--no-worker")
    ids = []
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            for n in range(30):
                body = {
                    "type": "platform.hp-postgres",
                    "display_name": f"PG {n}",
                    "properties": hp_postgres_properties(password=f"secret-{n}-value"),
                }
                ids.append((await http.post("/v4/sources", json=body)).json()["id"])
    finally:
        server.stop()

    # The operator adds a newer key (first), restarts, and rotates while the server serves.
    k2 = generate_key("k2")
    rotated_env = {**lockstitch_env, "LOCKSTITCH_ENCRYPTION_KEYS": f"{k2},{k1}"}
    server = Server(rotated_env, tmp_path / "server2.log").start("--no-worker")
    stop, failures = threading.Event(), []
    hammer = threading.Thread(target=_hammer, args=(server.url, headers, ids, stop, failures))
    hammer.start()
    try:
        result = await asyncio.to_thread(cli, rotated_env, "keys", "rotate")
        assert "re-encrypted 30 secret(s) under key k2" in result.stdout
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        hammer.join()
        server.stop()
    assert failures == []

    # Every ciphertext is now under k2 and opens with k2 alone (k1 can be retired).
    only_k2 = Settings(
        env="test", database_url=lockstitch_env["LOCKSTITCH_DATABASE_URL"], encryption_keys=[k2]
    )
    ctx = build_context(only_k2)
    async with ctx.db.read() as session:
        sources = list(await session.scalars(select(Source).order_by(Source.id)))
    await ctx.close()
    assert len(sources) == 30
    for n, source in enumerate(sources):
        assert ctx.keyring.key_id_of(source.credentials["password"]) == "k2"
        assert credentials.unseal(ctx.keyring, source, "password") == f"secret-{n}-value"
    again = cli(rotated_env, "keys", "rotate")
    assert "re-encrypted 0 secret(s)" in again.stdout
