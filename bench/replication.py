"""Replication benchmark: one PostgreSQL table replicated by Lockstitch, by the same tap piped into
the same target in a plain shell (the limit), and by ``meltano run`` of the same pair (the peer).

A 1,000,000-row table (id bigint pk, name text, amount numeric(12,2), created_at timestamptz,
flag boolean, note text: ~100 bytes a row), made once with generate_series in its own database
and reused while it has the right rows, is loaded in full, every column, into PostgreSQL by
meltanolabs-tap-postgres 0.10.0 and meltanolabs-target-postgres 0.8.1:

* plain pipe: ``tap-postgres --config c.json --catalog cat.json | target-postgres --config t.json``
  in bash, with the plugin venvs, configs and catalog Lockstitch uses (built with the functions
  the runner builds them with);
* Lockstitch: an extraction from enqueue (``enqueue_extraction``, what ``POST .../sync`` does) to
  its ``completion_time``, run by the worker's ``RunExtractions`` job (SQLite, temporary home);
* meltano: ``meltano run tap-postgres target-postgres`` in its own project and venv under
  ``.lockstitch-bench/meltano`` (installed once; its startup counts, its install does not), the
  same plugin versions, configs and catalog.

Each contender loads into its own target schema, dropped after each run (and a CHECKPOINT), in
one fresh target database; the contenders take turns (pipe, Lockstitch, meltano, then the
reverse, ...). Prints records/s of each run, the medians and the ratios Lockstitch / pipe and
Lockstitch / meltano, and checks that every run loaded exactly the table's rows.

    python -m bench replication [--rows N] [--rounds R] [--postgres ADMIN_URL]
                                [--only pipe,lockstitch,meltano] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select

from bench.api import DEFAULT_POSTGRES, _cpu_model, _environment
from lockstitch import __version__
from lockstitch.accounts import service as accounts
from lockstitch.app import create_app
from lockstitch.config import load_settings
from lockstitch.context import Context, build_context
from lockstitch.destinations.service import destination_for_source, target_config
from lockstitch.jobs.queue import enqueue_extraction
from lockstitch.kit.time import utcnow
from lockstitch.migrations import upgrade
from lockstitch.models import Extraction, Source, Stream
from lockstitch.runner.connection import tap_connection
from lockstitch.runner.plugins import Plugins
from lockstitch.runner.tasks import RunConnectionChecks, RunExtractions
from lockstitch.streams.selection import singer_catalog

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".lockstitch-bench"
DEFAULT_OUT = WORK / "replication.json"
# Where the tests install the same pinned plugins (tests/oauth_server/harness.default_cache_root).
DEFAULT_PLUGINS = (
    Path(os.environ["LOCKSTITCH_TEST_CACHE"]) / "plugins"
    if os.environ.get("LOCKSTITCH_TEST_CACHE")
    else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lockstitch-test" / "plugins"
)
SOURCE_DB = "lockstitch_bench_src"
TARGET_DB = "lockstitch_bench_dst"
TABLE = "bench_rows"
COLUMNS = ("id", "name", "amount", "created_at", "flag", "note")
# What must match between the source table and each loaded copy: every row once, every column's
# content (hashtext: the same server hashes both sides the same way).
SIGNATURE = """
SELECT count(*) AS rows, count(DISTINCT id) AS ids, sum(id) AS id_sum,
       sum(round(amount::numeric * 100)) AS cents, sum(extract(epoch FROM created_at)) AS epochs,
       count(*) FILTER (WHERE flag) AS flags, sum(hashtext(name)::bigint) AS names,
       sum(hashtext(note)::bigint) AS notes
