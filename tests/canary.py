"""The suite-wide canary scan: every secret the tests come across (OAuth codes and tokens, client
secrets) is remembered, and at the end of the session none may appear in a line Lockstitch logged
or in a response it gave, except a vending response's own access token. Each secret is looked for
in every encoding it could travel in: as it is, URL-encoded, JSON-escaped and base64 (standard and
URL-safe, at each of the three alignments, so one inside ``Basic base64(id:secret)`` is found).
The encodings are computed here, independently of Lockstitch's own scrubbing.

The OAuth harness and stand-ins report what they issue or see (``remember``); the in-process API
client records responses (``record_response``); the root conftest captures Lockstitch's log lines
through the same formatter production uses, and checks everything when the session ends.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from urllib.parse import quote, quote_plus

import ahocorasick  # type: ignore[import-not-found]  # no stubs; C extension

MIN_LENGTH = 8  # shorter values (test placeholders) would match by accident


def encodings(secret: str) -> dict[str, str]:
    """``{text to look for: how it is encoded}`` for one secret."""
    found = {secret: "as is"}
    for name, text in (
        ("url-encoded", quote(secret, safe="")),
        ("url-encoded", quote_plus(secret)),
        ("json-escaped", json.dumps(secret)[1:-1]),
    ):
        found.setdefault(text, name)
    for source in {secret, quote(secret, safe="")}:
        data = source.encode()
        for offset in range(3):
            padded = b"x" * offset + data
            first = -(-offset // 3) * 4  # characters that encode filler bytes are skipped
            last = len(padded) // 3 * 4  # and so is a final partial group
            for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
                piece = encode(padded).decode()[first:last]
                if len(piece) >= MIN_LENGTH:
                    found.setdefault(piece, name)
    return found


class Scan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.canaries: set[str] = set()
        self._forms: dict[str, str] = {}  # every encoded form -> how it reads in a report
        self.responses: list[str] = []
        self.log_lines: list[str] = []

    def remember(self, *values: object) -> None:
        with self._lock:
            for value in values:
                if isinstance(value, str) and len(value) >= MIN_LENGTH and value not in self.canaries:
                    self.canaries.add(value)
                    for form, how in encodings(value).items():
                        self._forms.setdefault(
                            form, f"{value[:8]}... ({how})" if how != "as is" else f"{value[:8]}..."
                        )

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
            for form, label in self._forms.items():
                automaton.add_word(form, label)
            automaton.make_automaton()
            found = {
                "log lines": _matches(automaton, self.log_lines),
                "responses": _matches(automaton, self.responses),
            }
        return {place: values for place, values in found.items() if values}


def _matches(automaton: ahocorasick.Automaton, texts: list[str]) -> list[str]:
    return sorted({label for text in texts for _, label in automaton.iter(text)})


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
