"""Helpers for the replication-run tests: reading an extraction's log, state and loads; reading a
DuckDB file with the target's own interpreter; finding plugin processes; a slow, paginated REST
API behind oidc-provider's introspection; a ``lockstitch worker`` subprocess's config."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lockstitch.catalog.models import PluginDef
from lockstitch.context import Context
from lockstitch.models import Extraction, ExtractionLog, Load, SourceState
from lockstitch.runner.plugins import Plugins
from tests.conftest import AccountHandle
from tests.oauth_server.harness import RESOURCE_SERVER, OidcProvider

LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}Z (main|tap|target) - [A-Z]+ ")
REPLICATED = re.compile(r'tap - INFO replicated (\d+) records from "([^"]+)" endpoint$')


# -- an extraction's outcome ------------------------------------------------------------------


async def extraction(ctx: Context, extraction_id: int) -> Extraction:
    async with ctx.db.read() as session:
        found = await session.get(Extraction, extraction_id)
    assert found is not None
    return found


async def log_text(ctx: Context, extraction_id: int) -> str:
    async with ctx.db.read() as session:
        found = await session.get(ExtractionLog, extraction_id)
    assert found is not None, f"extraction {extraction_id} has no log"
    return found.content


async def check_log(ctx: Context, run: Extraction, secrets: Iterable[str] = ()) -> list[str]:
    """Spec 9.13: every line in Stitch's format, one ``replicated N records`` line for every
    selected stream (N as counted, 0 for a stream that emitted nothing), the exit status line
    last, and no secret anywhere."""
    text = await log_text(ctx, run.id)
    lines = text.rstrip("\n").splitlines()
    assert lines, "empty log"
    bad = [line for line in lines if not LINE.match(line)]
    assert not bad, bad[:5]
    replicated: dict[str, list[int]] = {}
    for line in lines:
        match = REPLICATED.search(line)
        if match:
            replicated.setdefault(match.group(2), []).append(int(match.group(1)))
    expected = {stream: [count] for stream, count in (run.records or {}).items()}
    assert replicated == expected, (replicated, run.records)
    assert " main - INFO Exit status is: " in lines[-1], lines[-3:]
    for secret in secrets:
        if secret:
            assert secret not in text, "a secret is in the extraction log"
    return lines


def exit_line(lines: list[str]) -> str:
    return lines[-1].split(" main - INFO ", 1)[1]


async def saved_state(ctx: Context, source_id: int) -> SourceState | None:
    async with ctx.db.read() as session:
        return await session.get(SourceState, source_id)


async def loads_of(ctx: Context, source_id: int) -> dict[str, Load]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(Load).where(Load.source_id == source_id))
        return {load.stream_name: load for load in rows}


async def all_extractions(ctx: Context, source_id: int) -> list[Extraction]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(Extraction).where(Extraction.source_id == source_id).order_by(Extraction.id)
        )
        return list(rows)


async def wait_until(
    probe: Callable[[], Awaitable[Any]], *, within: float, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Poll ``probe`` until it returns something truthy (returned), or fail after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(interval)


async def stop_sync(client: httpx.AsyncClient, who: AccountHandle, source_id: int) -> None:
    """``DELETE /v4/sources/{id}/sync``, as a partner stops a running job."""
    response = await client.delete(f"/v4/sources/{source_id}/sync", headers=who.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": 200}


# -- plugins ------------------------------------------------------------------------------------


def plugins(ctx: Context) -> Plugins:
    return Plugins.from_settings(ctx.settings)


def tap_of(ctx: Context, source_type: str) -> PluginDef:
    found = ctx.catalog.source_type(source_type)
    assert found is not None
    assert found.definition.tap is not None
    return found.definition.tap


def target_of(ctx: Context, destination_type: str) -> PluginDef:
    found = ctx.catalog.destination_type(destination_type)
    assert found is not None
    assert found.definition.target is not None
    return found.definition.target


def plugin_pids(executable: Path) -> list[int]:
    """Processes running the plugin's executable (its venv's path is unique to the plugin)."""
    done = subprocess.run(
        ["pgrep", "-f", str(executable)], capture_output=True, text=True, timeout=10, check=False
    )
    own = os.getpid()
    return [int(pid) for pid in done.stdout.split() if int(pid) != own]


def kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def duckdb_query(ctx: Context, database: Path, sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` on a DuckDB file, read with the duckdb module in target-duckdb's own venv
    (the test venv has none), read-only."""
    python = plugins(ctx).path(target_of(ctx, "lockstitch.duckdb")) / "bin" / "python"
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "cur = con.execute(sys.argv[2])\n"
        "names = [d[0] for d in cur.description]\n"
        "print(json.dumps([dict(zip(names, row)) for row in cur.fetchall()], default=str))\n"
    )
    done = subprocess.run(
        [str(python), "-c", script, str(database), sql],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout))