FROM {table}
"""
STREAM = f"public-{TABLE}"
TABLE_VERSION = "v1"  # bump when the generator below changes: the table is then made again
CONTENDERS = ("pipe", "lockstitch", "meltano")
LABELS = {"pipe": "plain pipe (tap | target)", "lockstitch": "Lockstitch", "meltano": "meltano run"}
SCHEMAS = {"pipe": "bench_pipe", "lockstitch": "bench_lockstitch", "meltano": "bench_meltano"}
# The newest meltano that installs on Python 3.11 (it needs >= 3.10) when this was written.
MELTANO_VERSION = "4.4.1"
MELTANO_PIN = f"meltano=={MELTANO_VERSION}"
TAP_PIP = "meltanolabs-tap-postgres==0.10.0"
TARGET_PIP = "meltanolabs-target-postgres==0.8.1"
PASSWORD = "trust-auth-ignores-this"
VENV_TOOLING = frozenset({"pip", "setuptools", "wheel"})  # pip's venvs have them, uv's do not


def _generate(rows: int) -> str:
    return f"""
DROP TABLE IF EXISTS {TABLE};
CREATE TABLE {TABLE} (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    amount numeric(12, 2),
    created_at timestamptz NOT NULL,
    flag boolean,
    note text
);
INSERT INTO {TABLE}
SELECT g,
       'customer ' || g,
       ((g * 7919) % 1000000) / 100.0,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds',
       g % 3 = 0,
       md5(g::text) || ' ' || md5((g + 1)::text)
FROM generate_series(1::bigint, {int(rows)}) AS g;
"""


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to (a failed run, a wrong row count)."""


@dataclass
class Run:
    contender: str
    round: int
    seconds: float
    records_per_second: float
    rows_loaded: int
    distinct_ids: int
    cpu_plugins_s: float  # CPU of the child processes (tap, target; meltano itself for meltano)
    cpu_bench_s: float  # CPU of this process during the run (Lockstitch's own work for Lockstitch)
    load_average_1m: float
    wall_seconds: float  # perf_counter around the whole call (same as seconds but for Lockstitch)
    records_counted: int | None = None  # what Lockstitch counted between tap and target
    content_matches: bool = False  # every column's content as in the source (SIGNATURE)


@dataclass
class Plan:
    """Everything the three contenders share: executables, configs, catalog."""

    tap: Path
    target: Path
    tap_config: dict[str, Any]
    catalog: dict[str, Any]
    target_configs: dict[str, dict[str, Any]]
    lockstitch_source_id: int = 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench replication", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the source table")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each contender (default 2)")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        metavar="ADMIN_URL",
        help=f"the PostgreSQL server for source and target (default {DEFAULT_POSTGRES})",
    )
    parser.add_argument(
        "--only", default=",".join(CONTENDERS), help="contenders to run, comma-separated (default all)"
    )
    parser.add_argument(
        "--plugins-dir",
        type=Path,
        default=DEFAULT_PLUGINS,
        help=f"plugin venv cache shared with the tests (default {DEFAULT_PLUGINS})",
    )
    parser.add_argument("--work", type=Path, default=WORK, help=f"meltano project and logs (default {WORK})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(args.only) - set(CONTENDERS):
        parser.error(f"unknown contenders {sorted(unknown)}; known: {', '.join(CONTENDERS)}")
    if args.rows < 1 or args.rounds < 1:
        parser.error("--rows and --rounds must be positive")
    args.postgres = args.postgres.replace("postgresql+asyncpg://", "postgresql://", 1)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="lockstitch-bench-") as tmp, _environment(Path(tmp), None):
            report = asyncio.run(_run(args, Path(tmp)))
    except (BenchError, OSError, asyncpg.PostgresError, subprocess.CalledProcessError) as exc:
        print(f"\nreplication benchmark FAILED: {exc}", file=sys.stderr)
        return 1
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults written to {args.out} (run took {report['wall_seconds']:.0f} s)")
    return 0 if report["checks_passed"] else 1


