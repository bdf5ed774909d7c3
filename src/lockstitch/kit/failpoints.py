"""Fault injection for fault tests, off unless the ``crash_at`` setting is given.

``LOCKSTITCH_CRASH_AT=after_response:3`` makes the process SIGKILL itself the third time it
passes ``hit("after_response")``; ``after_response:1:stall=10`` instead stops the whole process
for 10 s there, once (a blocking sleep: the event loop, every request and lease of the process
stand still, as on a machine starved of CPU).

The token engine marks the points where a crash or a stall must never lose or fake a token
(before the request, after the provider answered, after the commit). When off, ``hit`` is one
attribute check.
"""

from __future__ import annotations

import os
import signal
import time


class Failpoints:
    def __init__(self, spec: str | None) -> None:
        self._name: str | None = None
        self._remaining = 0
        self._stall: float | None = None
        if spec:
            name, _, rest = spec.partition(":")
            count, _, action = rest.partition(":")
            self._name = name
            self._remaining = int(count) if count.isdigit() else 1
            if action.startswith("stall="):
                self._stall = float(action.removeprefix("stall="))

    def hit(self, name: str) -> None:
        if self._name != name:
            return
        self._remaining -= 1
        if self._remaining != 0:
            return
        if self._stall is None:
            os.kill(os.getpid(), signal.SIGKILL)
            return
        time.sleep(self._stall)  # the point: the whole process stands still
