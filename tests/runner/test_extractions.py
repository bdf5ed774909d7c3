"""What ``runner.extractions`` promises about one run, checked without running a tap.

* A run that cannot start (a type that names no tap, no destination) is recorded on the
  extraction's row as failed, with the failing step's exit status 1, the other steps null, the
  reason in that step's description, and a log that starts and ends as Stitch's do.
* The outcome of a pipe (``ExtractionRun._outcome``): a record line and a count for every
  selected stream, 0 included; message stream names mapped to the streams' names; succeeded
  only when tap and target exited 0 in time; the reason of a failure in the failing step's
  description; a cancelled run reads "Terminated"; the state is kept only when it changed.

Through the fixtures of ``tests/conftest.py`` (the database tests run on both backends, like the
rest of the suite; ``-k "not postgres"`` keeps them on SQLite).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from lockstitch.context import Context
from lockstitch.jobs.extractions_repository import ExtractionRepository
from lockstitch.jobs.queue import enqueue_extraction
from lockstitch.kit.time import utcnow
from lockstitch.models import Extraction, ExtractionLog, ExtractionState, Load, Source
from lockstitch.runner.extractions import TERMINATED, ExtractionRun, _failed, _message_stream
from lockstitch.runner.pipeline import PipeResult
from lockstitch.runner.plugins import Plugins
from tests.conftest import AccountHandle, MakeContext

WORKER = "test-worker"


async def _claimed_extraction(ctx: Context, account: AccountHandle, source_type: str) -> Extraction:
    """A source of ``source_type`` (no destination) with one extraction this worker holds."""
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        source = Source(
            account_id=account.id,
            type=source_type,
            name="unit_source",
            display_name="Unit source",
            properties={},
            credentials={},
            created_at=now,
            updated_at=now,
        )
        session.add(source)
        await session.flush()
        extraction, created = await enqueue_extraction(session, source, "manual", now)
        assert created
    async with ctx.db.unit_of_work() as session:
        taken = await ExtractionRepository(session).claim(WORKER, now, now + dt.timedelta(minutes=5), 1)
    assert taken == [extraction.id]
    async with ctx.db.read() as session:
        found = await session.get(Extraction, extraction.id)
    assert found is not None
    return found


async def _recorded(ctx: Context, extraction_id: int) -> tuple[Extraction, str, int]:
    async with ctx.db.read() as session:
        row = await session.get(Extraction, extraction_id)
        log = await session.scalar(
            select(ExtractionLog.content).where(ExtractionLog.extraction_id == extraction_id)
        )
        loads = len(list(await session.scalars(select(Load))))
    assert row is not None
    assert log is not None
    return row, log, loads


def _run(ctx: Context, extraction: Extraction | None = None) -> ExtractionRun:
    return ExtractionRun(
        ctx, WORKER, extraction or Extraction(job_name="1.2.job"), Plugins.from_settings(ctx.settings)
    )


async def test_a_type_without_a_tap_fails_on_the_tap_step(ctx: Context, account: AccountHandle) -> None:
    """The tap step gets status 1 and the reason; target and discovery never ran (null)."""
    extraction = await _claimed_extraction(ctx, account, "lockstitch.test-no-tap")
    outcome = await _run(ctx, extraction).run()
    assert outcome.state == ExtractionState.FAILED
    row, log, loads = await _recorded(ctx, extraction.id)
    assert row.state == "failed"
    assert row.completion_time is not None
    assert (row.discovery_exit_status, row.tap_exit_status, row.target_exit_status) == (None, 1, None)
    assert row.tap_description == "source type lockstitch.test-no-tap names no tap in the catalogue"
    assert row.target_description is None
    assert row.claimed_by is None  # the lease is released with the outcome
    assert f"Starting extraction {extraction.job_name}" in log.splitlines()[0]
    assert "Exit status is: " in log.splitlines()[-1]
    assert loads == 0


async def test_no_destination_fails_on_the_target_step(ctx: Context, account: AccountHandle) -> None:
    """A runnable type but no destination: the target step fails, the tap is never started."""
    extraction = await _claimed_extraction(ctx, account, "lockstitch.local-files")
    await _run(ctx, extraction).run()
    row, _, loads = await _recorded(ctx, extraction.id)
    assert row.state == "failed"
    assert (row.tap_exit_status, row.target_exit_status) == (None, 1)
    assert row.target_description == "no destination: create one with POST /v4/destinations"
    assert row.source_type is None  # set only once the plugins are ready
    assert loads == 0


class _Stream:
    def __init__(self, tap_stream_id: str, stream_name: str, catalog_stream: str | None = None) -> None:
        self.tap_stream_id = tap_stream_id
        self.stream_name = stream_name
        self.catalog_entry: dict[str, Any] | None = {"stream": catalog_stream} if catalog_stream else None


def _pipe(**overrides: Any) -> PipeResult:
    values: dict[str, Any] = {
        "tap_exit": 0,
        "target_exit": 0,
        "records": {},
        "last_state": None,
        "tap_tail": [],
        "target_tail": [],
    }
    values.update(overrides)
    return PipeResult(**values)


async def test_every_selected_stream_gets_a_count_and_names_are_mapped(ctx: Context) -> None:
    """Silent selected streams count 0; a tap's message name is counted under the stream's name."""
    run = _run(ctx)
    names = {"public-orders": "orders", "orders": "orders", "users": "users"}
    outcome = run._outcome(_pipe(records={"public-orders": 3}), names, ["orders", "users"], None)
    assert outcome.records == {"orders": 3, "users": 0}
    assert outcome.state == ExtractionState.SUCCEEDED
    assert (outcome.discovery_exit_status, outcome.tap_exit_status, outcome.target_exit_status) == (0, 0, 0)
    lines = run.log.text()
    assert 'replicated 3 records from "orders" endpoint' in lines
    assert 'replicated 0 records from "users" endpoint' in lines


async def test_state_is_kept_only_when_it_changed(ctx: Context) -> None:
    """``new_state`` is the target's last STATE when it differs from the one the run started with."""
    run = _run(ctx)
    same = run._outcome(_pipe(last_state={"bookmark": 1}), {}, [], {"bookmark": 1})
    moved = run._outcome(_pipe(last_state={"bookmark": 2}), {}, [], {"bookmark": 1})
    assert same.new_state is None
    assert moved.new_state == {"bookmark": 2}