async def _run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    load_average = os.getloadavg()[0]
    table = await _source_table(args)
    await _admin(
        args, f'DROP DATABASE IF EXISTS "{TARGET_DB}" WITH (FORCE)', f'CREATE DATABASE "{TARGET_DB}"'
    )
    logs = args.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    async with _lockstitch(args, home) as ctx:
        plan = await _plan(args, ctx)
        files = _write_files(plan, args.work / "configs")
        meltano = _meltano_setup(args, plan, files) if "meltano" in args.only else None
        versions = _plugin_versions(plan, meltano)
        order = [c for c in CONTENDERS if c in args.only]
        for number in range(1, args.rounds + 1):
            for contender in order if number % 2 else list(reversed(order)):
                print(f"round {number}: {LABELS[contender]} ...", flush=True)
                await _clean_target(args)
                if contender == "pipe":
                    run = await _time_pipe(plan, files, logs, number)
                elif contender == "lockstitch":
                    run = await _time_lockstitch(ctx, plan, number)
                else:
                    assert meltano is not None
                    run = await _time_meltano(meltano, logs, number)
                await _count(args, run, table["signature"])
                run.records_per_second = round(table["rows"] / run.seconds, 1)
                runs.append(run)
                print(
                    f"  {run.seconds:7.1f} s  {run.records_per_second:10,.0f} records/s  "
                    f"{run.rows_loaded:,} rows loaded",
                    flush=True,
                )
        await _clean_target(args)
    await _admin(args, f'DROP DATABASE IF EXISTS "{TARGET_DB}" WITH (FORCE)')
    return _report(args, table, plan, runs, versions, meltano, load_average)


# --- the source table and the target database ---------------------------------------------------


def _url(args: argparse.Namespace, database: str) -> str:
    return str(args.postgres).rsplit("/", 1)[0] + f"/{database}"


async def _admin(args: argparse.Namespace, *statements: str) -> None:
    connection = await asyncpg.connect(args.postgres, timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _source_table(args: argparse.Namespace) -> dict[str, Any]:
    """The source table, made once; made again only when it lacks the right rows."""
    connection = await asyncpg.connect(args.postgres, timeout=10)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", SOURCE_DB):
            await connection.execute(f'CREATE DATABASE "{SOURCE_DB}"')
        server_version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    marker = f"lockstitch bench {TABLE_VERSION}: {args.rows} rows"
    source = await asyncpg.connect(_url(args, SOURCE_DB), timeout=10)
    try:
        comment = await source.fetchval("SELECT obj_description(to_regclass($1), 'pg_class')", TABLE)
        made = 0.0
        if comment != marker:
            print(f"generating {args.rows:,} rows in {SOURCE_DB}.{TABLE} ...", flush=True)
            started = time.perf_counter()
            await source.execute(_generate(args.rows))
            # Hint bits and the visibility map set now, not by whichever contender reads first.
            await source.execute(f"VACUUM (FREEZE, ANALYZE) {TABLE}")
            await source.execute(f"COMMENT ON TABLE {TABLE} IS '{marker}'")
            made = time.perf_counter() - started
            print(f"generated in {made:.1f} s", flush=True)
        rows = await source.fetchval(f"SELECT count(*) FROM {TABLE}")  # also warms the cache
        size = await source.fetchval("SELECT pg_total_relation_size($1)", TABLE)
        width = await source.fetchval(
            f"SELECT avg({' + '.join(f'pg_column_size({c})' for c in COLUMNS)})::float FROM {TABLE}"
        )
        signature = _signature(await source.fetchrow(SIGNATURE.format(table=TABLE)))
    finally:
        await source.close()
    if rows != args.rows:
        raise BenchError(f"{SOURCE_DB}.{TABLE} has {rows} rows, not {args.rows}")
    return {
        "database": SOURCE_DB,
        "table": TABLE,
        "rows": rows,
        "bytes": size,
        "row_bytes": round(width, 1),
        "generated_seconds": round(made, 1) if made else None,
        "server_version": server_version,
        "signature": signature,
    }


async def _clean_target(args: argparse.Namespace) -> None:
    """Every contender's schema dropped and flushed: each run starts from the same empty database."""
    connection = await asyncpg.connect(_url(args, TARGET_DB), timeout=10)
    try:
        for schema in SCHEMAS.values():
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


def _signature(row: asyncpg.Record) -> dict[str, str]:
    return {key: str(value) for key, value in row.items()}


async def _count(args: argparse.Namespace, run: Run, expected: dict[str, str]) -> None:
    schema = SCHEMAS[run.contender]
    connection = await asyncpg.connect(_url(args, TARGET_DB), timeout=10)
    try:
        tables = [
            r["table_name"]
            for r in await connection.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
            )
        ]
        if tables != [TABLE]:
            raise BenchError(
                f"{LABELS[run.contender]} left tables {tables} in schema {schema}, not [{TABLE}]"
            )
        row = await connection.fetchrow(SIGNATURE.format(table=f'"{schema}".{TABLE}'))
    finally:
        await connection.close()
    run.rows_loaded, run.distinct_ids = int(row["rows"]), int(row["ids"])
    run.content_matches = _signature(row) == expected


