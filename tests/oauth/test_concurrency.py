"""200 credentials, 25 concurrent refresh triggers each, in two worker processes: no refresh token
is ever sent twice (the provider, which detects reuse, sees none), every request the provider
answered is a refresh Lockstitch stored, and all 200 end valid. Then the same for the workers' own
loop (`lockstitch worker` x 2 sharing the due credentials).

The provider's access tokens live 10 s, so on a busy machine a credential may come due again
while the triggers are still running, and be refreshed again, legitimately: the verdicts count
requests against stored refreshes, never against a number that depends on speed."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth.lifecycle import TokenEngine
from tests.e2e.processes import LOCKSTITCH
from tests.oauth.conftest import Partner, managed_sources, process_env, provider_stats
from tests.oauth_server.harness import OidcProvider

pytestmark = pytest.mark.slow
CREDENTIALS = 200
TRIGGERS = 25


async def _states(ctx: Context) -> list[str]:
    engine = TokenEngine(ctx, "observer")
    async with ctx.db.read() as session:
        credentials = list(await session.scalars(select(OAuthCredential)))
    return [engine.visible_status(c, {}) for c in credentials]


async def test_two_processes_25_triggers_each(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner, tmp_path: Path
) -> None:
    await managed_sources(partner, oidc, CREDENTIALS)
    await _set_due(oauth_ctx, utcnow())
    oidc.reset()
    before = await _generations(oauth_ctx)
    # Triggers name credentials, not sources: their ids differ (an upsert can use up a sequence value).
    ids = list(await _versions(oauth_ctx))
    assert len(ids) == CREDENTIALS
    (tmp_path / "ids").write_text("\n".join(map(str, ids)))
    env = process_env(oauth_ctx, tmp_path / "lockstitch.toml")
    # 25 triggers per credential in all: 13 in one process, 12 in the other, all at once.
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.oauth.trigger_refreshes",
            str(tmp_path / "ids"),
            str(n),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in (13, 12)
    ]
    results = [await p.communicate() for p in processes]
    outcomes: dict[str, int] = {}
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err.decode()[-3000:]
        for key, value in json.loads(out.decode().strip().splitlines()[-1]).items():
            outcomes[key] = outcomes.get(key, 0) + value

    # On a loaded machine a request may fail before it reaches the provider (connect timeout):
    # such a credential backs off. Let a worker finish those; the provider must still have
    # seen exactly one refresh per credential, and no reuse.
    failures = [line for _, err in results for line in err.decode().splitlines() if "refresh failed" in line]
    assert all(
        any(kind in line for kind in ("connection_failed", "http_error", "no_response")) for line in failures
    ), failures[:5]
    engine = TokenEngine(oauth_ctx, "finisher")
    deadline = time.monotonic() + 600  # generous: the condition decides
    while await _states(oauth_ctx) != ["valid"] * CREDENTIALS:
        assert time.monotonic() < deadline, collections.Counter(await _states(oauth_ctx))
        await engine.refresh_due()
        await asyncio.sleep(0.2)
    after = await _generations(oauth_ctx)
    refreshed = sum(after[i] - before[i] for i in before)  # each rotation stored grows it by one
    stats = await provider_stats(oidc, refreshes_at_least=refreshed)
    assert stats["reuse_detected"] == 0
    assert stats["invalid_grant"] == 0
    # A trigger whose claims kept taking too long on a busy machine hands the credential back
    # unsent ("deferred", after asking again for a lease's length); the finisher refreshes it.
    unsent = len(failures) + outcomes.get("deferred", 0)
    assert outcomes.get("refreshed", 0) >= CREDENTIALS - unsent, (outcomes, failures[:5])
    # Every request the provider answered was one refresh whose answer Lockstitch stored.
    assert stats["refresh_requests"] == stats["refresh_success"] == refreshed
    assert min(after[i] - before[i] for i in before) >= 1
    assert sum(outcomes.values()) == CREDENTIALS * TRIGGERS
    assert await _states(oauth_ctx) == ["valid"] * CREDENTIALS


async def test_two_worker_loops_share_the_due_credentials(
    oauth_ctx: Context, oidc: OidcProvider, partner: Partner, tmp_path: Path
) -> None:
    await managed_sources(partner, oidc, CREDENTIALS)
    await _set_due(oauth_ctx, utcnow() + dt.timedelta(days=1))  # nothing due while workers start
    env = process_env(oauth_ctx, tmp_path / "lockstitch.toml")
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    workers = [
        await asyncio.create_subprocess_exec(
            LOCKSTITCH, "worker", env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        for log in logs
    ]
    try:
        for worker, log in zip(workers, logs, strict=True):
            while "worker started" not in log.read_text():
                assert worker.returncode is None, log.read_text()
                await asyncio.sleep(0.1)
        deadline = time.monotonic() + 600  # generous: a condition, not a speed, decides
        before = await _open_window(oauth_ctx, oidc, deadline)
        await _set_due(oauth_ctx, utcnow())  # all 200 come due together
        while True:
            after = await _generations(oauth_ctx)
            if all(after[i] > before[i] for i in before):
                break
            assert time.monotonic() < deadline, sum(after[i] > before[i] for i in before)
            await asyncio.sleep(0.1)
        # Nothing new starts; whatever is in flight settles.
        await _set_due(oauth_ctx, utcnow() + dt.timedelta(days=1))
        while await _in_flight(oauth_ctx):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            await worker.wait()
    # Counted once the workers have stopped: a connection check (10 s tokens) can still ask for a
    # fresh access token up to then, and a request it sent is in the provider's books, so the
    # stored generations must be read after it too.
    after = await _generations(oauth_ctx)
    refreshed = sum(after[i] - before[i] for i in before)  # each rotation stored grows it by one
    stats = await provider_stats(oidc, refreshes_at_least=refreshed)
    assert stats["reuse_detected"] == 0
    assert stats["invalid_grant"] == 0
    # Each request the provider answered is one refresh stored: a credential that came due again
    # (10 s tokens on a busy machine) counts twice on both sides, never on one alone.
    assert stats["refresh_requests"] == stats["refresh_success"] == refreshed
    assert all(state in ("valid", "refreshing") for state in await _states(oauth_ctx))
    texts = [log.read_text() for log in logs]
    assert all("refresh failed" not in text for text in texts)
    assert all("worker stopped" in text for text in texts)


async def _set_due(ctx: Context, when: dt.datetime) -> None:
    async with ctx.db.unit_of_work() as session:
        await session.execute(update(OAuthCredential).values(refresh_due_at=when))


async def _generations(ctx: Context) -> dict[int, int]:
    async with ctx.db.read() as session:
        rows = await session.execute(select(OAuthCredential.id, OAuthCredential.generation))
        return {credential_id: generation for credential_id, generation in rows}  # noqa: C416


async def _in_flight(ctx: Context) -> int:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(OAuthCredential.id).where(OAuthCredential.in_flight_since.is_not(None))
        )
        return len(list(rows))


async def _open_window(ctx: Context, oidc: OidcProvider, deadline: float) -> dict[int, int]:
    """Clear the provider's books and read the stored generations at a moment when no refresh is
    on its way (the connection checks the handshakes queued refresh 10 s tokens on their own), so
    no refresh counts on one side only; returns the generations."""
    while True:
        assert time.monotonic() < deadline
        while await _in_flight(ctx):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        oidc.reset()
        before = await _generations(ctx)
        quiet = not await _in_flight(ctx) and await _generations(ctx) == before
        if quiet and oidc.stats()["refresh_requests"] == 0:
            return before
        await asyncio.sleep(0.2)


async def _versions(ctx: Context) -> dict[int, int]:
    async with ctx.db.read() as session:
        rows = await session.execute(select(OAuthCredential.id, OAuthCredential.version))
        return {credential_id: version for credential_id, version in rows}  # noqa: C416 - a Result is no mapping
