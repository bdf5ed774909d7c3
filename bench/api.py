"""API benchmark: GET and PUT /v4/sources/{id} against the same server's trivial endpoint.

One run, one real ``lockstitch serve --no-worker`` (a subprocess, as operators run it) over a
database seeded with 10,000 sources, 32 keep-alive connections. Runs, each after a warm-up:
GET /healthz, GET /v4/sources/{id}, PUT /v4/sources/{id}, GET /healthz again. The two trivial
runs bracket the others; their mean is the baseline each endpoint's rate is divided by, and
their spread shows how noisy the machine was. Only those ratios compare across machines;
nothing here asserts a timing.

    python -m bench api [--postgres [ADMIN_URL] | --database-url URL] [--duration S] [--out FILE]

By default the database is SQLite in a temporary LOCKSTITCH_HOME. ``--postgres`` creates a
fresh database on that server (default postgresql://postgres@127.0.0.1:5432/postgres) and
drops it afterwards; ``--database-url`` uses an existing database as it is (the benchmark's
account and its sources are deleted at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import delete

from bench import load
from bench.seed import SOURCE_TYPE, Seeded, seed
from bench.server import HOST, Server
from lockstitch import __version__
from lockstitch.config import load_settings
from lockstitch.context import build_context
from lockstitch.kit.crypto import generate_key
from lockstitch.migrations import upgrade
from lockstitch.models import Account

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / ".lockstitch-bench" / "api.json"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
PLAN: tuple[load.Mode, ...] = ("trivial", "get", "put", "trivial")
LABELS: dict[load.Mode, str] = {
    "trivial": "GET /healthz (trivial)",
    "get": "GET /v4/sources/{id}",
    "put": "PUT /v4/sources/{id}",
}


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to (errors, bad seed, dead server)."""


@dataclass(frozen=True)
class Run:
    mode: load.Mode
    result: load.LoadResult
    server_cpu: float | None  # fraction of one core the server process used during the run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench api", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES,
        metavar="ADMIN_URL",
        help=f"create a fresh PostgreSQL database there, drop it afterwards (default {DEFAULT_POSTGRES})",
    )
    where.add_argument("--database-url", help="use this existing database (SQLAlchemy URL) as it is")
    parser.add_argument("--sources", type=int, default=10_000, help="sources to seed (default 10000)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="load generator threads (default 2)")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per run (default 10)")
    parser.add_argument(
        "--warmup", type=int, default=3, help="seconds of warm-up before each run (default 3)"
    )
    parser.add_argument(
        "--tool", choices=["auto", "wrk", "python"], default="auto", help="load generator (default auto: wrk)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if args.sources < 1 or args.connections < 1 or args.threads < 1 or args.duration < 1 or args.warmup < 0:
        parser.error(
            "--sources, --connections, --threads and --duration must be positive, --warmup not negative"
        )
    args.threads = min(args.threads, args.connections)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        report = run(args)
    except (BenchError, load.LoadError, RuntimeError, OSError, asyncpg.PostgresError) as exc:
        print(f"\nAPI benchmark FAILED: {exc}", file=sys.stderr)
        return 1
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults written to {args.out} (run took {report['wall_seconds']:.0f} s)")
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    generator = load.choose(args.tool)
    load_average = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="lockstitch-bench-") as tmp,
        _database(args) as database_url,
        _environment(Path(tmp), database_url) as env,
    ):
        home = Path(tmp)
        print(f"seeding {args.sources:,} {SOURCE_TYPE} sources ...", flush=True)
        seeded = asyncio.run(_seed(args.sources))
        print(f"seeded in {seeded.seconds:.1f} s ({seeded.database_version})", flush=True)
        ids_file = home / "source-ids.txt"
        ids_file.write_text("".join(f"{i}\n" for i in seeded.source_ids))
        try:
            with Server(env, home / "server.log") as server:
                _verify(server, seeded)
                runs = _measure(args, generator, server, seeded, ids_file)
        finally:
            if args.database_url:
                asyncio.run(_delete_account(seeded.account_id))
    report = _report(args, generator, seeded, runs, load_average)
    _print(report)
    return report


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[str | None]:
    """The database URL to use (None: SQLite in LOCKSTITCH_HOME); a --postgres one is dropped after."""
    if args.database_url:
        yield args.database_url
        return
    if not args.postgres:
        yield None
        return
    name = f"lockstitch_bench_{os.getpid()}"
    admin_url = args.postgres.replace("postgresql+asyncpg://", "postgresql://", 1)  # asyncpg's own form

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(admin_url, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def _environment(home: Path, database_url: str | None) -> Iterator[dict[str, str]]:
    """Settings for the seeding (this process) and the server alike; no inherited LOCKSTITCH_*."""
    ours = {
        "LOCKSTITCH_HOME": str(home),
        "LOCKSTITCH_ENV": "test",
        "LOCKSTITCH_ENCRYPTION_KEYS": generate_key("bench"),
        # The benchmarks' servers (token endpoint, databases) are on loopback: allowed as an
        # operator allows an internal network.
        "LOCKSTITCH_NETWORK__ALLOWED_CIDRS": "127.0.0.0/8,::1/128",
    }
    if database_url:
        ours["LOCKSTITCH_DATABASE_URL"] = database_url
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith("LOCKSTITCH_")]:
        del os.environ[name]
    os.environ.update(ours)
    try:
        yield dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def _seed(count: int) -> Seeded:
    ctx = build_context(load_settings())
    try:
        await upgrade(ctx.db.engine)
        return await seed(ctx, count)
    finally:
        await ctx.close()