# --- Lockstitch: a context, a configured source and destination, the shared plan ------------------


@contextlib.asynccontextmanager
async def _lockstitch(args: argparse.Namespace, home: Path) -> AsyncIterator[Context]:
    settings = load_settings(
        home=home,
        log_level="warning",
        runner={"plugins_dir": args.plugins_dir, "check_timeout_seconds": 300},
    )
    ctx = build_context(settings)
    try:
        await upgrade(ctx.db.engine)
        yield ctx
    finally:
        await ctx.close()


async def _plan(args: argparse.Namespace, ctx: Context) -> Plan:
    print("configuring the Lockstitch source and destination (connection check runs the tap) ...", flush=True)
    async with ctx.db.unit_of_work() as session:
        created = await accounts.create_account(
            session, email=f"bench-{uuid.uuid4().hex[:8]}@example.com", company="bench"
        )
    headers = {"Authorization": f"Bearer {created.access_token}"}
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://lockstitch.bench", headers=headers, timeout=60
    ) as http:

        async def call(method: str, path: str, body: Any = None) -> Any:
            response = await http.request(method, path, json=body)
            if response.status_code != 200:
                raise BenchError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return response.json()

        await call(
            "POST",
            "/v4/destinations",
            {
                "type": "postgres",
                "name": "Bench warehouse",
                "properties": {
                    "host": "127.0.0.1",
                    "port": str(_port(args)),
                    "username": "postgres",
                    "password": PASSWORD,
                    "database": TARGET_DB,
                    "ssl": "false",
                },
            },
        )
        source = await call(
            "POST",
            "/v4/sources",
            {
                "type": "platform.hp-postgres",
                "display_name": SCHEMAS["lockstitch"],
                "properties": {
                    "host": "127.0.0.1",
                    "port": str(_port(args)),
                    "user": "postgres",
                    "password": PASSWORD,
                    "dbname": SOURCE_DB,
                    "frequency_in_minutes": "1440",
                },
            },
        )
        if source["name"] != SCHEMAS["lockstitch"]:
            raise BenchError(f"the source is named {source['name']!r}, not {SCHEMAS['lockstitch']!r}")
        checks = RunConnectionChecks()
        while await checks.run_once(ctx, ctx.process_id) or checks.busy:
            await checks.wait()
        check = await call("GET", f"/v4/sources/{source['id']}/last-connection-check")
        if check["status"] != "succeeded":
            raise BenchError(f"the connection check did not succeed: {check}")
        streams = await call("GET", f"/v4/sources/{source['id']}/streams")
        stream = next((s for s in streams if s["tap_stream_id"] == STREAM), None)
        if stream is None:
            raise BenchError(f"discovery found no {STREAM}: {[s['tap_stream_id'] for s in streams]}")
        # Every column: Stitch's rules select a field only when asked to (or selected-by-default,
        # which tap-postgres does not set).
        detail = await call("GET", f"/v4/sources/{source['id']}/streams/{stream['stream_id']}")
        columns = list(json.loads(detail["schema"])["properties"])
        if sorted(columns) != sorted(COLUMNS):
            raise BenchError(f"discovery found the columns {columns}, not {list(COLUMNS)}")
        selection = [{"breadcrumb": [], "metadata": {"selected": True, "replication-method": "FULL_TABLE"}}]
        selection += [{"breadcrumb": ["properties", c], "metadata": {"selected": True}} for c in columns]
        await call(
            "PUT",
            f"/v4/sources/{source['id']}/streams/metadata",
            {"streams": [{"tap_stream_id": STREAM, "metadata": selection}]},
        )
        source = await call("GET", f"/v4/sources/{source['id']}")
        if source["report_card"]["current_step_type"] != "fully_configured":
            raise BenchError(f"the source is not fully configured: {source['report_card']}")

    # What the runner would hand the plugins (runner.extractions.ExtractionRun._run), built by
    # the same functions; only the target schema differs per contender.
    async with ctx.db.read() as session:
        row = await session.get(Source, source["id"])
        assert row is not None
        streams_orm = list(
            await session.scalars(select(Stream).where(Stream.source_id == row.id).order_by(Stream.id))
        )
        destination = await destination_for_source(session, row.account_id, row.destination_id)
    assert destination is not None
    source_type = ctx.catalog.source_type(row.type)
    assert source_type is not None
    tap = source_type.definition.tap
    destination_type = ctx.catalog.destination_type(destination.type)
    assert tap is not None
    assert destination_type is not None
    assert destination_type.definition.target is not None
    plugins = Plugins.from_settings(ctx.settings)
    tap_exe = await plugins.ensure(tap, log=lambda line: print(f"  {line}", flush=True))
    target_exe = await plugins.ensure(
        destination_type.definition.target, log=lambda line: print(f"  {line}", flush=True)
    )
    async with tap_connection(ctx, "bench", row, source_type, tap, 3600, secrets=[]) as connection:
        tap_config = connection.config
    catalog = singer_catalog(streams_orm)
    target_configs = {name: await target_config(ctx, destination, schema) for name, schema in SCHEMAS.items()}
    return Plan(Path(tap_exe), Path(target_exe), tap_config, catalog, target_configs, source["id"])


