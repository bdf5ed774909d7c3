"""Replication rules: starting and stopping a source's job, listing extractions and loads, logs.

Services take a session from the caller's unit of work and never commit; every check happens
before the first write.

Decisions where Stitch is silent:
* a source can be synced once its report card is ``fully_configured`` (what a job needs: a
  connection that checked out and a selection); anything earlier answers the documented-but-
  commented-out ``generic`` error with the reason. A paused source syncs (Stitch documents
  that); so does a system-paused one: the run records why it fails, which the partner can read;
* stopping a job works on a deleted source too (stopping is always safe); with nothing to stop
  it still answers ``{"status": 200}``. A pending job is cancelled at once (and gets a short log,
  so the log link of every listed extraction works); a running one is flagged for its worker,
  which kills the process group and records the outcome;
* a ``stitch_client_id`` in the path that is not the token's account is a 401 in the jobs shape
  (spec 2.8 "has no access to that client ID"); a log that is not written yet (the job has not
  completed) is a 404, like an unknown job: there is nothing to redirect to yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts.auth import Principal
from lockstitch.context import Context
from lockstitch.jobs import joblog
from lockstitch.jobs.extractions_repository import ExtractionRepository, LoadRepository
from lockstitch.jobs.queue import enqueue_extraction
from lockstitch.kit.ids import parse_id
from lockstitch.models import Extraction, ExtractionLog, ExtractionState
from lockstitch.replication import errors, log_urls
from lockstitch.replication.views import PAGE_SIZE, Page, extraction_json, load_json, page_json
from lockstitch.sources.repository import SourceRepository, SourceRow
from lockstitch.sources.views import report_card

# Extractions and loads older than this are not listed (spec 2.8).
LISTED_DAYS = 60
Row = TypeVar("Row")
TERMINATED = "Terminated"
MAX_JOB_NAME = 200  # the column's length
# Page numbers this long are no real client's; refusing them keeps the offset far from the
# database's integer limits (a page past the end is still answered: empty, with links).
_MAX_PAGE_DIGITS = 9


def _parse_page(raw: str | None) -> int:
    if raw is None:
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_PAGE_DIGITS or int(raw) < 1:
        raise errors.invalid_page(raw)
    return int(raw)


def _check_client(who: Principal, raw_client_id: str) -> None:
    # Only the canonical spelling of the token's own account id ("0116078" is not "116078").
    if raw_client_id != str(who.account_id):
        raise errors.client_not_allowed(raw_client_id)


async def _find_source(session: AsyncSession, who: Principal, raw_source_id: str) -> SourceRow:
    """The account's source (deleted ones too) and its report-card facts."""
    source_id = parse_id(raw_source_id)
    found = await SourceRepository(session).get(who.account_id, source_id) if source_id else None
    if found is None:
        raise errors.invalid_source(raw_source_id, who.account_id)
    return found


async def start_sync(
    session: AsyncSession, ctx: Context, who: Principal, raw_source_id: str, now: dt.datetime
) -> dict[str, Any]:
    """``POST /v4/sources/{id}/sync``: queue a manual extraction -> ``{"job_name": ...}``."""
    found = await _find_source(session, who, raw_source_id)
    source = found.source
    if source.deleted_at is not None:
        raise errors.source_deleted()
    source_type = ctx.catalog.source_type(source.type)
    if source_type is None:
        raise errors.cannot_run(who.account_id, source.id, "its source type is no longer in the catalogue")
    card = report_card(source, source_type, found.check_state, found.oauth_provides)
    if card["current_step_type"] != "fully_configured":
        raise errors.cannot_run(who.account_id, source.id, "the source is not fully configured")
    tap = source_type.definition.tap
    if tap is None:
        raise errors.cannot_run(who.account_id, source.id, "its source type names no tap")

    extraction, created = await enqueue_extraction(session, source, "manual", now)
    if not created:
        raise errors.already_running(who.account_id, source.id)
    # The wire's source_type is the tap's name (spec 9.2); known now, so a job stopped before a
    # worker picks it up still says which tap it was for.
    extraction.source_type = tap.executable
    await session.flush()
    return {"job_name": extraction.job_name}


