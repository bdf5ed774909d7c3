"""An extraction's log in Stitch's line format (spec 9.13), which clients parse:

    2026-11-28 23:59:01,123Z main - INFO Starting extraction 1.2.sync.<uuid>
    2026-11-28 23:59:03,500Z tap - INFO replicated 3 records from "customers" endpoint
    2026-11-28 23:59:04,010Z main - INFO Exit status is: Discovery succeeded. Tap succeeded. Target succeeded.

Every line is scrubbed of the run's secrets before it is kept. A log is bounded: past the limit
the middle is dropped (with a line saying so), keeping the start and the end a reader needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from lockstitch.kit.logging import scrub
from lockstitch.kit.time import utcnow

MAX_LINES = 20_000
HEAD_LINES = 2_000


def stamp(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d}Z"


class JobLog:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = list(secrets)
        self._head: list[str] = []
        self._tail: list[str] = []
        self._dropped = 0

    def line(self, component: str, level: str, message: str) -> None:
        moment = utcnow()
        for part in scrub(message, self.secrets).splitlines() or [""]:
            self._add(f"{stamp(moment)} {component} - {level} {part}")

    def _add(self, text: str) -> None:
        if len(self._head) < HEAD_LINES:
            self._head.append(text)
            return
        self._tail.append(text)
        if len(self._tail) > MAX_LINES - HEAD_LINES:
            self._tail.pop(0)
            self._dropped += 1

    def text(self) -> str:
        middle = [f"... {self._dropped} lines omitted ..."] if self._dropped else []
        return "\n".join([*self._head, *middle, *self._tail]) + "\n"


def outcome(name: str, status: int | None, *, terminated: bool = False) -> str:
    if terminated and status != 0:
        return f"{name} was terminated"
    if status is None:
        return f"{name} did not run"
    return f"{name} succeeded" if status == 0 else f"{name} failed"


def exit_line(discovery: int | None, tap: int | None, target: int | None, *, terminated: bool = False) -> str:
    """Stitch's closing line, which clients look for. A stopped job's unfinished steps read
    "was terminated"."""
    parts = [
        outcome("Discovery", discovery),
        outcome("Tap", tap, terminated=terminated),
        outcome("Target", target, terminated=terminated),
    ]
    return "Exit status is: " + " ".join(f"{part}." for part in parts)


def stopped_before_start(job_name: str) -> str:
    """The whole log of a job stopped while it was still queued."""
    log = JobLog()
    log.line("main", "INFO", f"Replication job {job_name} was stopped before it started")
    log.line("main", "INFO", exit_line(None, None, None, terminated=True))
    return log.text()


def lapsed(job_name: str, reason: str) -> str:
    """The log of a job whose worker died: the worker's own lines are lost."""
    log = JobLog()
    log.line("main", "ERROR", f"Replication job {job_name} failed: {reason}")
    log.line("main", "INFO", exit_line(0, None, None, terminated=True))
    return log.text()