@pytest.mark.parametrize(
    ("pipe", "tap_description", "target_description"),
    [
        ({"tap_exit": 2}, "the tap exited with 2", None),
        ({"target_exit": 3}, None, "the target exited with 3"),
        (
            {"tap_exit": 1, "tap_stopped_for_target": True, "target_exit": 1},
            "stopped: the target exited before taking all records",
            "the target exited with 1",
        ),
        ({"timed_out": True}, "the run did not finish within 120 seconds", None),
    ],
)
async def test_a_failure_names_the_failing_step(
    make_ctx: MakeContext, pipe: dict[str, Any], tap_description: str | None, target_description: str | None
) -> None:
    """Any non-zero exit or a timeout fails the run, with the reason on the step that failed."""
    ctx = make_ctx(runner={"extraction_timeout_seconds": 120})
    outcome = _run(ctx)._outcome(_pipe(**pipe), {}, [], None)
    assert outcome.state == ExtractionState.FAILED
    assert outcome.tap_description == tap_description
    assert outcome.target_description == target_description


async def test_a_cancelled_run_reads_terminated(ctx: Context) -> None:
    """A stopped run is cancelled, both steps described as Stitch's "Terminated"."""
    outcome = _run(ctx)._outcome(_pipe(cancelled=True, tap_exit=-15, target_exit=0), {}, [], None)
    assert outcome.state == ExtractionState.CANCELLED
    assert outcome.tap_description == outcome.target_description == TERMINATED
    assert (outcome.tap_exit_status, outcome.target_exit_status) == (-15, 0)


def test_failed_marks_only_the_step_that_failed() -> None:
    """A run that could not start: status 1 on the described step, null on the others."""
    outcome = _failed(target_description="no target")
    assert outcome.state == ExtractionState.FAILED
    assert (outcome.tap_exit_status, outcome.target_exit_status) == (None, 1)
    assert outcome.records == {}


def test_message_stream_prefers_the_catalog_name() -> None:
    """Taps name streams by the catalog's ``stream`` when it has one, else by tap_stream_id."""
    assert _message_stream(_Stream("public-orders", "orders", "public-orders-x")) == "public-orders-x"
    assert _message_stream(_Stream("users", "users")) == "users"
