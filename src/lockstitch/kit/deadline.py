"""A deadline for an awaitable that counts only the time the process could wait for it.

``asyncio.timeout`` measures wall time. When a process stands still (a CPU-starved machine, a
stop signal, a blocking call), every timer whose moment passed fires as soon as it runs again,
before the answers that arrived meanwhile are read: a token request whose answer is sitting in
the socket would be cancelled and its answer lost. A lost answer of a rotating provider is a
dead grant.

``within`` waits in ticks (a twentieth of the deadline, at least 50 ms, so a wait wakes about
twenty times whatever its length) and counts at most two ticks for any stretch, however long it
really was: time the process stood still does not count against whatever it awaits, and an
answer that arrived during a stall is read before the deadline can end the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
TICK = 0.05


async def within(awaitable: Awaitable[T], seconds: float, *, tick: float | None = None) -> T:
    """``await awaitable``, cancelled with ``TimeoutError`` once ``seconds`` of waiting passed."""
    tick = tick if tick is not None else max(TICK, seconds / 20)
    task = asyncio.ensure_future(awaitable)
    waited = 0.0
    last = time.monotonic()
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=tick)
            if done:
                return task.result()
            now = time.monotonic()
            waited += min(now - last, 2 * tick)  # a stall counts as a tick or two, no more
            last = now
            if waited >= seconds:
                raise TimeoutError
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
