"""Lease holders on this host are asked directly whether they live (kit/liveness.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from lockstitch.kit import liveness


def _identity_of(pid: int) -> str:
    start = liveness._start_of(pid)  # the kernel's start time, as process_identity records it
    return f"{socket.gethostname()}:{pid}:{start}.abcdef"


def test_this_process_is_alive_here() -> None:
    me = liveness.process_identity()
    assert liveness.parse(me) is not None
    assert liveness.alive_here(me)
    assert not liveness.dead(me)


def test_a_process_that_exited_is_dead_and_a_running_one_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    identity = _identity_of(child.pid)
    try:
        assert liveness.alive_here(identity)
        assert liveness.sort_owners([identity]) == ([identity], [])
    finally:
        child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # it exited; not reaped yet
    # Killed but not yet reaped (a zombie): it runs no more.
    assert liveness.dead(identity)
    child.wait()
    assert liveness.dead(identity)
    assert liveness.sort_owners([identity]) == ([], [identity])


def test_a_reused_pid_is_not_mistaken_for_the_holder() -> None:
    """Same pid, another start time: the holder is gone, whatever runs under its pid now."""
    assert liveness.dead(f"{socket.gethostname()}:{os.getpid()}:1.abcdef")


def test_holders_elsewhere_or_unnamed_are_judged_by_their_lease() -> None:
    for owner in ("other-host:1234:5678.abcdef", "worker-a", "recovery", f"{socket.gethostname()}:x:y"):
        assert not liveness.dead(owner)
        assert not liveness.alive_here(owner)


def test_a_stopped_process_is_alive() -> None:
    """A holder that stands still (SIGSTOP, a starved CPU) still holds what it holds."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        os.kill(child.pid, signal.SIGSTOP)
        assert liveness.alive_here(_identity_of(child.pid))
    finally:
        child.kill()
        child.wait()