async def _delete_account(account_id: int) -> None:
    ctx = build_context(load_settings())
    try:
        async with ctx.db.unit_of_work() as session:
            await session.execute(delete(Account).where(Account.id == account_id))
    finally:
        await ctx.close()


def _verify(server: Server, seeded: Seeded) -> None:
    """A batch-seeded source reads like the one create_source made, and both endpoints answer 200."""
    headers = {"Authorization": f"Bearer {seeded.token}"}
    sample = random.choice(seeded.source_ids[1:] or seeded.source_ids)
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        reference = _ok(client.get(f"/v4/sources/{seeded.reference_id}"))
        seeded_source = _ok(client.get(f"/v4/sources/{sample}"))
        updated = _ok(
            client.put(f"/v4/sources/{sample}", json={"properties": {"frequency_in_minutes": "30"}})
        )
        again = _ok(client.get(f"/v4/sources/{sample}"))
    problems = []
    if set(seeded_source) != set(reference):
        problems.append(f"keys differ: {sorted(set(seeded_source) ^ set(reference))}")
    if set(seeded_source["properties"]) != set(reference["properties"]):
        problems.append("property names differ")
    for key in ("report_card", "schedule", "type", "stitch_client_id"):
        if seeded_source.get(key) != reference.get(key):
            problems.append(f"{key} differs")
    if "password" in seeded_source["properties"] or not seeded_source.get("check_job_name"):
        problems.append("credential shown or no connection check")
    if (
        updated["properties"].get("frequency_in_minutes") != "30"
        or again["properties"] != updated["properties"]
    ):
        problems.append("PUT did not store frequency_in_minutes")
    if problems:
        raise BenchError(
            f"seeded source {sample} does not read like source {seeded.reference_id}: {problems}"
        )


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise BenchError(f"{response.request.method} {response.request.url.path}: {response.status_code}")
    body = response.json()
    if not isinstance(body, dict) or "report_card" not in body:
        raise BenchError(f"{response.request.method} {response.request.url.path}: not a Source object")
    return body


def _measure(
    args: argparse.Namespace, generator: load.LoadGenerator, server: Server, seeded: Seeded, ids_file: Path
) -> list[Run]:
    runs = []
    for mode in PLAN:

        def spec(seconds: int, mode: load.Mode = mode) -> load.LoadSpec:
            return load.LoadSpec(
                host=HOST,
                port=server.port,
                mode=mode,
                connections=args.connections,
                threads=args.threads,
                duration=seconds,
                token=seeded.token,
                ids_file=None if mode == "trivial" else ids_file,
            )

        print(f"{LABELS[mode]}: {args.warmup} s warm-up, {args.duration} s measured ...", flush=True)
        if args.warmup:
            _require_clean(server, mode, generator.run(spec(args.warmup)))
        cpu_before, clock_before = server.cpu_seconds(), time.monotonic()
        result = generator.run(spec(args.duration))
        cpu_after, clock_after = server.cpu_seconds(), time.monotonic()
        _require_clean(server, mode, result)
        cpu = None
        if cpu_before is not None and cpu_after is not None:
            cpu = (cpu_after - cpu_before) / (clock_after - clock_before)
        runs.append(Run(mode, result, cpu))
    return runs


