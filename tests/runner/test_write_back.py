"""A tap's rewritten config values (``writes_back``) are kept on the source and used next run.

The fake tap of ``lockstitch.test-write-back`` (tests/fixtures/write_back) rewrites its config
on every run, discovery included, and says on stderr what it was handed; it and a target that
only drains its input are "installed" into a plugins directory of the test's own. Each test
goes through the API and the worker's jobs, on both backends.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from lockstitch.catalog.loader import load_catalog
from lockstitch.catalog.models import PluginDef
from lockstitch.context import Context, build_context
from lockstitch.runner.plugins import MARKER, Plugins
from tests.conftest import REPO, TEST_TYPES, AccountHandle, MakeContext, api_client, make_settings
from tests.replication_runs.conftest import api, configured_source, latest, run_extractions, sync_now
from tests.replication_runs.helpers import log_text, wait_until

FIXTURES = REPO / "tests" / "fixtures" / "write_back"
TYPE = "lockstitch.test-write-back"
SELECT_ITEMS = {"items": [{"breadcrumb": [], "metadata": {"selected": True}}]}
DRAIN_TARGET = (
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    message = json.loads(line)\n"
    "    if message.get('type') == 'STATE':\n"
    "        print(json.dumps(message['value']), flush=True)\n"
)


def _install_fake(plugins: Plugins, defn: PluginDef, script: str) -> None:
    venv = plugins.path(defn)
    (venv / "bin").mkdir(parents=True)
    executable = plugins.executable(defn)
    executable.write_text(f"#!{sys.executable}\n{script}")
    executable.chmod(0o755)
    (venv / MARKER).write_text("{}")


@pytest.fixture
async def wb_ctx(make_ctx: MakeContext, migrated: str, tmp_path: Path) -> AsyncIterator[Context]:
    make_ctx()  # the test database is emptied afterwards
    settings = make_settings(migrated, tmp_path, runner={"plugins_dir": tmp_path / "plugins"})
    ctx = build_context(settings, catalog=load_catalog([TEST_TYPES, FIXTURES]))
    plugins = Plugins.from_settings(ctx.settings)
    tap = ctx.catalog.source_type(TYPE).definition.tap  # type: ignore[union-attr]
    target = ctx.catalog.destination_type("lockstitch.jsonl").definition.target  # type: ignore[union-attr]
    assert tap is not None
    assert target is not None
    _install_fake(plugins, tap, (FIXTURES / "tap.py").read_text())
    _install_fake(plugins, target, DRAIN_TARGET)
    yield ctx
    await ctx.close()


@pytest.fixture
async def wb_client(wb_ctx: Context, account: AccountHandle) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(wb_ctx) as client:
        await api(
            client,
            account,
            "POST",
            "/v4/destinations",
            {"type": "lockstitch.jsonl", "name": "Files", "properties": {}},
        )
        yield client


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _received(log: str) -> str:
    """What the tap said it was handed (its one ``received ...`` line)."""
    lines = [line.split("received ", 1)[1] for line in log.splitlines() if "received cursor=" in line]
    assert len(lines) == 1, log
    return lines[0]


async def _run(ctx: Context, source_id: int) -> tuple[str, str]:
    """One extraction to its end: (its state, what its tap was handed)."""
    await sync_now(ctx, source_id)
    await run_extractions(ctx)
    run = await latest(ctx, source_id)
    return run.state, _received(await log_text(ctx, run.id))


async def _new_source(
    ctx: Context, client: httpx.AsyncClient, who: AccountHandle, properties: dict[str, Any]
) -> dict[str, Any]:
    body = {"type": TYPE, "display_name": "Rewrites its config", "properties": properties}
    return await configured_source(ctx, client, who, body, SELECT_ITEMS)


async def _properties(client: httpx.AsyncClient, who: AccountHandle, source_id: int) -> dict[str, Any]:
    source = await api(client, who, "GET", f"/v4/sources/{source_id}")
    assert "session-" not in json.dumps(source), "a credential is in a response"
    return dict(source["properties"])


async def _stored_row(ctx: Context, source_id: int) -> str:
    async with ctx.db.read() as session:
        row = (
            await session.execute(
                text("SELECT properties, credentials FROM sources WHERE id = :id"), {"id": source_id}
            )
        ).one()
    return f"{row[0]} {row[1]}"


async def test_rewritten_values_are_stored_and_handed_to_the_next_run(
    wb_ctx: Context, wb_client: httpx.AsyncClient, account: AccountHandle
) -> None:
    """Values the tap rewrote are kept, discovery included: the plain one as a property, the
    credential sealed (not in the row in plaintext, never in a response); the next run's tap is
    handed them; a rewritten property not in writes_back keeps the partner's value."""
    source = await _new_source(wb_ctx, wb_client, account, {"region": "eu"})
    sid = source["id"]
    assert (await _properties(wb_client, account, sid))["cursor_cache"] == "cursor-1"  # from discovery

    state, received = await _run(wb_ctx, sid)
    assert state == "succeeded"
    assert received == f"cursor=cursor-1 session_sha={_sha('session-1')} region=eu"
    properties = await _properties(wb_client, account, sid)
    assert (properties["cursor_cache"], properties["region"]) == ("cursor-2", "eu")
    row = await _stored_row(wb_ctx, sid)
    assert "cursor-2" in row
    assert "session-2" not in row, "the credential is stored in plaintext"

    state, received = await _run(wb_ctx, sid)
    assert state == "succeeded"
    assert received == f"cursor=cursor-2 session_sha={_sha('session-2')} region=eu"


