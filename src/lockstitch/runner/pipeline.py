"""``tap | target``, with Lockstitch in the middle of the pipe.

The tap's stdout is forwarded to the target's stdin in large chunks (the pipe must stay close
to a shell pipe's speed, see bench/), and on the way each RECORD line is counted per stream.
What the target prints on stdout is its STATE: the bookmarks of records it has safely loaded;
the last complete one is kept. Both processes run in their own process groups with a minimal
environment; cancellation or the time limit kills both groups.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockstitch.runner.process import STDERR_TAIL_LINES, kill_group, plugin_env

CHUNK = 1 << 18
_RECORD = re.compile(rb'"type"\s*:\s*"RECORD"')
_STREAM = re.compile(rb'"stream"\s*:\s*"((?:[^"\\]|\\.)*)"')


@dataclass
class PipeResult:
    tap_exit: int
    target_exit: int
    records: dict[str, int]
    last_state: Any | None
    tap_tail: list[str]
    target_tail: list[str]
    timed_out: bool = False
    cancelled: bool = False
    # The target went away first and the tap was stopped for it (its exit says nothing).
    tap_stopped_for_target: bool = False


class RecordCounter:
    """Counts RECORD messages per stream in a byte stream of Singer lines (split anywhere).

    The pipe's speed matters (bench/: replication), so a chunk is scanned by C code: one regex
    pass finds every line that starts as a RECORD message with its stream (Singer writers put
    ``type`` then ``stream`` first), and a plain count of ``"RECORD"`` tokens checks that nothing
    was missed. Only a chunk where the two disagree (a writer with another key order, a field
    named RECORD) is walked line by line.
    """

    _FAST = re.compile(rb'\n\{"type": ?"RECORD", ?"stream": ?"((?:[^"\\\n]|\\.)*)"')

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._rest = b"\n"

    def feed(self, chunk: bytes) -> None:
        data = self._rest + chunk
        end = data.rfind(b"\n")
        if end <= 0:
            self._rest = data
            return
        self._rest = data[end:]  # keeps the newline: the next line start is matched as "\n{"
        lines = data[:end]
        names = self._FAST.findall(lines)
        # Every "RECORD" token in the chunk is accounted for by a matched line start: nothing
        # else (a writer with another key order, a field or value named RECORD) to look at.
        if len(names) == lines.count(b'"RECORD"'):
            self.counts.update(_decoded(names))
            return
        for line in lines.split(b"\n"):
            head = line[:160]
            if _RECORD.search(head):
                match = _STREAM.search(head) or _STREAM.search(line)
                if match:
                    self.counts[_name(match.group(1))] += 1


def _decoded(names: list[bytes]) -> collections.Counter[str]:
    return collections.Counter({_name(k): v for k, v in collections.Counter(names).items()})


def _name(raw: bytes) -> str:
    """A stream name as it appears inside the JSON string (escapes undone)."""
    if b"\\" not in raw:
        return raw.decode("utf-8", "replace")
    try:
        return str(json.loads(b'"' + raw + b'"'))
    except ValueError:
        return raw.decode("utf-8", "replace")


async def run_pipe(
    tap_argv: Sequence[str | Path],
    target_argv: Sequence[str | Path],
    *,
    workdir: Path,
    time_limit: float,
    on_tap_line: Callable[[str], None],
    on_target_line: Callable[[str], None],
    cancelled: asyncio.Event,
    tap_env: Mapping[str, str] | None = None,
    target_env: Mapping[str, str] | None = None,
) -> PipeResult:
    tap = await _start(tap_argv, workdir, stdin=asyncio.subprocess.DEVNULL, env=tap_env)
    target = await _start(target_argv, workdir, stdin=asyncio.subprocess.PIPE, env=target_env)
    counter = RecordCounter()
    tap_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    target_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    states: list[bytes] = []
    stopped_for_target = [False]

    async def forward() -> None:
        assert tap.stdout is not None
        assert target.stdin is not None
        try:
            while chunk := await tap.stdout.read(CHUNK):
                target.stdin.write(chunk)
                counter.feed(chunk)
                await target.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            stopped_for_target[0] = True
            kill_group(tap)  # the target is gone: nothing can take the tap's output any more
        finally:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                target.stdin.close()

    async def target_states() -> None:
        assert target.stdout is not None
        async for line in target.stdout:
            if line.strip():
                states.append(line)
                del states[:-2]

    tasks = [
        asyncio.create_task(forward()),
        asyncio.create_task(target_states()),
        asyncio.create_task(_lines(tap.stderr, tap_tail, on_tap_line)),
        asyncio.create_task(_lines(target.stderr, target_tail, on_target_line)),
    ]
    waiting: asyncio.Future[Any] = asyncio.gather(tap.wait(), target.wait())
    stop: asyncio.Future[Any] = asyncio.create_task(cancelled.wait())
    done, _ = await asyncio.wait({waiting, stop}, timeout=time_limit, return_when=asyncio.FIRST_COMPLETED)
    timed_out = not done
    was_cancelled = stop in done and waiting not in done
    if timed_out or was_cancelled:
        kill_group(tap)
        kill_group(target)
    stop.cancel()
    await waiting
    await asyncio.gather(*tasks, return_exceptions=True)
    return PipeResult(
        tap_exit=_code(tap),
        target_exit=_code(target),
        records=dict(counter.counts),
        last_state=_last_state(states),
        tap_tail=list(tap_tail),
        target_tail=list(target_tail),
        timed_out=timed_out,
        cancelled=was_cancelled,
        tap_stopped_for_target=stopped_for_target[0],
    )


async def _start(
    argv: Sequence[str | Path], workdir: Path, *, stdin: int, env: Mapping[str, str] | None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *[str(a) for a in argv],
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=workdir,
        env=plugin_env(Path(str(argv[0])), workdir, env),
        start_new_session=True,
        limit=1 << 24,  # a state line can be long
    )


async def _lines(
    stream: asyncio.StreamReader | None, tail: collections.deque[str], on_line: Callable[[str], None]
) -> None:
    assert stream is not None
    async for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail.append(line)
            on_line(line)


def _code(process: asyncio.subprocess.Process) -> int:
    return process.returncode if process.returncode is not None else -1


def _last_state(lines: list[bytes]) -> Any | None:
    """The last complete state the target printed (a line cut off by a crash is not one).
    Targets print the state value itself; a full STATE message is unwrapped."""
    for line in reversed(lines):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and value.get("type") == "STATE" and "value" in value:
            return value["value"]
        return value
    return None