def _require_clean(server: Server, mode: load.Mode, result: load.LoadResult) -> None:
    server.check_alive()
    if result.requests == 0 or result.failed:
        raise BenchError(
            f"{LABELS[mode]}: {result.non_2xx} non-2xx answers and socket errors {result.socket_errors} "
            f"in {result.requests} requests\nserver log:\n{server.log_tail()}"
        )


def _report(
    args: argparse.Namespace,
    generator: load.LoadGenerator,
    seeded: Seeded,
    runs: list[Run],
    load_average: float,
) -> dict[str, Any]:
    trivial = [r.result.rps for r in runs if r.mode == "trivial"]
    baseline = sum(trivial) / len(trivial)
    endpoints: dict[str, Any] = {}
    for mode in ("trivial", "get", "put"):
        mine = [r for r in runs if r.mode == mode]
        rps = sum(r.result.rps for r in mine) / len(mine)
        endpoints[mode] = {
            "endpoint": LABELS[mode],
            "rps": round(rps, 1),
            "ratio_to_trivial": round(rps / baseline, 3),
            "p50_ms": round(max(r.result.p50_ms for r in mine), 2),
            "p99_ms": round(max(r.result.p99_ms for r in mine), 2),
        }
    return {
        "benchmark": "api",
        "lockstitch_version": __version__,
        "finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "cpu_model": _cpu_model(),
            "load_average_1m_before": round(load_average, 2),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "database": seeded.database_version,
            "sources": len(seeded.source_ids),
            "source_type": SOURCE_TYPE,
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "tool": generator.name,
            "tool_version": generator.version,
            "server": "lockstitch serve --no-worker (one uvicorn process, access log on)",
        },
        "seeding_seconds": round(seeded.seconds, 1),
        "trivial_rps": round(baseline, 1),
        "trivial_spread": round((max(trivial) - min(trivial)) / baseline, 3),
        "endpoints": endpoints,
        "runs": [
            {
                "endpoint": LABELS[r.mode],
                **r.result.as_json(),
                "ratio_to_trivial": round(r.result.rps / baseline, 3),
                "server_cpu": None if r.server_cpu is None else round(r.server_cpu, 2),
            }
            for r in runs
        ],
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _print(report: dict[str, Any]) -> None:
    machine, settings = report["machine"], report["settings"]
    facts = {
        "database": f"{settings['database']}: {settings['sources']:,} {settings['source_type']} sources "
        f"(seeded in {report['seeding_seconds']:.0f} s)",
        "server": settings["server"],
        "load": f"{settings['tool_version']}: {settings['connections']} connections, "
        f"{settings['threads']} threads, {settings['duration_s']} s per run after "
        f"{settings['warmup_s']} s of warm-up",
        "machine": f"{machine['cpus']} cores ({machine['cpu_model']}) shared by server, database and "
        f"load generator; load average {machine['load_average_1m_before']} before the run",
    }
    print(f"\nLockstitch {report['lockstitch_version']} API benchmark")
    for name, text in facts.items():
        print(f"  {name:<9} {text}")
    print()
    header = f"{'endpoint':<26}{'requests/s':>12}{'ratio':>8}{'p50 ms':>9}{'p99 ms':>9}"
    print(header)
    for mode in ("trivial", "get", "put"):
        entry = report["endpoints"][mode]
        print(
            f"{entry['endpoint']:<26}{entry['rps']:>12,.1f}{entry['ratio_to_trivial']:>8.3f}"
            f"{entry['p50_ms']:>9.2f}{entry['p99_ms']:>9.2f}"
        )
    print(
        f"\nratio: requests/s over the trivial baseline, the mean of the two /healthz runs "
        f"(they differ by {report['trivial_spread']:.1%}; its latencies are the worse run's)."
    )
    print("\nruns in order (server CPU: share of one core the server process used):")
    print(f"{header}{'server CPU':>12}")
    for entry in report["runs"]:
        cpu = "-" if entry["server_cpu"] is None else f"{entry['server_cpu']:.0%}"
        print(
            f"{entry['endpoint']:<26}{entry['rps']:>12,.1f}{entry['ratio_to_trivial']:>8.3f}"
            f"{entry['p50_ms']:>9.2f}{entry['p99_ms']:>9.2f}{cpu:>12}"
        )
