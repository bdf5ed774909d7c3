"""Starting and stopping replication jobs through the API (both databases): Stitch's bodies
byte for byte, one active job per source under concurrency, and what a stop leaves behind."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from sqlalchemy import func, select

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import Extraction, ExtractionLog, Source
from tests.conftest import AccountHandle, MakeAccount
from tests.replication.conftest import MakeSource, add_rows, extraction
from tests.stitch_docs import doc_example

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _sync(source_id: object) -> str:
    return f"/v4/sources/{source_id}/sync"


def _assert_job_error(
    response: httpx.Response, status: int, error_type: str, message: str | None = None
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"], body
    assert set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == error_type, body
    if message is not None:
        assert body["error"]["message"] == message


def _running_body(who: AccountHandle, source_id: int) -> dict[str, Any]:
    message = (
        f"Did not create job for client-id: {who.id}; connection-id: {source_id} because one already exists"
    )
    return {"error": {"type": "already_running", "message": message}}


async def _extractions(ctx: Context, source_id: int) -> list[Extraction]:
    async with ctx.db.read() as session:
        query = select(Extraction).where(Extraction.source_id == source_id).order_by(Extraction.id)
        return list(await session.scalars(query))


async def test_sync_answers_a_job_name(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    response = await client.post(_sync(source_id), headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == set(doc_example("replication-jobs/replication-job-object"))
    assert re.fullmatch(rf"{account.id}\.{source_id}\.sync\.{UUID}", body["job_name"])
    [job] = await _extractions(ctx, source_id)
    assert (job.job_name, job.state, job.trigger) == (body["job_name"], "pending", "manual")
    assert job.source_type == "tap-postgres"  # the tap's name (spec 9.2)


async def test_second_sync_is_already_running_with_200(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    assert (await client.post(_sync(source_id), headers=account.headers)).status_code == 200
    again = await client.post(_sync(source_id), headers=account.headers)
    assert again.status_code == 200
    assert again.headers["content-type"] == "application/json"
    assert again.json() == _running_body(account, source_id)

    # Still so once a worker runs it.
    async with ctx.db.unit_of_work() as session:
        job = await session.scalar(select(Extraction).where(Extraction.source_id == source_id))
        assert job is not None
        job.state, job.start_time = "running", utcnow()
    running = await client.post(_sync(source_id), headers=account.headers)
    assert running.status_code == 200
    assert running.json() == _running_body(account, source_id)
    assert len(await _extractions(ctx, source_id)) == 1


async def test_concurrent_syncs_create_exactly_one_job(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    for _ in range(2):  # the second round races while one job is already pending
        responses = await asyncio.gather(
            *(client.post(_sync(source_id), headers=account.headers) for _ in range(4))
        )
        assert all(r.status_code == 200 for r in responses)
        bodies = [r.json() for r in responses]
        created = [b for b in bodies if "job_name" in b]
        assert len(created) <= 1
        assert [b for b in bodies if "error" in b] == [_running_body(account, source_id)] * (4 - len(created))
    jobs = await _extractions(ctx, source_id)
    assert len(jobs) == 1
    assert jobs[0].state == "pending"


async def test_invalid_source_bodies(
    client: httpx.AsyncClient, ctx: Context, make_account: MakeAccount, make_source: MakeSource
) -> None:
    mine, other = await make_account(), await make_account()
    theirs = await make_source(other)
    for raw in ("999999", "abc", "0", "-1", "99999999999999999999999", "1.5", "%C3%A9"):
        for method in ("POST", "DELETE"):
            response = await client.request(method, _sync(raw), headers=mine.headers)
            shown = "é" if raw == "%C3%A9" else raw
            _assert_job_error(
                response, 400, "invalid_source", f"Unable to locate source({shown}) for client ({mine.id})"
            )
    # Another account's source is unknown here, and nothing was queued for it.
    for method in ("POST", "DELETE"):
        response = await client.request(method, _sync(theirs), headers=mine.headers)
        _assert_job_error(
            response, 400, "invalid_source", f"Unable to locate source({theirs}) for client ({mine.id})"
        )
    assert await _extractions(ctx, theirs) == []
    long_id = "9" * 300
    response = await client.post(_sync(long_id), headers=mine.headers)
    _assert_job_error(response, 400, "invalid_source")
    assert len(response.json()["error"]["message"]) < 120  # the echo is cut short


async def test_deleted_source_is_integration_deleted(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    assert (await client.delete(f"/v4/sources/{source_id}", headers=account.headers)).status_code == 200
    response = await client.post(_sync(source_id), headers=account.headers)
    _assert_job_error(response, 400, "invalid_source", "Integration is deleted.")
    assert await _extractions(ctx, source_id) == []
    # Stopping is always safe, even on a deleted source.
    stop = await client.delete(_sync(source_id), headers=account.headers)
    assert (stop.status_code, stop.json()) == (200, {"status": 200})


async def test_source_not_fully_configured_cannot_sync(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account, fully=False)  # waiting for its connection check
    card = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()["report_card"]
    assert card["current_step_type"] == "discover_schema"
    response = await client.post(_sync(source_id), headers=account.headers)
    _assert_job_error(
        response,
        400,
        "generic",
        f"Could not create job for client-id: {account.id}; connection-id: {source_id}: "
        "the source is not fully configured",
    )
    assert await _extractions(ctx, source_id) == []


async def test_paused_source_syncs_manually(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    paused = await client.put(
        f"/v4/sources/{source_id}", headers=account.headers, json={"paused_at": "2020-01-01T00:00:00Z"}
    )
    assert paused.status_code == 200, paused.text
    response = await client.post(_sync(source_id), headers=account.headers)
    assert response.status_code == 200, response.text
    assert "job_name" in response.json()


async def test_stop_cancels_a_pending_job_at_once(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    job_name = (await client.post(_sync(source_id), headers=account.headers)).json()["job_name"]
    before = utcnow().replace(microsecond=0)
    response = await client.delete(_sync(source_id), headers=account.headers)
    assert (response.status_code, response.json()) == (200, {"status": 200})
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == set(doc_example("replication-jobs/stop-replication-job"))
    [job] = await _extractions(ctx, source_id)
    assert job.job_name == job_name
    assert job.state == "cancelled"
    assert job.completion_time is not None
    assert job.completion_time >= before
    assert (job.tap_description, job.target_description) == ("Terminated", "Terminated")
    async with ctx.db.read() as session:
        log = await session.get(ExtractionLog, job.id)
    assert log is not None
    assert log.content.endswith("\n")
    assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}Z main - INFO ", log.content)
    # No longer active: a new sync queues a new job.
    again = await client.post(_sync(source_id), headers=account.headers)
    assert again.status_code == 200
    assert again.json()["job_name"] != job_name
    assert len(await _extractions(ctx, source_id)) == 2


async def test_stop_flags_a_running_job_for_its_worker(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    job = extraction(account, source_id, "running", None, claimed_by="worker-1")
    await add_rows(ctx, job)
    response = await client.delete(_sync(source_id), headers=account.headers)
    assert (response.status_code, response.json()) == (200, {"status": 200})
    [stopped] = await _extractions(ctx, source_id)
    assert stopped.state == "running"  # the worker ends it
    assert stopped.cancel_requested_at is not None
    first = stopped.cancel_requested_at
    # Asking again keeps the first request's time.
    await client.delete(_sync(source_id), headers=account.headers)
    [still] = await _extractions(ctx, source_id)
    assert still.cancel_requested_at == first


async def test_stop_without_a_job_is_still_200(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    done = extraction(account, source_id, "succeeded", utcnow())
    await add_rows(ctx, done)
    response = await client.delete(_sync(source_id), headers=account.headers)
    assert (response.status_code, response.json()) == (200, {"status": 200})
    [job] = await _extractions(ctx, source_id)
    assert (job.state, job.cancel_requested_at) == ("succeeded", None)


async def test_auth_and_method_errors_use_the_jobs_shape(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    for method in ("POST", "DELETE"):
        _assert_job_error(await client.request(method, _sync(source_id)), 401, "unauthorized")
        _assert_job_error(
            await client.request(method, _sync(source_id), headers={"Authorization": "Bearer ac_nope"}),
            401,
            "unauthorized",
        )
    for method in ("GET", "PUT", "PATCH"):
        _assert_job_error(
            await client.request(method, _sync(source_id), headers=account.headers), 404, "notfound"
        )
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Extraction)) == 0
        source = await session.get(Source, source_id)
    assert source is not None
    assert source.deleted_at is None