async def stop_sync(
    session: AsyncSession, who: Principal, raw_source_id: str, now: dt.datetime
) -> dict[str, Any]:
    """``DELETE /v4/sources/{id}/sync``: stop the source's pending or running job, if any."""
    found = await _find_source(session, who, raw_source_id)
    repo = ExtractionRepository(session)
    extraction = await repo.active_for_update(found.source.id)
    if extraction is None:
        return {"status": 200}
    if extraction.state == ExtractionState.PENDING:
        _cancel_pending(repo, extraction, now)
    elif extraction.cancel_requested_at is None:
        extraction.cancel_requested_at = now
    await repo.flush()
    return {"status": 200}


def _cancel_pending(repo: ExtractionRepository, extraction: Extraction, now: dt.datetime) -> None:
    extraction.state = ExtractionState.CANCELLED
    extraction.cancel_requested_at = now
    extraction.completion_time = now
    extraction.tap_description = TERMINATED
    extraction.target_description = TERMINATED
    repo.add_log(ExtractionLog(extraction_id=extraction.id, content=cancelled_log(extraction)))


def cancelled_log(extraction: Extraction) -> str:
    """The log of a job stopped before it started, in the line format of spec 9.13 (the
    runner's own wording, from ``jobs.joblog``)."""
    return joblog.stopped_before_start(extraction.job_name)


async def list_extractions(
    session: AsyncSession, who: Principal, raw_client_id: str, raw_page: str | None, now: dt.datetime
) -> dict[str, Any]:
    """``GET /v4/{client}/extractions``: per source, its last extraction completed in 60 days."""
    repo = ExtractionRepository(session)
    count, rows = repo.count_latest_completed, repo.latest_completed
    return await _listed(who, raw_client_id, raw_page, now, "extractions", count, rows, extraction_json)


async def list_loads(
    session: AsyncSession, who: Principal, raw_client_id: str, raw_page: str | None, now: dt.datetime
) -> dict[str, Any]:
    """``GET /v4/{client}/loads``: the last load attempt of every stream, 60 days back."""
    loads = LoadRepository(session)
    return await _listed(who, raw_client_id, raw_page, now, "loads", loads.count, loads.page, load_json)


async def _listed(
    who: Principal,
    raw_client_id: str,
    raw_page: str | None,
    now: dt.datetime,
    collection: str,
    count: Callable[[int, dt.datetime], Awaitable[int]],
    rows: Callable[[int, dt.datetime, int, int], Awaitable[Sequence[Row]]],
    render: Callable[[Row], dict[str, Any]],
) -> dict[str, Any]:
    """One page of an account's ``collection`` of the last ``LISTED_DAYS`` days (spec 5): the
    client id checked against the token, the page number parsed, then counted and read."""
    _check_client(who, raw_client_id)
    number = _parse_page(raw_page)
    since = now - dt.timedelta(days=LISTED_DAYS)
    page = Page(number, await count(who.account_id, since))
    found = await rows(who.account_id, since, page.offset, PAGE_SIZE)
    return page_json(f"/v4/{who.account_id}/{collection}", page, [render(row) for row in found])


async def log_location(
    session: AsyncSession, ctx: Context, who: Principal, raw_client_id: str, job_name: str, now: dt.datetime
) -> str:
    """``GET /v4/{client}/extractions/{job_name}``: where to read the job's log (a signed URL)."""
    _check_client(who, raw_client_id)
    plausible = len(job_name) <= MAX_JOB_NAME and "\x00" not in job_name  # PostgreSQL refuses NUL
    found = await ExtractionRepository(session).job_with_log(who.account_id, job_name) if plausible else None
    if found is None:
        raise errors.job_not_found(job_name)
    extraction, has_log = found
    if not has_log:
        raise errors.log_not_written(extraction.job_name)
    return log_urls.signed_url(ctx.settings.base_url, ctx.keyring, extraction.job_name, int(now.timestamp()))


async def read_log(
    session: AsyncSession,
    ctx: Context,
    job_name: str,
    expires: str | None,
    signature: str | None,
    now: dt.datetime,
) -> str | None:
    """``GET /logs/{job_name}``: the log, if the URL's signature holds (else
    ``log_urls.LinkRejectedError``); None when the job is gone since the URL was signed."""
    log_urls.verify(ctx.keyring, job_name, expires, signature, int(now.timestamp()))
    return await ExtractionRepository(session).log_content(job_name)
