"""Refresh benchmark: Lockstitch's token refreshes per second against a plain HTTP client.

5,000 credentials come due at once; a fast local token endpoint (``bench.token_endpoint``, in its
own process) answers. Measured in one run, interleaved (plain, Lockstitch, plain):

* plain: an httpx client sending the same 5,000 refresh requests (form body, Basic client
  authentication) at the same concurrency: the limit any refresher could reach here;
* Lockstitch: ``TokenEngine.refresh_due`` as the worker runs it: claim with a lease, in-flight
  mark committed, unseal, request, seal, compare-and-swap settle, every credential.

Prints refreshes per second and the ratio; checks that every credential was refreshed exactly
once and that the endpoint saw exactly 5,000 requests from Lockstitch.

    python -m bench refresh [--postgres [ADMIN_URL]] [--credentials N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.api import DEFAULT_POSTGRES, _database, _environment
from bench.server import HOST, free_port
from lockstitch.config import load_settings
from lockstitch.context import Context, build_context
from lockstitch.kit.time import utcnow
from lockstitch.migrations import upgrade
from lockstitch.models import Account, OAuthCredential, Source
from lockstitch.oauth import sealing
from lockstitch.oauth.lifecycle import TokenEngine

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / ".lockstitch-bench" / "refresh.json"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-client-secret"
BATCH = 500


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench refresh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES, metavar="ADMIN_URL")
    parser.add_argument("--credentials", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.database_url = None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    port = free_port()
    endpoint = subprocess.Popen(
        [sys.executable, "-m", "bench.token_endpoint", str(port)], stdout=subprocess.PIPE, cwd=REPO
    )
    try:
        assert endpoint.stdout is not None
        endpoint.stdout.readline()  # "ready"
        url = f"http://{HOST}:{port}/token"
        with (
            tempfile.TemporaryDirectory(prefix="lockstitch-bench-") as tmp,
            _database(args) as database_url,
            _environment(Path(tmp), database_url),
        ):
            os.environ["LOCKSTITCH_OAUTH__REFRESH_CONCURRENCY"] = str(args.concurrency)
            report = asyncio.run(_run(args, url, port))
    finally:
        endpoint.terminate()
        endpoint.wait()
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nresults written to {args.out}")
    return 0 if report["checks_passed"] else 1


async def _run(args: argparse.Namespace, url: str, port: int) -> dict[str, Any]:
    ctx = build_context(load_settings())
    try:
        await upgrade(ctx.db.engine)
        print(f"seeding {args.credentials:,} credentials ...", flush=True)
        await _seed(ctx, args.credentials, url)
        plain_1 = await _plain(url, args.credentials, args.concurrency)
        before = await _served(port)
        lockstitch = await _lockstitch(ctx)
        served = await _served(port) - before
        plain_2 = await _plain(url, args.credentials, args.concurrency)
        async with ctx.db.read() as session:
            refreshed = await session.scalar(select(func.count()).where(OAuthCredential.version == 2))
            valid = await session.scalar(select(func.count()).where(OAuthCredential.status == "valid"))
    finally:
        await ctx.close()
    plain = (plain_1 + plain_2) / 2
    return {
        "database": "postgresql" if args.postgres else "sqlite",
        "credentials": args.credentials,
        "concurrency": args.concurrency,
        "plain_per_second": [round(plain_1, 1), round(plain_2, 1)],
        "lockstitch_per_second": round(lockstitch, 1),
        "ratio": round(lockstitch / plain, 3),
        "requests_served_to_lockstitch": served,
        "refreshed_exactly_once": refreshed,
        "valid": valid,
        "checks_passed": served == args.credentials == refreshed == valid,
        "cores": os.cpu_count(),
    }


async def _seed(ctx: Context, count: int, token_url: str) -> None:
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        account = Account(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", company="bench", created_at=now)
        session.add(account)
        await session.flush()
        account_id = account.id
    properties = {
        "api_url": "http://127.0.0.1:9/api",
        "token_url": token_url,
        "streams": [{"name": "items", "path": "/items"}],
        "image_version": "1.latest",
        "product": "pipeline",
    }
    for first in range(0, count, BATCH):
        async with ctx.db.unit_of_work() as session:
            sources = [
                Source(
                    account_id=account_id,
                    type="lockstitch.rest-api",
                    name=f"api_{n}",
                    display_name=f"API {n}",
                    properties=properties,
                    credentials={},
                    created_at=now,
                    updated_at=now,
                )
                for n in range(first, min(first + BATCH, count))
            ]
            session.add_all(sources)
            await session.flush()
            for source in sources:
                credential = OAuthCredential(
                    account_id=account_id,
                    source_id=source.id,
                    provider="oauth2",
                    app="source",
                    status="valid",
                    version=1,
                    failures=0,
                    provides=["client_id", "client_secret", "refresh_token"],
                    refresh_due_at=now - dt.timedelta(seconds=1),
                    created_at=now,
                    updated_at=now,
                )
                credential.client_id = sealing.seal(ctx.keyring, credential, "client_id", CLIENT_ID)
                credential.client_secret = sealing.seal(
                    ctx.keyring, credential, "client_secret", CLIENT_SECRET
                )
                credential.refresh_token = sealing.seal(
                    ctx.keyring, credential, "refresh_token", f"rt-{source.id}"
                )
                session.add(credential)


async def _plain(url: str, count: int, concurrency: int) -> float:
    """The same requests with nothing but an HTTP client: the ceiling."""
    auth = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    queue = list(range(count))
    async with httpx.AsyncClient(limits=limits) as http:

        async def work() -> None:
            while queue:
                n = queue.pop()
                response = await http.post(
                    url,
                    data={"grant_type": "refresh_token", "refresh_token": f"rt-{n}"},
                    headers={"Authorization": auth},
                )
                response.raise_for_status()
                response.json()

        started = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def _lockstitch(ctx: Context) -> float:
    engine = TokenEngine(ctx, "bench")
    started = time.perf_counter()
    claimed = 0
    while True:
        batch = await engine.refresh_due()
        claimed += batch
        if batch == 0:
            break
    elapsed = time.perf_counter() - started
    return claimed / elapsed


async def _served(port: int) -> int:
    async with httpx.AsyncClient() as http:
        return int((await http.get(f"http://{HOST}:{port}/count")).json()["served"])


def _print(report: dict[str, Any]) -> None:
    print(
        f"\nLockstitch refresh benchmark: {report['credentials']:,} credentials due at once, "
        f"concurrency {report['concurrency']}, {report['database']}, {report['cores']} cores"
    )
    plain = sum(report["plain_per_second"]) / 2
    print(f"  plain httpx client   {plain:8.1f} refreshes/s  (runs: {report['plain_per_second']})")
    print(f"  Lockstitch           {report['lockstitch_per_second']:8.1f} refreshes/s")
    print(f"  ratio                {report['ratio']:8.3f}")
    print(
        f"  checks: {report['requests_served_to_lockstitch']} requests served, "
        f"{report['refreshed_exactly_once']} refreshed exactly once, {report['valid']} valid "
        f"-> {'ok' if report['checks_passed'] else 'FAILED'}"
    )