# -- a `lockstitch worker` process ------------------------------------------------------------------


def worker_env(ctx: Context, config_path: Path, *, lease_seconds: float) -> dict[str, str]:
    """Environment for ``lockstitch worker`` sharing ``ctx``'s database, home and plugins, with a
    short extraction lease."""
    settings = ctx.settings
    lines = [
        f"env = {json.dumps(settings.env)}",
        f"home = {json.dumps(str(settings.home))}",
        f"database_url = {json.dumps(settings.database)}",
        f"encryption_keys = {json.dumps(settings.encryption_keys)}",
        f"source_type_dirs = {json.dumps([str(d) for d in settings.source_type_dirs])}",
        "worker_poll_seconds = 0.2",
        "[runner]",
        f"plugins_dir = {json.dumps(str(settings.plugins_dir))}",
        f"lease_seconds = {lease_seconds}",
        "[network]",
        f"allowed_cidrs = {json.dumps(settings.network.allowed_cidrs)}",
    ]
    config_path.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTITCH_")}
    env["LOCKSTITCH_CONFIG"] = str(config_path)
    return env


# -- a slow REST API ----------------------------------------------------------------------------


@dataclass
class SlowApi:
    """What the API saw; change ``delay`` and ``pages`` between runs."""

    url: str
    pages: int = 1
    per_page: int = 5
    delay: float = 0.0
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(1 for s in self.seen if not s["active"])

    @property
    def tokens(self) -> list[str]:
        """Distinct bearer tokens (hashed), in the order they first arrived."""
        out: list[str] = []
        for s in self.seen:
            if s["token"] and s["token"] not in out:
                out.append(s["token"])
        return out


def _items(stream: str, page: int, per_page: int) -> list[dict[str, Any]]:
    first = (page - 1) * per_page + 1
    return [
        {"id": n, "name": f"{stream}-{n}", "updated_at": f"2024-01-01T00:00:{n % 60:02d}Z"}
        for n in range(first, first + per_page)
    ]


def _app(provider: OidcProvider, api: SlowApi) -> Starlette:
    resource = provider.client(RESOURCE_SERVER)

    async def records(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        active = False
        if token:
            # The token is checked when the request arrives, as a resource server does.
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(
                    provider.introspection_endpoint,
                    data={"token": token},
                    auth=(resource.client_id, resource.client_secret),
                )
            active = answer.status_code == 200 and bool(answer.json().get("active"))
        page = int(request.query_params.get("page", "1") or 1)
        stream = request.path_params["stream"]
        api.seen.append(
            {
                "active": active,
                "at": time.time(),
                "stream": stream,
                "page": page,
                "token": hashlib.sha256(token.encode()).hexdigest()[:12] if token else "",
            }
        )
        if not active:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        if api.delay:
            await asyncio.sleep(api.delay)
        body: dict[str, Any] = {"items": _items(stream, page, api.per_page)}
        if page < api.pages:
            body["next_page"] = page + 1
        return JSONResponse(body)

    return Starlette(routes=[Route("/api/{stream}", records)])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_slow_api(provider: OidcProvider, *, pages: int = 1, per_page: int = 5) -> Iterator[SlowApi]:
    """``GET /api/<stream>[?page=N]``: ``{"items": [...], "next_page": N+1}`` until the last page
    (tap-rest-api-msdk's default paginator), each answer after ``api.delay`` seconds."""
    port = _free_port()
    api = SlowApi(f"http://127.0.0.1:{port}/api", pages=pages, per_page=per_page)
    server = uvicorn.Server(
        uvicorn.Config(_app(provider, api), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test REST API did not start")
        time.sleep(0.05)
    try:
        yield api
    finally:
        server.should_exit = True
        thread.join(timeout=10)
