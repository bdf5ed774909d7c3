"""The suite-wide canary scan: every secret the tests come across (OAuth codes and tokens, client
secrets) is remembered, and at the end of the session none may appear in a line Lockstitch logged
or in a response it gave, except a vending response's own access token.

The OAuth harness and stand-ins report what they issue or see (``remember``); the in-process API
client records responses (``record_response``); the root conftest captures Lockstitch's log lines
through the same formatter production uses, and checks everything when the session ends.
"""

from __future__ import annotations

import logging
import threading

import ahocorasick  # type: ignore[import-not-found]  # no stubs; C extension

MIN_LENGTH = 8  # shorter values (test placeholders) would match by accident


class Scan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.canaries: set[str] = set()
        self.responses: list[str] = []
        self.log_lines: list[str] = []

    def remember(self, *values: object) -> None:
        with self._lock:
            self.canaries.update(v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH)

    def record_response(self, text: str) -> None:
        with self._lock:
            self.responses.append(text)

    def record_line(self, line: str) -> None:
        with self._lock:
            self.log_lines.append(line)

    def leaks(self) -> dict[str, list[str]]:
        """Canaries found where they must not be, by place (empty when all is well); only their
        first characters are shown. One Aho-Corasick pass per place: tens of thousands of
        canaries against hundreds of thousands of lines would take minutes one by one."""
        with self._lock:
            if not self.canaries:
                return {}
            automaton = ahocorasick.Automaton()
            for canary in self.canaries:
                automaton.add_word(canary, canary)
            automaton.make_automaton()
            found = {
                "log lines": _matches(automaton, self.log_lines),
                "responses": _matches(automaton, self.responses),
            }
        return {place: values for place, values in found.items() if values}


def _matches(automaton: ahocorasick.Automaton, texts: list[str]) -> list[str]:
    hits = {canary for text in texts for _, canary in automaton.iter(text)}
    return sorted(c[:8] + "..." for c in hits)


class CaptureHandler(logging.Handler):
    """Keeps every formatted line from Lockstitch's loggers (not the tests' own)."""

    def __init__(self, scan: Scan) -> None:
        super().__init__()
        self.scan = scan

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("tests"):
            return
        try:
            self.scan.record_line(self.format(record))
        except Exception:
            return


SESSION = Scan()
remember = SESSION.remember
record_response = SESSION.record_response
