"""Who holds a lease, and whether that holder is still alive.

Every process names itself ``<host>:<pid>:<start>.<random>`` (``process_identity``), where
``start`` is the process's start time as the kernel counts it (``/proc/<pid>/stat``), so a pid
that the system has since given to another program is not mistaken for the holder.

A lease holder on *this* host can be asked directly: ``dead`` (its process is gone) lets another
worker take its work at once instead of waiting for the lease to lapse, and ``alive_here`` (its
process is running) means it is never overtaken, however slow it is (CPU, database, provider):
it will finish or die, and either way the next step is safe. Holders on other hosts, or with
names in another form, are judged by their lease alone.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    start: str  # the kernel's start time of the process ("" where it cannot be read)


@cache
def _hostname() -> str:
    return socket.gethostname()


def _stat(pid: int) -> list[str] | None:
    """Fields 3 on of /proc/<pid>/stat (the command name, field 2, may hold spaces)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rpartition(")")[2].split()
    except OSError:
        return None


def _start_of(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22)."""
    fields = _stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def process_identity() -> str:
    start = _start_of(os.getpid()) or ""
    return f"{_hostname()}:{os.getpid()}:{start}.{secrets.token_hex(3)}"


def parse(owner: str) -> Holder | None:
    host, _, rest = owner.partition(":")
    pid_text, _, tail = rest.partition(":")
    if not host or not pid_text.isdigit() or "." not in tail:
        return None
    return Holder(host, int(pid_text), tail.partition(".")[0])


def _running(holder: Holder) -> bool:
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    fields = _stat(holder.pid)
    if fields is None:  # no /proc here: the pid alone answers
        return True
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent: it runs no more
        return False
    return not holder.start or len(fields) <= 19 or fields[19] == holder.start


def dead(owner: str) -> bool:
    """Known dead: a holder on this host whose process no longer runs (or is another program)."""
    holder = parse(owner)
    return holder is not None and holder.host == _hostname() and not _running(holder)


def alive_here(owner: str) -> bool:
    """A holder on this host whose process still runs: never overtake it."""
    holder = parse(owner)
    return holder is not None and holder.host == _hostname() and _running(holder)


def sort_owners(owners: list[str]) -> tuple[list[str], list[str]]:
    """``(alive here, known dead)`` among lease owners; the rest are judged by their lease."""
    alive = [o for o in owners if alive_here(o)]
    gone = [o for o in owners if dead(o)]
    return alive, gone