def _port(args: argparse.Namespace) -> int:
    return httpx.URL(args.postgres).port or 5432


def _write_files(plan: Plan, where: Path) -> dict[str, Path]:
    where.mkdir(parents=True, exist_ok=True)
    files = {"tap": where / "tap.json", "catalog": where / "catalog.json"}
    files["tap"].write_text(json.dumps(plan.tap_config, indent=2))
    files["catalog"].write_text(json.dumps(plan.catalog, indent=2))
    for name, config in plan.target_configs.items():
        files[f"target-{name}"] = where / f"target-{name}.json"
        files[f"target-{name}"].write_text(json.dumps(config, indent=2))
    return files


# --- the contenders ----------------------------------------------------------------------------


def _shell_env() -> dict[str, str]:
    """A user's shell: this environment without Lockstitch's settings and without
    PYTHONDONTWRITEBYTECODE (set on some machines; Lockstitch does not pass it to plugins either,
    and in a venv without .pyc files it makes every start compile every import). PYTHONUNBUFFERED
    as Lockstitch sets it for plugins (runner.process.plugin_env): the same plugin behaviour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTITCH_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _rusage() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def _finish(contender: str, number: int, seconds: float, wall: float, before: tuple[float, float]) -> Run:
    me, children = _rusage()
    return Run(
        contender=contender,
        round=number,
        seconds=round(seconds, 3),
        records_per_second=0.0,
        rows_loaded=0,
        distinct_ids=0,
        cpu_plugins_s=round(children - before[1], 2),
        cpu_bench_s=round(me - before[0], 2),
        load_average_1m=round(os.getloadavg()[0], 2),
        wall_seconds=round(wall, 3),
    )


async def _time_pipe(plan: Plan, files: dict[str, Path], logs: Path, number: int) -> Run:
    with tempfile.TemporaryDirectory(prefix="lockstitch-bench-pipe-") as cwd:
        command = (
            f"{shlex.quote(str(plan.tap))} --config {shlex.quote(str(files['tap']))} "
            f"--catalog {shlex.quote(str(files['catalog']))} 2>{shlex.quote(str(logs / 'pipe-tap.log'))} "
            f"| {shlex.quote(str(plan.target))} --config {shlex.quote(str(files['target-pipe']))} "
            f"2>{shlex.quote(str(logs / 'pipe-target.log'))} >{shlex.quote(str(logs / 'pipe-state.jsonl'))}"
        )
        before = _rusage()
        started = time.perf_counter()
        done = await asyncio.to_thread(
            subprocess.run, ["bash", "-o", "pipefail", "-c", command], cwd=cwd, env=_shell_env(), check=False
        )
        seconds = time.perf_counter() - started
    run = _finish("pipe", number, seconds, seconds, before)
    if done.returncode != 0:
        raise BenchError(f"the plain pipe exited with {done.returncode}; see {logs}/pipe-*.log")
    return run


async def _time_lockstitch(ctx: Context, plan: Plan, number: int) -> Run:
    before = _rusage()
    started = time.perf_counter()
    async with ctx.db.unit_of_work() as session:
        source = await session.get(Source, plan.lockstitch_source_id)
        assert source is not None
        extraction, created = await enqueue_extraction(session, source, "manual", utcnow())
        assert created
    extraction_id = extraction.id
    job = RunExtractions()
    while await job.run_once(ctx, ctx.process_id) or job.busy:
        await job.wait()
    wall = time.perf_counter() - started
    async with ctx.db.read() as session:
        done = await session.get(Extraction, extraction_id)
    assert done is not None
    if done.state != "succeeded" or done.completion_time is None:
        raise BenchError(
            f"the Lockstitch extraction {done.state}: tap {done.tap_description!r}, "
            f"target {done.target_description!r}"
        )
    seconds = (done.completion_time - done.created_at).total_seconds()
    run = _finish("lockstitch", number, seconds, wall, before)
    run.records_counted = sum(int(n) for n in done.records.values())
    return run


@dataclass
class Meltano:
    executable: Path
    project: Path
    version: str
    env: dict[str, str]
    install_seconds: float | None


def _meltano_setup(args: argparse.Namespace, plan: Plan, files: dict[str, Path]) -> Meltano:
    """meltano in its own venv and a project with the same pair, configs and catalog; its venv
    and plugins are installed once (again only when a pin changes)."""
    root = args.work / "meltano"
    venv, project = root / "venv", root / "project"
    project.mkdir(parents=True, exist_ok=True)
    extractor: dict[str, Any] = {
        "name": "tap-postgres",
        "namespace": "tap_postgres",
        "pip_url": TAP_PIP,
        "executable": "tap-postgres",
        "capabilities": ["catalog", "discover", "state", "about"],
        "config": plan.tap_config,
        # The catalog Lockstitch hands the tap (no discovery at run time: Lockstitch does not
        # discover per run either), and the same selection as a rule.
        "catalog": str(files["catalog"]),
        "select": [f"{STREAM}.*"],
    }
    loader = {
        "name": "target-postgres",
        "namespace": "target_postgres",
        "pip_url": TARGET_PIP,
        "executable": "target-postgres",
        "config": plan.target_configs["meltano"],
    }
    meltano_yml = {
        "default_environment": "bench",
        "project_id": "lockstitch-bench",
        "send_anonymous_usage_stats": False,
        "environments": [{"name": "bench"}],
        "plugins": {"extractors": [extractor], "loaders": [loader]},
    }
    (project / "meltano.yml").write_text(json.dumps(meltano_yml, indent=2) + "\n")  # JSON is YAML
    env = _shell_env()
    env.update({"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "MELTANO_CLI_DISABLE_VERSION_CHECK": "true"})
    wanted = json.dumps(
        {"meltano": MELTANO_VERSION, "tap": TAP_PIP, "target": TARGET_PIP, "python": sys.version}
    )
    marker = root / ".installed"
    executable = venv / "bin" / "meltano"
    installed: float | None = None
    if not marker.exists() or marker.read_text() != wanted or not executable.exists():
        print(f"installing meltano=={MELTANO_VERSION} and its plugins (once) ...", flush=True)
        started = time.perf_counter()
        marker.unlink(missing_ok=True)
        shutil.rmtree(venv, ignore_errors=True)
        shutil.rmtree(project / ".meltano", ignore_errors=True)
        pip_env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        log_path = args.work / "logs" / "meltano-install.log"
        with log_path.open("wb") as log:
            steps = [
                ([sys.executable, "-m", "venv", str(venv)], pip_env),
                ([str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", MELTANO_PIN], pip_env),
                ([str(executable), "install"], env),
            ]
            for command, step_env in steps:
                done = subprocess.run(
                    command, cwd=project, env=step_env, stdout=log, stderr=subprocess.STDOUT, check=False
                )
                if done.returncode != 0:
                    raise BenchError(
                        f"{' '.join(command[-2:])} exited with {done.returncode}; see {log_path}"
                    )
        # uv (meltano's venv backend) writes no .pyc files, pip does: compile them once, as
        # pip did for Lockstitch's plugin venvs, so neither side compiles its imports per run.
        for site in (project / ".meltano").glob("*/*/venv/lib/python*/site-packages"):
            subprocess.run(
                [str(venv / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(site)],
                env=pip_env,
                stdout=subprocess.DEVNULL,
                check=False,
            )
        marker.write_text(wanted)
        installed = time.perf_counter() - started
        print(f"installed in {installed:.0f} s", flush=True)
    version = subprocess.run(
        [str(executable), "--version"], cwd=project, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    return Meltano(executable, project, version, env, installed)


async def _time_meltano(meltano: Meltano, logs: Path, number: int) -> Run:
    before = _rusage()
    started = time.perf_counter()
    with (logs / "meltano-run.log").open("wb") as log:
        done = await asyncio.to_thread(
            subprocess.run,
            [str(meltano.executable), "run", "tap-postgres", "target-postgres"],
            cwd=meltano.project,
            env=meltano.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.perf_counter() - started
    run = _finish("meltano", number, seconds, seconds, before)
    if done.returncode != 0:
        raise BenchError(f"meltano run exited with {done.returncode}; see {logs}/meltano-run.log")
    return run


def _plugin_versions(plan: Plan, meltano: Meltano | None) -> dict[str, Any]:
    """The distributions in each plugin venv: Lockstitch's (shared with the pipe) and meltano's."""

    def dists(executable: Path) -> dict[str, str]:
        found: dict[str, str] = {}
        for info in executable.parent.parent.glob("lib/python*/site-packages/*.dist-info"):
            name, _, version = info.name[: -len(".dist-info")].partition("-")
            found[name.lower().replace("_", "-")] = version
        return found

    versions: dict[str, Any] = {"tap": dists(plan.tap), "target": dists(plan.target)}
    if meltano is not None:
        plugins = meltano.project / ".meltano"
        for role, kind, name in (
            ("tap", "extractors", "tap-postgres"),
            ("target", "loaders", "target-postgres"),
        ):
            theirs = dists(plugins / kind / name / "venv" / "bin" / name)
            ours = versions[role]
            theirs = {n: v for n, v in theirs.items() if n not in VENV_TOOLING}
            ours = {n: v for n, v in ours.items() if n not in VENV_TOOLING}
            versions[f"meltano_{role}_differs"] = {
                n: [ours.get(n), theirs.get(n)]
                for n in sorted(set(ours) | set(theirs))
                if ours.get(n) != theirs.get(n)
            }
    return versions


# --- the report --------------------------------------------------------------------------------


def _report(
    args: argparse.Namespace,
    table: dict[str, Any],
    plan: Plan,
    runs: list[Run],
    versions: dict[str, Any],
    meltano: Meltano | None,
    load_average: float,
) -> dict[str, Any]:
    rows = table["rows"]
    medians = {
        c: round(statistics.median(r.records_per_second for r in runs if r.contender == c), 1)
        for c in args.only
    }
    ratios: dict[str, float] = {}
    if "lockstitch" in medians:
        for other in ("pipe", "meltano"):
            if other in medians:
                ratios[f"lockstitch_to_{other}"] = round(medians["lockstitch"] / medians[other], 3)
    checks = [
        {
            "run": f"{r.contender} #{r.round}",
            "rows_loaded": r.rows_loaded,
            "distinct_ids": r.distinct_ids,
            "records_counted": r.records_counted,
            "content_matches": r.content_matches,
            "ok": r.rows_loaded == r.distinct_ids == rows
            and r.records_counted in (None, rows)
            and r.content_matches,
        }
        for r in runs
    ]
    return {
        "benchmark": "replication",
        "lockstitch_version": __version__,
        "finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "load_average_1m_before": round(load_average, 2),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "source": table,
        "plugins": {
            "tap": f"{TAP_PIP} ({plan.tap})",
            "target": f"{TARGET_PIP} ({plan.target})",
            "meltano": f"{MELTANO_PIN} ({meltano.version}, {meltano.executable})" if meltano else None,
            "meltano_install_seconds": round(meltano.install_seconds, 1)
            if meltano and meltano.install_seconds
            else None,
            "venv_differences_meltano_vs_lockstitch": {
                k: v for k, v in versions.items() if k.startswith("meltano_")
            },
        },
        "rounds": args.rounds,
        "records_per_second_median": medians,
        "ratios": ratios,
        "runs": [asdict(r) for r in runs],
        "checks": checks,
        "checks_passed": all(c["ok"] for c in checks),
    }


def _print(report: dict[str, Any]) -> None:
    source, machine, plugins = report["source"], report["machine"], report["plugins"]
    print(
        f"\nLockstitch {report['lockstitch_version']} replication benchmark: {source['rows']:,} rows "
        f"({source['table']}: {source['row_bytes']:.0f} bytes of data a row, "
        f"{source['bytes'] / 2**20:.0f} MiB on disk), full table, every column, "
        f"PostgreSQL {source['server_version']} -> the same server"
    )
    print(f"  tap      {plugins['tap']}")
    print(f"  target   {plugins['target']}")
    if plugins["meltano"]:
        print(f"  meltano  {plugins['meltano']}")
        differs = {k: v for k, v in plugins["venv_differences_meltano_vs_lockstitch"].items() if v}
        print(
            "           its plugin venvs (uv) hold the same distributions as Lockstitch's"
            if not differs
            else f"           its plugin venvs differ (ours, meltano's): {differs}"
        )
    print(
        f"  machine  {machine['cpus']} cores ({machine['cpu_model']}) shared by both plugins, the "
        f"middle and PostgreSQL; load average {machine['load_average_1m_before']} before the run"
    )
    print(f"\n{'contender':<28}{'records/s':>12}  (median of {report['rounds']}; each run in order)")
    for contender, rate in report["records_per_second_median"].items():
        each = [r["records_per_second"] for r in report["runs"] if r["contender"] == contender]
        print(f"{LABELS[contender]:<28}{rate:>12,.0f}  runs: {', '.join(f'{x:,.0f}' for x in each)}")
    for name, value in report["ratios"].items():
        label = "Lockstitch / " + ("plain pipe" if name.endswith("pipe") else "meltano")
        print(f"{label:<28}{value:>12.3f}")
    print(
        "\nruns in order (CPU s: the tap and target processes, with meltano's own for meltano / this "
        "process: Lockstitch's middle and worker; load: 1-minute load average at the run's end):"
    )
    print(
        f"{'run':<32}{'seconds':>9}{'records/s':>12}{'rows loaded':>13}{'CPU plugins':>13}"
        f"{'CPU middle':>12}{'load':>6}"
    )
    for r in report["runs"]:
        print(
            f"{LABELS[r['contender']] + ' #' + str(r['round']):<32}{r['seconds']:>9.1f}"
            f"{r['records_per_second']:>12,.0f}{r['rows_loaded']:>13,}{r['cpu_plugins_s']:>13.1f}"
            f"{r['cpu_bench_s']:>12.1f}{r['load_average_1m']:>6.1f}"
        )
    failed = [c["run"] for c in report["checks"] if not c["ok"]]
    counted = (
        ", Lockstitch counted each record" if any(c["records_counted"] for c in report["checks"]) else ""
    )
    print(
        f"\nchecks: every run loaded exactly {source['rows']:,} rows, each id once, every column's content "
        f"as in the source{counted} -> {'ok' if not failed else 'FAILED: ' + ', '.join(failed)}"
    )
