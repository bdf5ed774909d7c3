"""Replication runs with real taps and targets: helpers to build a fully configured source and a
destination through the API, and to run the worker's extraction job until the queue is empty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from lockstitch.context import Context
from lockstitch.jobs.queue import enqueue_extraction
from lockstitch.kit.time import utcnow
from lockstitch.models import Extraction, Source
from lockstitch.runner.tasks import RunExtractions
from tests.conftest import POSTGRES_ADMIN, AccountHandle
from tests.discovery.conftest import _suffix, run_checks, source_mariadb, source_postgres

__all__ = ["source_mariadb", "source_postgres"]  # fixtures shared with the discovery tests


async def run_extractions(ctx: Context) -> None:
    """Run every queued extraction to its end, as the worker would."""
    job = RunExtractions()
    while await job.run_once(ctx, ctx.process_id) or job.busy:
        await job.wait()


async def sync_now(ctx: Context, source_id: int) -> Extraction:
    async with ctx.db.unit_of_work() as session:
        source = await session.get(Source, source_id)
        assert source is not None
        extraction, created = await enqueue_extraction(session, source, "manual", utcnow())
        assert created
    return extraction


async def latest(ctx: Context, source_id: int) -> Extraction:
    from sqlalchemy import select  # noqa: PLC0415

    async with ctx.db.read() as session:
        found = await session.scalar(
            select(Extraction)
            .where(Extraction.source_id == source_id)
            .order_by(Extraction.id.desc())
            .limit(1)
        )
    assert found is not None
    return found


async def api(client: httpx.AsyncClient, who: AccountHandle, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, path, headers=who.headers, json=body)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def configured_source(
    ctx: Context,
    client: httpx.AsyncClient,
    who: AccountHandle,
    body: dict[str, Any],
    selection: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """Create a source, run its check, select streams (tap_stream_id suffix -> metadata list)."""
    source = await api(client, who, "POST", "/v4/sources", body)
    await run_checks(ctx)
    check = await api(client, who, "GET", f"/v4/sources/{source['id']}/last-connection-check")
    assert check["status"] == "succeeded", check
    streams = await api(client, who, "GET", f"/v4/sources/{source['id']}/streams")
    chosen = []
    for suffix, metadata in selection.items():
        stream = next(s for s in streams if s["tap_stream_id"].endswith(suffix))
        chosen.append({"tap_stream_id": stream["tap_stream_id"], "metadata": metadata})
    await api(client, who, "PUT", f"/v4/sources/{source['id']}/streams/metadata", {"streams": chosen})
    source = await api(client, who, "GET", f"/v4/sources/{source['id']}")
    assert source["report_card"]["current_step_type"] == "fully_configured"
    return dict(source)


@pytest.fixture
async def target_postgres() -> AsyncIterator[str]:
    """An empty PostgreSQL database for the postgres destination."""
    name = f"lockstitch_dst_{_suffix()}"
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield name
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def query(database: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{database}")
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def postgres_destination(client: httpx.AsyncClient, who: AccountHandle, database: str) -> None:
    """The account's ``postgres`` destination: the machine's PostgreSQL, in ``database``."""
    properties = {
        "host": "127.0.0.1",
        "port": "5432",
        "username": "postgres",
        "password": "trust-ignores-it",
        "database": database,
        "ssl": "false",
    }
    await api(
        client,
        who,
        "POST",
        "/v4/destinations",
        {"type": "postgres", "name": "Warehouse", "properties": properties},
    )


def full_table() -> dict[str, Any]:
    """Stream-level metadata selecting a stream for FULL_TABLE replication."""
    return {"breadcrumb": [], "metadata": {"selected": True, "replication-method": "FULL_TABLE"}}


def incremental(key: str) -> dict[str, Any]:
    """Stream-level metadata selecting a stream for INCREMENTAL replication on ``key``."""
    return {
        "breadcrumb": [],
        "metadata": {"selected": True, "replication-method": "INCREMENTAL", "replication-key": key},
    }


def fields(*names: str) -> list[dict[str, Any]]:
    """Field-level metadata selecting each named field."""
    return [{"breadcrumb": ["properties", name], "metadata": {"selected": True}} for name in names]


async def run_to_success(ctx: Context, source_id: int) -> Extraction:
    """A manual sync run to its end by the worker; it must have succeeded, tap and target both 0."""
    await sync_now(ctx, source_id)
    await run_extractions(ctx)
    run = await latest(ctx, source_id)
    assert (run.state, run.tap_exit_status, run.target_exit_status) == ("succeeded", 0, 0), (
        run.tap_description,
        run.target_description,
    )
    return run
