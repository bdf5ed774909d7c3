"""A useful one-line error message from a plugin's stderr.

Taps end with a traceback or a CRITICAL log line; what a person needs is the final reason
(``FATAL:  password authentication failed for user "x"``), not the stack. The message is
scrubbed of the connection's secrets before it is stored anywhere.

A plugin that could not reach its server at all (refused, timed out, no such name, not the
server it expected) gets the outbound policy's one message instead of its own words
(``kit.outbound.unreachable``): they would tell a closed port from an open one. What a server
said once reached (a wrong password) is passed on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lockstitch.kit.logging import scrub
from lockstitch.kit.outbound import unreachable

MAX_MESSAGE = 1000
# "psycopg2.OperationalError: ..." / "singer_sdk.exceptions.ConfigValidationError: ..."
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception|Exit|Interrupt)):\s*(.*)$")
_LOG_PREFIX = re.compile(r"^(?:\S+\s+)?(?:CRITICAL|ERROR|FATAL)\b[:\s]+", re.IGNORECASE)
# Words of drivers and HTTP clients that never reached a server (libpq, PyMySQL, requests,
# urllib3, aiohttp, socket errors).
_UNREACHED = re.compile(
    "|".join(
        [
            r"connection refused",
            r"could not translate host name",
            r"name or service not known",
            r"temporary failure in name resolution",
            r"nodename nor servname",
            r"no route to host",
            r"network is unreachable",
            r"timeout expired",
            r"connection (?:to \S+ )?timed out",
            r"connect timeout",
            r"server closed the connection unexpectedly",
            r"invalid response to ssl negotiation",
            r"can't connect to mysql server",
            r"lost connection to mysql server at '(?:reading initial communication packet|handshake)",
            r"failed to establish a new connection",
            r"max retries exceeded",
            r"nameresolutionerror",
            r"connecttimeout",
            r"cannot connect to host",
            r"connection reset by peer",
            r"errno (?:110|111|113|-2|-3)\b",
        ]
    ),
    re.IGNORECASE,
)
_NOISE = ("Traceback (most recent call last)", "  File ", "    ", "During handling", "The above exception")


def never_reached_a_server(text: str) -> bool:
    """Whether a plugin's words say it never reached a server (refused, no such name...)."""
    return _UNREACHED.search(text) is not None


def error_message(stderr_tail: Iterable[str], secrets: Iterable[str | None], fallback: str) -> str:
    lines = [line.rstrip() for line in stderr_tail if line.strip()]
    message = final_reason(lines) or fallback
    if _UNREACHED.search(message) and "FATAL:" not in message:
        return unreachable()
    message = scrub(message, list(secrets))
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def final_reason(lines: list[str]) -> str | None:
    # The last exception line is the cause a person can act on; its continuation lines (a
    # database error's DETAIL/HINT) follow it.
    for index in range(len(lines) - 1, -1, -1):
        match = _EXCEPTION_LINE.match(lines[index].strip())
        if match:
            text = match.group(2).strip()
            if len(text) < 40:
                # "'format'" says nothing alone; "KeyError: 'format'" says where to look.
                text = f"{match.group(1)}: {text}" if text else match.group(1)
            rest = [
                ln.strip()
                for ln in lines[index + 1 :]
                if not ln.startswith(_NOISE) and not ln.startswith("(Background on this error")
            ]
            return _tidy(" ".join([text, *rest]))
    for line in reversed(lines):
        if _LOG_PREFIX.search(line) and not line.startswith(_NOISE):
            return _tidy(_LOG_PREFIX.sub("", line, count=1))
    meaningful = [ln for ln in lines if not ln.startswith(_NOISE)]
    return _tidy(meaningful[-1]) if meaningful else None


def _tidy(text: str) -> str:
    # Postgres puts the server's words after "failed:"; Stitch shows them alone.
    fatal = text.find("FATAL:")
    if fatal > 0:
        text = text[fatal:]
    return re.sub(r"\s+\n", "\n", text).strip()
