"""A real ``lockstitch serve`` in a subprocess, as operators run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """The server did not start, or died."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def lockstitch_command() -> list[str]:
    """The installed ``lockstitch`` script next to this interpreter (``.venv/bin/lockstitch``)."""
    script = Path(sys.executable).with_name("lockstitch")
    if not script.exists():
        raise ServerError(f"{script} does not exist: run `make install` first")
    return [str(script)]


class Server:
    """``lockstitch serve --no-worker`` (or with its worker) on a free port; output to ``log_path``."""

    def __init__(
        self, env: dict[str, str], log_path: Path, *, startup_timeout: float = 120.0, worker: bool = False
    ) -> None:
        self.env = env
        self.worker = worker
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        command = [*lockstitch_command(), "serve", "--host", HOST, "--port", str(self.port)]
        if not self.worker:
            command.append("--no-worker")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                self.check_alive()
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerError(f"no answer on {self.base_url}/healthz\n{self.log_tail()}")
                time.sleep(0.05)  # poll interval, not a guess at the startup time

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise ServerError(f"the server exited (code {code})\n{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """User+system CPU time the server process has used so far (Linux), else None."""
        if self.process is None:
            return None
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])
