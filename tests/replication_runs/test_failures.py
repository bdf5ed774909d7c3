"""Runs that go wrong, with the real hp-postgres tap and postgres target on the local PostgreSQL:

* the target fails (its database is gone): the extraction fails with the target's reason, each
  stream's load carries Stitch's ``error_state`` and no load time, and the source's confirmed
  state stays where the last good run left it;
* the tap fails (a selected table was dropped after discovery): the tap's reason is recorded;
* a partner stops a long run (``DELETE /v4/sources/{id}/sync``): the run ends ``cancelled`` with
  "Terminated", no tap or target process is left, and the next run resumes from the last
  confirmed state;
* the ``lockstitch worker`` running a long extraction is SIGKILLed: once its lease lapses the
  extraction is failed by another worker (never ``running`` forever), the orphaned plugin
  processes end by themselves, and the next run resumes from the last confirmed state.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from lockstitch.context import Context
from lockstitch.models import Extraction
from lockstitch.runner.tasks import RunExtractions
from tests.conftest import AccountHandle
from tests.discovery.conftest import _suffix
from tests.discovery.test_hp_postgres import pg_properties
from tests.e2e.processes import LOCKSTITCH
from tests.replication_runs.conftest import api, configured_source, latest, query, run_extractions, sync_now
from tests.replication_runs.helpers import (
    check_log,
    exit_line,
    extraction,
    kill_pids,
    loads_of,
    plugin_pids,
    saved_state,
    stop_sync,
    wait_until,
    worker_env,
)

pytestmark = pytest.mark.slow
SOURCE_PASSWORD = "trust-auth-ignores-this"  # pg_properties' password: must never reach a log
TARGET_PASSWORD = "target-password-never-logged"
LONG_RUN_ROWS = 300_000  # over a minute through tap-postgres | target-postgres here: stopped early


def _destination(database: str) -> dict[str, Any]:
    return {
        "type": "postgres",
        "name": "Warehouse",
        "properties": {
            "host": "127.0.0.1",
            "port": "5432",
            "username": "postgres",
            "password": TARGET_PASSWORD,
            "database": database,
            "ssl": "false",
        },
    }


ORDERS_INCREMENTAL = {
    "-orders": [
        {
            "breadcrumb": [],
            "metadata": {
                "selected": True,
                "replication-method": "INCREMENTAL",
                "replication-key": "updated_at",
            },
        }
    ],
    "-customers": [{"breadcrumb": [], "metadata": {"selected": True, "replication-method": "FULL_TABLE"}}],
}
EVENTS_INCREMENTAL = {
    "-events": [
        {
            "breadcrumb": [],
            "metadata": {"selected": True, "replication-method": "INCREMENTAL", "replication-key": "id"},
        },
        {"breadcrumb": ["properties", "body"], "metadata": {"selected": True}},
    ]
}


def _ok(run: Extraction) -> None:
    assert (run.state, run.tap_exit_status, run.target_exit_status) == ("succeeded", 0, 0), (
        run.tap_description,
        run.target_description,
    )


async def _run(ctx: Context, source_id: int) -> Extraction:
    await sync_now(ctx, source_id)
    await run_extractions(ctx)
    return await latest(ctx, source_id)


# -- (a) the target fails ------------------------------------------------------------------------


async def test_target_failure_keeps_the_confirmed_state(
    ctx: Context,
    client: httpx.AsyncClient,
    account: AccountHandle,
    source_postgres: str,
    target_postgres: str,
) -> None:
    destination = await api(client, account, "POST", "/v4/destinations", _destination(target_postgres))
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "platform.hp-postgres",
            "display_name": "Shop",
            "properties": pg_properties(source_postgres),
        },
        ORDERS_INCREMENTAL,
    )
    sid = source["id"]
    first = await _run(ctx, sid)
    _ok(first)
    confirmed = await saved_state(ctx, sid)
    assert confirmed is not None
    assert confirmed.job_name == first.job_name

    # The warehouse database goes away (here: the destination now names one that does not exist).
    missing = f"lockstitch_missing_{_suffix()}"
    body = _destination(missing)
    del body["type"]
    await api(client, account, "PUT", f"/v4/destinations/{destination['id']}", body)
    await query(
        source_postgres,
        "INSERT INTO orders (customer_id, amount, updated_at) VALUES (2, 5, now() + interval '1 day')",
    )
    failed = await _run(ctx, sid)
    assert failed.state == "failed"
    assert failed.target_exit_status not in (None, 0)
    assert failed.target_description is not None
    assert missing in failed.target_description, failed.target_description
    assert "does not exist" in failed.target_description, failed.target_description
    assert TARGET_PASSWORD not in failed.target_description

    # Nothing the target did not confirm is kept: the next run starts where the first left off.
    after = await saved_state(ctx, sid)
    assert after is not None
    assert (after.job_name, after.state) == (confirmed.job_name, confirmed.state)

    # Every stream the tap sent records for has a failed load, in Stitch's shape.
    assert failed.records, "the tap sent records before the target died"
    loads = await loads_of(ctx, sid)
    for stream in failed.records:
        load = loads[stream]
        assert load.job_name == failed.job_name
        assert load.last_batch_loaded_at is None
        assert load.error_state is not None
        notification = load.error_state["notification_data"]
        assert notification["status"] == "ERROR"
        assert notification["error"] == "LOADER_WAREHOUSE_ERROR"
        assert missing in notification["message"]
        chain = load.error_state["exception_chain"]
        assert chain
        assert {"class", "message", "chain_sequence_num", "action"} <= set(chain[0])
    # ... and so does the API's list of loads (spec 3.13).
    listed = await api(client, account, "GET", f"/v4/{account.id}/loads")
    by_stream = {row["stream_name"]: row for row in listed["data"]}
    for stream in failed.records:
        assert by_stream[stream]["last_batch_loaded_at"] is None
        assert set(by_stream[stream]["error_state"]) == {"notification_data", "exception_chain"}

    lines = await check_log(ctx, failed, secrets=[SOURCE_PASSWORD, TARGET_PASSWORD])
    assert exit_line(lines).endswith("Target failed.")
    assert exit_line(lines).startswith("Exit status is: Discovery succeeded.")


# -- (b) the tap fails ----------------------------------------------------------------------------


async def test_tap_failure_records_the_taps_reason(
    ctx: Context,
    client: httpx.AsyncClient,
    account: AccountHandle,
    source_postgres: str,
    target_postgres: str,
) -> None:
    await api(client, account, "POST", "/v4/destinations", _destination(target_postgres))
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "platform.hp-postgres",
            "display_name": "Shop",
            "properties": pg_properties(source_postgres),
        },
        {"-orders": ORDERS_INCREMENTAL["-orders"]},
    )
    sid = source["id"]
    await query(source_postgres, "DROP TABLE orders")  # after discovery: the catalog still has it

    failed = await _run(ctx, sid)
    assert failed.state == "failed"
    assert failed.tap_exit_status not in (None, 0)
    assert failed.tap_description is not None
    assert "orders" in failed.tap_description, failed.tap_description
    assert SOURCE_PASSWORD not in failed.tap_description
    assert failed.records == {"orders": 0}  # spec 9.13: the selected stream, with nothing loaded
    assert await saved_state(ctx, sid) is None
    assert await loads_of(ctx, sid) == {}
    lines = await check_log(ctx, failed, secrets=[SOURCE_PASSWORD, TARGET_PASSWORD])
    assert "Tap failed." in exit_line(lines)


# -- long runs: (c) stopped by the partner, (d) their worker killed ---------------------------------


async def _events_source(
    ctx: Context, client: httpx.AsyncClient, who: AccountHandle, source_db: str, target_db: str
) -> tuple[int, Extraction]:
    """A source with a small ``events`` table, INCREMENTAL on id, after its first good run
    (the confirmed bookmark is id 10); then LONG_RUN_ROWS more rows for the next run."""
    await query(source_db, "CREATE TABLE events (id bigint PRIMARY KEY, body text NOT NULL)")
    await query(source_db, "INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 10) g")
    await api(client, who, "POST", "/v4/destinations", _destination(target_db))
    source = await configured_source(
        ctx,
        client,
        who,
        {"type": "platform.hp-postgres", "display_name": "Events", "properties": pg_properties(source_db)},
        EVENTS_INCREMENTAL,
    )
    first = await _run(ctx, source["id"])
    _ok(first)
    assert first.records == {"events": 10}
    await query(
        source_db,
        f"INSERT INTO events SELECT g, md5(g::text) FROM generate_series(11, {10 + LONG_RUN_ROWS}) g",
    )
    return source["id"], first


async def _loaded(target_db: str) -> int:
    rows = await query(target_db, "SELECT count(*) AS n FROM events.events")
    return int(rows[0]["n"])


async def _resumes_from(
    ctx: Context, sid: int, source_db: str, target_db: str, confirmed: Extraction
) -> None:
    """The next run starts from the state ``confirmed`` left (bookmark id 10). To keep it short
    the rows past id 20 go first: a resumed run then reads ids 10..20 (the bookmark's row again,
    taps compare with >=), a run from scratch would read 1..20."""
    state = await saved_state(ctx, sid)
    assert state is not None
    assert state.job_name == confirmed.job_name  # nothing unconfirmed was kept
    await query(source_db, "DELETE FROM events WHERE id > 20")
    resumed = await _run(ctx, sid)
    _ok(resumed)
    assert resumed.records == {"events": 11}
    await check_log(ctx, resumed, secrets=[SOURCE_PASSWORD, TARGET_PASSWORD])
    ids = {r["id"] for r in await query(target_db, "SELECT id FROM events.events")}
    assert set(range(1, 21)) <= ids  # none skipped (rows of the stopped run may stay: at least once)
    assert (await saved_state(ctx, sid)).job_name == resumed.job_name  # type: ignore[union-attr]


def _plugin_processes(ctx: Context) -> list[int]:
    # This test's runs only: their config files live in its own home's workspaces.
    return plugin_pids(ctx.settings.home / "tmp" / "lockstitch-run-")


async def test_a_stopped_run_is_cancelled_and_the_next_resumes(
    ctx: Context,
    client: httpx.AsyncClient,
    account: AccountHandle,
    source_postgres: str,
    target_postgres: str,
) -> None:
    sid, first = await _events_source(ctx, client, account, source_postgres, target_postgres)
    await sync_now(ctx, sid)
    running = asyncio.create_task(run_extractions(ctx))
    try:
        # Stopped mid-run: the target has loaded a first batch of the new rows.
        await wait_until(lambda: _more_than(target_postgres, 10), within=60, what="the first batch")
        assert len(_plugin_processes(ctx)) >= 2  # tap and target
        await stop_sync(client, account, sid)
        await asyncio.wait_for(running, timeout=30)
    finally:
        running.cancel()
    stopped = await latest(ctx, sid)
    assert stopped.state == "cancelled"
    assert (stopped.tap_description, stopped.target_description) == ("Terminated", "Terminated")
    assert stopped.completion_time is not None
    assert sum(stopped.records.values()) < LONG_RUN_ROWS
    assert _plugin_processes(ctx) == []  # both process groups were killed
    lines = await check_log(ctx, stopped, secrets=[SOURCE_PASSWORD, TARGET_PASSWORD])
    assert exit_line(lines).startswith("Exit status is: ")
    loads = await loads_of(ctx, sid)
    assert loads["events"].job_name == first.job_name  # a stopped run records no load

    await _resumes_from(ctx, sid, source_postgres, target_postgres, first)


async def _more_than(target_db: str, count: int) -> bool:
    try:
        return await _loaded(target_db) > count
    except Exception:  # the table is created with the first batch
        return False


async def test_a_killed_worker_fails_its_extraction_and_the_next_run_resumes(
    ctx: Context,
    client: httpx.AsyncClient,
    account: AccountHandle,
    source_postgres: str,
    target_postgres: str,
    tmp_path: Path,
) -> None:
    sid, first = await _events_source(ctx, client, account, source_postgres, target_postgres)
    pending = await sync_now(ctx, sid)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log_file:  # the worker keeps its own copy of the handle
        worker = await asyncio.create_subprocess_exec(
            LOCKSTITCH,
            "worker",
            env=worker_env(ctx, tmp_path / "worker.toml", lease_seconds=3),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    orphans: list[int] = []
    try:

        async def claimed() -> bool:
            found = await extraction(ctx, pending.id)
            return found.state == "running" and found.claimed_by != ctx.process_id

        await wait_until(claimed, within=60, what="the worker to claim the extraction")
        await wait_until(lambda: _more_than(target_postgres, 10), within=60, what="the first batch")
        orphans = _plugin_processes(ctx)
        assert len(orphans) >= 2, log_path.read_text()[-3000:]
        worker.send_signal(signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), timeout=10)

        # Right after the kill the lease still holds: the extraction is running, not re-run.
        job = RunExtractions()
        assert not await job.run_once(ctx, ctx.process_id)
        assert (await extraction(ctx, pending.id)).state == "running"

        # The plugins were in their own process groups, so the kill did not reach them; with
        # their parent gone the tap's stdout and the target's stdin are closed pipes, and both
        # end by themselves within seconds (observed: the tap on a broken pipe, the target at EOF).
        await wait_until(
            lambda: _async(not _plugin_processes(ctx)), within=30, what="the orphaned plugins to end"
        )

        async def lapsed() -> bool:
            await job.run_once(ctx, ctx.process_id)
            return (await extraction(ctx, pending.id)).state != "running"

        await wait_until(lapsed, within=15, interval=0.5, what="the lease to lapse")
    finally:
        if worker.returncode is None:
            worker.kill()
            await asyncio.wait_for(worker.wait(), timeout=10)
        kill_pids(_plugin_processes(ctx))
    killed = await extraction(ctx, pending.id)
    assert killed.state == "failed"
    assert killed.completion_time is not None
    assert killed.lease_expires_at is None
    assert killed.tap_description is not None
    assert "lease lapsed" in killed.tap_description
    # The partner sees it as the source's last completed extraction.
    listed = await api(client, account, "GET", f"/v4/{account.id}/extractions")
    assert [e["job_name"] for e in listed["data"] if e["source_id"] == sid] == [killed.job_name]
    # Its log says what happened (the worker's own lines died with it), in the usual format.
    lines = await check_log(ctx, killed, secrets=[SOURCE_PASSWORD, TARGET_PASSWORD])
    assert "lease lapsed" in lines[0]
    assert (
        exit_line(lines) == "Exit status is: Discovery succeeded. Tap was terminated. Target was terminated."
    )
    # The killed worker's workspace (configs with both passwords) is swept by the next worker.
    assert not list((ctx.settings.home / "tmp").glob("lockstitch-run-*"))

    await _resumes_from(ctx, sid, source_postgres, target_postgres, first)


async def _async(value: bool) -> bool:
    return value
