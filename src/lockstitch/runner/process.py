"""Running one plugin process: minimal environment, own process group, time limit, stderr tail.

Plugins get only what they need from the environment (no LOCKSTITCH_* values, no keys): their
config comes from the workspace file. Each runs in its own session so that a time limit or a
cancellation kills the whole group (a tap's own children included).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PASSED_ENV = ("LANG", "LC_ALL", "TZ", "HOME", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
STDERR_TAIL_LINES = 200


@dataclass
class Finished:
    exit_code: int
    stdout: bytes
    stderr_tail: list[str]
    timed_out: bool


def plugin_env(executable: Path, workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The minimal environment, plus ``extra`` (what a type's plugins need: ``catalog.s3_access``)."""
    env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
    env.update(extra or {})
    env["PATH"] = os.pathsep.join([str(executable.parent), "/usr/local/bin", "/usr/bin", "/bin"])
    env["TMPDIR"] = str(workdir)
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_plugin(
    argv: Sequence[str | Path],
    *,
    workdir: Path,
    time_limit: float,
    on_stderr: Callable[[str], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> Finished:
    """Run to completion (or the time limit) and collect stdout whole and stderr's last lines.
    ``env`` adds variables to the minimal environment (an S3 plugin's operator settings, the
    catalogue verifier's dead proxies)."""
    process = await asyncio.create_subprocess_exec(
        *[str(a) for a in argv],
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=workdir,
        env=plugin_env(Path(str(argv[0])), workdir, env),
        start_new_session=True,
    )
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    assert process.stdout is not None
    assert process.stderr is not None

    async def read_stderr(stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            tail.append(line)
            if on_stderr is not None:
                on_stderr(line)

    stdout_task = asyncio.create_task(process.stdout.read())
    stderr_task = asyncio.create_task(read_stderr(process.stderr))
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), timeout=time_limit)
    except TimeoutError:
        timed_out = True
        kill_group(process)
        await process.wait()
    except asyncio.CancelledError:
        kill_group(process)
        # Reaped before the caller moves on: no process or pipe outlives the task (or its loop).
        await process.wait()
        await asyncio.gather(stdout_task, stderr_task, return_exceptions=True)
        raise
    stdout = await stdout_task
    await stderr_task
    code = process.returncode if process.returncode is not None else -1
    return Finished(code, stdout, list(tail), timed_out)
