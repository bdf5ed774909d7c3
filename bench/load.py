"""Load generators: wrk when it is available, else a small asyncio HTTP/1.1 client.

Both run closed-loop: ``connections`` keep-alive connections, each sending its next request as
soon as the previous answer arrived, for ``duration`` seconds. Both build every request the same
way for every mode (``trivial``: GET /healthz; ``get``/``put``: a random source id per request,
bearer token, PUT alternating frequency_in_minutes 30/60), so their runs compare with each
other within one tool. Figures from different tools do not compare.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import random
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Mode = Literal["trivial", "get", "put"]
Tool = Literal["auto", "wrk", "python"]
WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
_RESULT_LINE = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)


class LoadError(RuntimeError):
    """The load generator failed, or the server answered with errors."""


@dataclass(frozen=True)
class LoadSpec:
    host: str
    port: int
    mode: Mode
    connections: int
    threads: int
    duration: float
    token: str = ""
    ids_file: Path | None = None


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def failed(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "rps": round(self.rps, 1)}


class LoadGenerator:
    name: str
    version: str

    def run(self, spec: LoadSpec) -> LoadResult:
        raise NotImplementedError


def choose(tool: Tool) -> LoadGenerator:
    """The generator to use; ``auto`` prefers wrk, installing it with apt-get when we are root."""
    if tool == "python":
        return PythonLoad()
    wrk = shutil.which("wrk") or (_install_wrk() if tool == "auto" else None)
    if wrk:
        return Wrk(wrk)
    if tool == "wrk":
        raise LoadError("wrk is not installed (Debian: apt-get install wrk)")
    print("wrk is not available: using the built-in Python load generator (lower ceiling)")
    return PythonLoad()


def _install_wrk() -> str | None:
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None
    print("wrk is not installed: installing it with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run([apt, "update", "-qq"], env=env, capture_output=True, check=False)
        subprocess.run(install, env=env, capture_output=True, check=False)
    return shutil.which("wrk")


class Wrk(LoadGenerator):
    name = "wrk"

    def __init__(self, path: str) -> None:
        self.path = path
        banner = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        first = (banner.stdout or banner.stderr).strip().splitlines()
        self.version = first[0].split(" Copyright")[0] if first else "wrk (unknown version)"

    def run(self, spec: LoadSpec) -> LoadResult:
        command = [
            self.path,
            f"--threads={spec.threads}",
            f"--connections={spec.connections}",
            f"--duration={max(1, round(spec.duration))}s",
            "--timeout=30s",
            "--latency",
            f"--script={WRK_SCRIPT}",
            f"http://{spec.host}:{spec.port}",
            "--",
            spec.mode,
        ]
        if spec.mode != "trivial":
            command.append(str(spec.ids_file))
        env = {**os.environ, "BENCH_TOKEN": spec.token}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        found = _RESULT_LINE.search(done.stdout)
        if done.returncode != 0 or found is None:
            raise LoadError(f"wrk failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
        raw = json.loads(found.group(1))
        return LoadResult(
            requests=raw["requests"],
            duration_s=raw["duration_us"] / 1e6,
            p50_ms=raw["p50_us"] / 1e3,
            p90_ms=raw["p90_us"] / 1e3,
            p99_ms=raw["p99_us"] / 1e3,
            mean_ms=raw["mean_us"] / 1e3,
            max_ms=raw["max_us"] / 1e3,
            non_2xx=raw["status"],
            socket_errors={name: raw[name] for name in ("connect", "read", "write", "timeout")},
        )


class PythonLoad(LoadGenerator):
    """Raw keep-alive HTTP/1.1 over asyncio streams, one process per "thread" (as wrk's -t)."""

    name = "python-asyncio"
    version = "bench.load.PythonLoad"

    def run(self, spec: LoadSpec) -> LoadResult:
        ids = spec.ids_file.read_text().split() if spec.ids_file else []
        shares = [spec.connections // spec.threads] * spec.threads
        for i in range(spec.connections % spec.threads):
            shares[i] += 1
        with concurrent.futures.ProcessPoolExecutor(max_workers=spec.threads) as pool:
            parts = list(pool.map(_process_main, [(spec, ids, n, seed) for seed, n in enumerate(shares)]))
        latencies = sorted(x for part in parts for x in part.latencies)
        if not latencies:
            raise LoadError("the Python load generator completed no request")
        errors: dict[str, int] = {}
        for part in parts:
            for name, count in part.errors.items():
                errors[name] = errors.get(name, 0) + count
        return LoadResult(
            requests=len(latencies),
            duration_s=max(part.elapsed for part in parts),
            p50_ms=_percentile(latencies, 50) * 1e3,
            p90_ms=_percentile(latencies, 90) * 1e3,
            p99_ms=_percentile(latencies, 99) * 1e3,
            mean_ms=sum(latencies) / len(latencies) * 1e3,
            max_ms=latencies[-1] * 1e3,
            non_2xx=sum(part.non_2xx for part in parts),
            socket_errors=errors,
        )


def _percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


@dataclass
class _Part:
    latencies: list[float] = field(default_factory=list)
    non_2xx: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0


def _process_main(job: tuple[LoadSpec, list[str], int, int]) -> _Part:
    spec, ids, connections, seed = job
    return asyncio.run(_drive(spec, ids, connections, random.Random(seed * 7919 + os.getpid())))


async def _drive(spec: LoadSpec, ids: list[str], connections: int, rng: random.Random) -> _Part:
    part = _Part()
    started = time.perf_counter()
    deadline = started + spec.duration
    await asyncio.gather(*(_connection(spec, ids, rng, deadline, part) for _ in range(connections)))
    part.elapsed = time.perf_counter() - started
    return part


def _request(spec: LoadSpec, ids: list[str], rng: random.Random, counter: int) -> bytes:
    host = f"Host: {spec.host}:{spec.port}\r\n"
    if spec.mode == "trivial":
        return f"GET /healthz HTTP/1.1\r\n{host}\r\n".encode()
    path = f"/v4/sources/{rng.choice(ids)}"
    auth = f"Authorization: Bearer {spec.token}\r\n"
    if spec.mode == "get":
        return f"GET {path} HTTP/1.1\r\n{host}{auth}\r\n".encode()
    body = '{"properties":{"frequency_in_minutes":"%s"}}' % ("30" if counter % 2 == 0 else "60")
    return (
        f"PUT {path} HTTP/1.1\r\n{host}{auth}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


async def _connection(
    spec: LoadSpec, ids: list[str], rng: random.Random, deadline: float, part: _Part
) -> None:
    counter = 0
    writer: asyncio.StreamWriter | None = None
    try:
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(spec.host, spec.port)
            except OSError:
                part.errors["connect"] = part.errors.get("connect", 0) + 1
                await asyncio.sleep(0.01)
                continue
            counter += 1
            sent = time.perf_counter()
            try:
                writer.write(_request(spec, ids, rng, counter))
                await writer.drain()
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                part.errors["read"] = part.errors.get("read", 0) + 1
                writer.close()
                writer = None
                continue
            part.latencies.append(time.perf_counter() - sent)
            if not 200 <= status < 300:
                part.non_2xx += 1
    finally:
        if writer is not None:
            writer.close()


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked body); return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status
