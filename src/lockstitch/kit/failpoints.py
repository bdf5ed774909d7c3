"""Crash injection for fault tests: ``LOCKSTITCH_CRASH_AT=after_response:3`` makes the process
SIGKILL itself the third time it passes ``hit("after_response")``.

The token engine marks the points where a crash must never lose or fake a token (before the
request, after the provider answered, after the commit). Off unless the setting is given; when
off, ``hit`` is one attribute check.
"""

from __future__ import annotations

import os
import signal


class Failpoints:
    def __init__(self, spec: str | None) -> None:
        self._name: str | None = None
        self._remaining = 0
        if spec:
            name, _, count = spec.partition(":")
            self._name = name
            self._remaining = int(count) if count.isdigit() else 1

    def hit(self, name: str) -> None:
        if self._name != name:
            return
        self._remaining -= 1
        if self._remaining <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
