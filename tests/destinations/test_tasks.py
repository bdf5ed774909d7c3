"""The destination connection check job, against the real local PostgreSQL and real folders."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select, update

from lockstitch.context import Context
from lockstitch.destinations.local import Warehouse
from lockstitch.destinations.probes import probe
from lockstitch.destinations.tasks import CheckDestinations
from lockstitch.jobs.checks_repository import CheckRepository
from lockstitch.kit.outbound import unreachable
from lockstitch.kit.time import utcnow
from lockstitch.models import ConnectionCheck
from tests.conftest import POSTGRES_ADMIN, AccountHandle
from tests.destinations.support import PG_PASSWORD, create, postgres_properties


async def _run_check(
    client: httpx.AsyncClient, ctx: Context, who: AccountHandle, destination_id: int
) -> dict[str, Any]:
    job = CheckDestinations()
    assert await job.run_once(ctx, "worker-1") is True
    assert await job.run_once(ctx, "worker-1") is False  # nothing else queued
    response = await client.get(
        f"/v4/destinations/{destination_id}/last-connection-check", headers=who.headers
    )
    assert response.status_code == 200
    assert PG_PASSWORD not in response.text
    return dict(response.json())


def _failed(check: dict[str, Any]) -> str:
    assert check["status"] == "failed"
    assert (check["check_exit_status"], check["target_exit_status"], check["error"]) == (1, 1, True)
    assert check["completion_time"] is not None
    assert check["discovery_exit_status"] is None
    assert check["tap_exit_status"] is None
    message = check["target_error_message"]
    assert isinstance(message, str)
    assert PG_PASSWORD not in message
    return message


async def test_postgres_reachable(client: httpx.AsyncClient, account: AccountHandle, ctx: Context) -> None:
    created = await create(client, account)
    check = await _run_check(client, ctx, account, created["id"])
    assert check["name"] == created["check_job_name"]
    assert check["status"] == "succeeded"
    assert (check["check_exit_status"], check["target_exit_status"], check["error"]) == (0, 0, False)
    assert check["target_error_message"] is None
    assert check["completion_time"] is not None
    async with ctx.db.read() as session:
        row = await session.scalar(select(ConnectionCheck).where(ConnectionCheck.name == check["name"]))
    assert row is not None
    assert row.claimed_by is None
    assert row.lease_expires_at is None
    assert row.log is not None
    assert "may create schemas" in row.log
    assert PG_PASSWORD not in row.log


async def test_postgres_closed_port(client: httpx.AsyncClient, account: AccountHandle, ctx: Context) -> None:
    created = await create(client, account, properties=postgres_properties(port="1"))
    message = _failed(await _run_check(client, ctx, account, created["id"]))
    assert message == unreachable("127.0.0.1:1")


async def test_a_check_is_no_port_scanner(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    """Issue 8, finding 4: a closed port, an open port that is not PostgreSQL and a name that
    does not resolve answered three different ways. They now read alike."""

    async def not_postgres(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")  # an open port that speaks something else
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(not_postgres, "127.0.0.1", 0)
    open_port = str(listener.sockets[0].getsockname()[1])
    try:
        cases = {
            "closed": postgres_properties(port="1"),
            "open, not PostgreSQL": postgres_properties(port=open_port),
            "no such name": postgres_properties(host="no-such-host.invalid"),
        }
        messages = {}
        for case, properties in cases.items():
            created = await create(client, account, name=case, properties=properties)
            message = _failed(await _run_check(client, ctx, account, created["id"]))
            messages[case] = message.replace(properties["host"], "HOST").replace(properties["port"], "PORT")
    finally:
        listener.close()
        await listener.wait_closed()
    assert set(messages.values()) == {unreachable("HOST:PORT")}, messages


async def test_postgres_missing_database(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    created = await create(client, account, properties=postgres_properties(database="lockstitch_no_such_db"))
    message = _failed(await _run_check(client, ctx, account, created["id"]))
    assert message == (  # the server's own answer helps, and tells nothing a scan could use
        "could not connect to PostgreSQL at 127.0.0.1:5432/lockstitch_no_such_db: "
        'database "lockstitch_no_such_db" does not exist'
    )


async def test_postgres_user_without_create(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    role = f"lockstitch_nocreate_{os.getpid()}"
    admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=10)
    try:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')  # PUBLIC has no CREATE on a database
        created = await create(client, account, properties=postgres_properties(username=role))
        message = _failed(await _run_check(client, ctx, account, created["id"]))
    finally:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
    assert message == (
        f"user {role} may not create schemas in database postgres "
        "(each source loads into its own schema: grant CREATE on the database)"
    )


async def test_local_destinations_writable(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    duck = await create(client, account, type="lockstitch.duckdb", properties={})
    assert (await _run_check(client, ctx, account, duck["id"]))["status"] == "succeeded"
    jsonl = await create(client, account, type="lockstitch.jsonl", properties={"path": "exports/json"})
    assert (await _run_check(client, ctx, account, jsonl["id"]))["status"] == "succeeded"
    folder = ctx.settings.account_warehouse(account.id)
    assert (folder / "exports" / "json").is_dir()
    assert not list((folder / "exports" / "json").iterdir())  # the probe's file is gone


async def test_local_destination_not_writable(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    folder = ctx.settings.account_warehouse(account.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blocker").write_text("a file where a folder should be")
    created = await create(
        client, account, type="lockstitch.duckdb", properties={"path": "blocker/dw.duckdb"}
    )
    message = _failed(await _run_check(client, ctx, account, created["id"]))
    assert message.startswith("cannot write to blocker/dw.duckdb: ")
    (folder / "folder.duckdb").mkdir()
    created = await create(client, account, type="lockstitch.duckdb", properties={"path": "folder.duckdb"})
    message = _failed(await _run_check(client, ctx, account, created["id"]))
    assert message == "cannot write to folder.duckdb: it exists and is not a file"


async def test_deleted_destination_check_fails(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    created = await create(client, account)
    await client.delete(f"/v4/destinations/{created['id']}", headers=account.headers)
    assert _failed(await _run_check(client, ctx, account, created["id"])) == "the destination was deleted"


async def test_lapsed_lease_is_taken_again(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    created = await create(client, account)
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        claimed = await CheckRepository(session).claim(
            "destination", "dead-worker", now, now + dt.timedelta(seconds=60), 1
        )
    assert claimed
    job = CheckDestinations()
    assert await job.run_once(ctx, "worker-2") is False  # its lease is still live
    async with ctx.db.unit_of_work() as session:
        await session.execute(
            update(ConnectionCheck)
            .where(ConnectionCheck.name == created["check_job_name"])
            .values(lease_expires_at=now - dt.timedelta(seconds=1))
        )
    assert await job.run_once(ctx, "worker-2") is True
    async with ctx.db.unit_of_work() as session:
        # The dead worker's late outcome is dropped: the lease is no longer its own.
        assert await CheckRepository(session).finish(claimed[0], "dead-worker", {"state": "failed"}) is False
    check = (
        await client.get(f"/v4/destinations/{created['id']}/last-connection-check", headers=account.headers)
    ).json()
    assert check["status"] == "succeeded"


async def test_probe_scrubs_secrets(ctx: Context, tmp_path: Path) -> None:
    destination_type = ctx.catalog.destination_type("postgres")
    assert destination_type is not None
    secret = "a-password-used-as-database"
    outcome = await probe(
        destination_type,
        {"host": "127.0.0.1", "port": "5432", "username": "postgres", "database": secret, "ssl": "false"},
        {"password": secret},
        Warehouse(tmp_path),
        ctx.outbound,
        5.0,
    )
    assert outcome.ok is False
    assert outcome.message is not None
    assert secret not in outcome.message
    assert "[redacted]" in outcome.message
    assert all(secret not in line for line in outcome.log)


async def test_probe_bad_port_and_unknown_protocol(ctx: Context, tmp_path: Path) -> None:
    destination_type = ctx.catalog.destination_type("postgres")
    assert destination_type is not None
    outcome = await probe(
        destination_type, {"host": "127.0.0.1", "port": "70000"}, {}, Warehouse(tmp_path), ctx.outbound, 5.0
    )
    assert outcome.message == "port 70000 is not a TCP port"


async def test_concurrent_claims_take_different_checks(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context, make_ctx: Any
) -> None:
    for name in ("A", "B", "C"):
        await create(client, account, name=name)
    other: Context = make_ctx()  # a second process's engines
    now = utcnow()

    async def claim(context: Context, worker: str) -> int | None:
        async with context.db.unit_of_work() as session:
            taken = await CheckRepository(session).claim(
                "destination", worker, now, now + dt.timedelta(seconds=60), 1
            )
        return taken[0] if taken else None

    first = await asyncio.gather(claim(ctx, "w1"), claim(other, "w2"))
    second = await asyncio.gather(claim(ctx, "w1"), claim(other, "w2"))
    taken = [i for i in (*first, *second) if i is not None]
    assert len(taken) == 3
    assert len(set(taken)) == 3
