"""Sources ready to replicate (without running a tap), and rows the runner would have written."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import ConnectionCheck, Extraction, ExtractionLog, Load, Source, Stream
from tests.conftest import AccountHandle
from tests.helpers import hp_postgres_properties


async def configured_source(
    client: httpx.AsyncClient, ctx: Context, who: AccountHandle, name: str, *, fully: bool = True
) -> int:
    """A platform.hp-postgres source created through the API, then given what a successful
    check, discovery and selection would have left (``fully``), as the streams tests do."""
    body = {"type": "platform.hp-postgres", "display_name": name, "properties": hp_postgres_properties()}
    response = await client.post("/v4/sources", headers=who.headers, json=body)
    assert response.status_code == 200, response.text
    source_id = int(response.json()["id"])
    if not fully:
        return source_id
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        source = await session.get(Source, source_id)
        assert source is not None
        check_name = f"{who.id}.{source_id}.check.succeeded"
        session.add(
            ConnectionCheck(
                account_id=who.id,
                source_id=source_id,
                name=check_name,
                state="succeeded",
                created_at=now,
                start_time=now,
                completion_time=now,
                check_exit_status=0,
                discovery_exit_status=0,
            )
        )
        session.add(
            Stream(
                account_id=who.id,
                source_id=source_id,
                tap_stream_id="public-customers",
                stream_name="customers",
                schema={"type": "object", "properties": {"id": {"type": "integer"}}},
                discovered_metadata=[
                    {"breadcrumb": [], "metadata": {"table-key-properties": ["id"]}},
                    {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                ],
                chosen_metadata={"[]": {"selected": True}},
                catalog_entry={},
                selected=True,
                created_at=now,
                updated_at=now,
            )
        )
        source.check_job_name = check_name
        source.selection_complete = True
        source.fully_configured_at = now
    return source_id


MakeSource = Callable[..., Awaitable[int]]


@pytest.fixture
def make_source(client: httpx.AsyncClient, ctx: Context) -> MakeSource:
    counter = iter(range(1, 10_000))

    async def make(who: AccountHandle, *, fully: bool = True) -> int:
        return await configured_source(client, ctx, who, f"Warehouse {next(counter)}", fully=fully)

    return make


async def insert_sources(ctx: Context, who: AccountHandle, count: int, **values: Any) -> list[int]:
    """``count`` bare source rows (no report-card facts): enough to hang extractions and loads on."""
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        sources = [
            Source(
                account_id=who.id,
                type="platform.hp-postgres",
                name=f"bulk_{n}",
                display_name=f"Bulk {n}",
                properties={},
                credentials={},
                created_at=now,
                updated_at=now,
                **values,
            )
            for n in range(count)
        ]
        session.add_all(sources)
        await session.flush()
        return [source.id for source in sources]


def extraction(
    who: AccountHandle, source_id: int, state: str, completed: dt.datetime | None, **values: Any
) -> Extraction:
    """An extraction row as the runner leaves it (a successful run unless ``values`` say otherwise)."""
    started = (completed or utcnow()) - dt.timedelta(seconds=5)
    row: dict[str, Any] = {
        "account_id": who.id,
        "source_id": source_id,
        "job_name": f"{who.id}.{source_id}.sync.{uuid.uuid4()}",
        "trigger": "schedule",
        "state": state,
        "created_at": started,
        "start_time": started,
        "completion_time": completed,
        "source_type": "tap-postgres",
        "discovery_exit_status": 0,
        "tap_exit_status": 0 if completed else None,
        "target_exit_status": 0 if completed else None,
        "records": {},
    }
    row.update(values)
    return Extraction(**row)


async def add_rows(ctx: Context, *rows: Any) -> None:
    async with ctx.db.unit_of_work() as session:
        session.add_all(rows)


async def add_log(ctx: Context, job: Extraction, content: str) -> None:
    async with ctx.db.unit_of_work() as session:
        session.add(ExtractionLog(extraction_id=job.id, content=content))


def load(who: AccountHandle, source_id: int, source_name: str, stream_name: str, **values: Any) -> Load:
    now = utcnow()
    row: dict[str, Any] = {
        "account_id": who.id,
        "source_id": source_id,
        "source_name": source_name,
        "stream_name": stream_name,
        "last_batch_loaded_at": now,
        "error_state": None,
        "job_name": f"{who.id}.{source_id}.sync.x",
        "updated_at": now,
    }
    row.update(values)
    return Load(**row)