async def test_a_partner_write_during_the_run_wins(
    wb_ctx: Context, wb_client: httpx.AsyncClient, account: AccountHandle, tmp_path: Path
) -> None:
    """A partner's PUT of a written-back property while the tap runs is what the source keeps,
    and what the next run's tap is handed (the tap's rewrite of the same run is dropped)."""
    gate = tmp_path / "gate"
    source = await _new_source(wb_ctx, wb_client, account, {"gate": str(gate)})
    sid = source["id"]
    await sync_now(wb_ctx, sid)
    running = asyncio.create_task(run_extractions(wb_ctx))
    ready = Path(f"{gate}.ready")

    async def rewritten() -> bool:
        return await asyncio.to_thread(ready.exists)

    await wait_until(rewritten, within=60, what="the tap to rewrite its config")
    await api(
        wb_client,
        account,
        "PUT",
        f"/v4/sources/{sid}",
        {"properties": {"cursor_cache": "partner-cursor", "session_key": "partner-session"}},
    )
    gate.touch()
    await asyncio.wait_for(running, timeout=120)
    assert (await latest(wb_ctx, sid)).state == "succeeded"
    assert (await _properties(wb_client, account, sid))["cursor_cache"] == "partner-cursor"

    state, received = await _run(wb_ctx, sid)
    assert state == "succeeded"
    assert received == f"cursor=partner-cursor session_sha={_sha('partner-session')} region=-"


async def test_an_unusable_rewrite_is_ignored_and_the_run_succeeds(
    wb_ctx: Context, wb_client: httpx.AsyncClient, account: AccountHandle
) -> None:
    """A config file left unreadable or removed, and values that are not strings or are
    oversized, store nothing and fail no run; a later usable rewrite is stored."""
    source = await _new_source(wb_ctx, wb_client, account, {"mode": "unusable"})
    sid = source["id"]
    assert "cursor_cache" not in await _properties(wb_client, account, sid)
    for mode in ("unusable", "garbage", "removed"):
        await api(wb_client, account, "PUT", f"/v4/sources/{sid}", {"properties": {"mode": mode}})
        state, received = await _run(wb_ctx, sid)
        assert state == "succeeded", mode
        assert received == "cursor=- session_sha=- region=-", mode
        assert "cursor_cache" not in await _properties(wb_client, account, sid)

    await api(wb_client, account, "PUT", f"/v4/sources/{sid}", {"properties": {"mode": None}})
    assert (await _run(wb_ctx, sid))[0] == "succeeded"
    assert (await _properties(wb_client, account, sid))["cursor_cache"] == "cursor-1"
    state, received = await _run(wb_ctx, sid)
    assert received == f"cursor=cursor-1 session_sha={_sha('session-1')} region=-"
