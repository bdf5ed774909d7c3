"""The demo ``make run`` sets up on first start, so a new user sees the main job at once.

* an account and its API token, kept in ``$LOCKSTITCH_HOME/demo-token`` (mode 0600, beside the
  development encryption key) so every ``make run`` can print it again; a revoked or missing
  token is replaced;
* a DuckDB destination (``$LOCKSTITCH_HOME/warehouses/<account>/warehouse.duckdb``) and a
  ``lockstitch.local-files`` source reading the sample orders shipped in ``demo_data/`` (copied
  into the account's files root, ``$LOCKSTITCH_HOME/files/<account>/demo``);
* once the embedded worker has checked the source, every stream is selected and the first
  replication runs; the serve command prints when the rows have landed.

All of it goes through the same services the API uses; nothing here is a shortcut.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockstitch.accounts import service as accounts
from lockstitch.accounts.auth import Principal
from lockstitch.accounts.repository import AccountRepository, TokenRepository
from lockstitch.accounts.tokens import hash_token
from lockstitch.context import Context
from lockstitch.destinations.repository import DestinationRepository
from lockstitch.jobs.checks_repository import CheckRepository
from lockstitch.jobs.extractions_repository import ExtractionRepository
from lockstitch.kit.plans import PricingTier
from lockstitch.kit.time import utcnow
from lockstitch.models import CheckState, Stream
from lockstitch.models.extraction import COMPLETED
from lockstitch.sources.repository import SourceRepository
from lockstitch.streams.repository import StreamRepository

DEMO_EMAIL = "demo@lockstitch.local"
TOKEN_FILE = "demo-token"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True)
class Demo:
    account_id: int
    token: str


async def ensure_demo(ctx: Context) -> Demo:
    token_path = ctx.settings.home / TOKEN_FILE
    async with ctx.db.unit_of_work() as session:
        account_id = await AccountRepository(session).id_for_email(DEMO_EMAIL)
        if account_id is None:
            created = await accounts.create_account(
                session, email=DEMO_EMAIL, company="Lockstitch demo", first_name="Demo", last_name="User"
            )
            _write_private(token_path, created.access_token)
            return Demo(created.account.id, created.access_token)
        token = token_path.read_text().strip() if token_path.exists() else ""
        owner = await TokenRepository(session).owner_of(hash_token(token)) if token else None
        if owner is None or owner.account_id != account_id:
            token = await accounts.issue_token(session, account_id, name="demo")
            _write_private(token_path, token)
        return Demo(account_id, token)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def banner(base_url: str, demo: Demo) -> str:
    return "\n".join(
        [
            "",
            f"Lockstitch is running at {base_url}",
            f"  demo account (stitch_client_id): {demo.account_id}",
            f"  API token: {demo.token}",
            "Try:",
            f'  curl -s -H "Authorization: Bearer {demo.token}" '
            f"{base_url}/v4/source-types/platform.google-analytics",
            f"API reference: {base_url}/docs    Stop with Ctrl-C.",
            "",
        ]
    )


DEMO_SOURCE = "Demo shop orders"
DEMO_DATA = Path(__file__).parent / "demo_data"


async def seed_replication(ctx: Context, demo: Demo) -> int | None:
    """The demo's destination and source, on first start; the source's id while its first
    replication is still to come (None once it has run, or when the demo was changed)."""
    from lockstitch.destinations import service as destinations  # noqa: PLC0415
    from lockstitch.oauth import ownership  # noqa: PLC0415
    from lockstitch.sources import service as sources  # noqa: PLC0415

    folder = ctx.settings.account_files_root(demo.account_id) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    for sample in DEMO_DATA.glob("*.csv"):
        if not (folder / sample.name).exists():
            (folder / sample.name).write_bytes(sample.read_bytes())
    who = Principal(demo.account_id, PricingTier.ENTERPRISE, frozenset(), 0)
    async with ctx.db.unit_of_work() as session:
        if not await DestinationRepository(session).list_for(demo.account_id):
            await destinations.create_destination(
                session, ctx, who, {"type": "lockstitch.duckdb", "name": "Demo warehouse", "properties": {}}
            )
        source = await SourceRepository(session).by_display_name(demo.account_id, DEMO_SOURCE)
        if source is None:
            created = await sources.create_source(
                session,
                ctx,
                who,
                {
                    "type": "lockstitch.local-files",
                    "display_name": DEMO_SOURCE,
                    "properties": {"path": "demo/*.csv", "table_name": "orders", "file_format": "csv"},
                },
                ownership=ownership,
            )
            return int(created["id"])
        return None if source.fully_configured_at is not None else source.id


async def finish_setup(ctx: Context, demo: Demo, source_id: int, say: Callable[[str], None]) -> None:
    """After the worker has checked the demo source: select its streams, run the first
    replication, and say where the rows are. Runs beside the server on first start."""
    from lockstitch.jobs.queue import enqueue_extraction  # noqa: PLC0415
    from lockstitch.streams import service as streams  # noqa: PLC0415

    who = Principal(demo.account_id, PricingTier.ENTERPRISE, frozenset(), 0)
    say("demo: installing the plugins (first start only) and discovering the sample orders...")
    checked = await _succeeded(
        ctx,
        _check_state,
        source_id,
        (CheckState.SUCCEEDED, CheckState.FAILED),
        say,
        lambda ended: (
            f"the demo source's check ended {ended}; see GET /v4/sources/{source_id}/last-connection-check"
        ),
    )
    if not checked:
        return
    async with ctx.db.unit_of_work() as session:
        found = await StreamRepository(session).streams_of(source_id)
        # The stream and every field: Stitch's rules replicate only what is selected (or
        # selected by default, which this tap does not say).
        body = {"streams": [_select_all(stream) for stream in found]}
        await streams.update_metadata(session, who, str(source_id), body, utcnow())
        source = await SourceRepository(session).by_id(source_id)
        assert source is not None
        extraction, _ = await enqueue_extraction(session, source, "manual", utcnow())
        job_name = extraction.job_name
    say(f"demo: replicating the sample orders into DuckDB (job {job_name})...")
    log_path = f"/v4/{demo.account_id}/extractions/{job_name}"
    if not await _succeeded(
        ctx,
        _extraction_state,
        job_name,
        COMPLETED,
        say,
        lambda ended: f"the first replication ended {ended}; its log: GET {log_path}",
    ):
        return
    async with ctx.db.read() as session:
        done = await ExtractionRepository(session).by_job_name(job_name)
    rows = sum(done.records.values()) if done else 0
    warehouse = ctx.settings.account_warehouse(demo.account_id) / "warehouse.duckdb"
    say(f"demo: {rows} rows landed in {warehouse}, schema demo_shop_orders. Look at them with:")
    say('  .venv/bin/lockstitch duckdb "SELECT * FROM demo_shop_orders.orders LIMIT 5"')


def _select_all(stream: Stream) -> dict[str, Any]:
    fields = stream.schema.get("properties", {})
    metadata = [{"breadcrumb": [], "metadata": {"selected": True}}]
    metadata += [{"breadcrumb": ["properties", name], "metadata": {"selected": True}} for name in fields]
    return {"tap_stream_id": stream.tap_stream_id, "metadata": metadata}


async def _check_state(ctx: Context, source_id: int) -> str | None:
    async with ctx.db.read() as session:
        source = await SourceRepository(session).by_id(source_id)
        if source is None or source.check_job_name is None:
            return None
        return await CheckRepository(session).state_of(source.check_job_name)


async def _extraction_state(ctx: Context, job_name: str) -> str | None:
    async with ctx.db.read() as session:
        extraction = await ExtractionRepository(session).by_job_name(job_name)
        return extraction.state if extraction is not None else None


async def _succeeded(
    ctx: Context,
    read: Callable[[Context, Any], Awaitable[str | None]],
    key: Any,
    ends: tuple[str, ...],
    say: Callable[[str], None],
    failure: Callable[[str | None], str],
) -> bool:
    """Wait for a job to reach one of ``ends``, the first of which is success; when it ended
    otherwise (or not in time), say how (``failure(state)``)."""
    state = await _wait_for(ctx, read, key, ends)
    if state != ends[0]:
        say(f"demo: {failure(state)}")
    return state == ends[0]


async def _wait_for(
    ctx: Context, read: Callable[[Context, Any], Awaitable[str | None]], key: Any, ends: tuple[str, ...]
) -> str | None:
    deadline = asyncio.get_running_loop().time() + 1800
    while asyncio.get_running_loop().time() < deadline:
        state = await read(ctx, key)
        if state in ends:
            return state
        await asyncio.sleep(0.5)
    return None
