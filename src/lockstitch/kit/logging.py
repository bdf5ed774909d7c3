"""Logging: structlog for Lockstitch, stdlib (uvicorn, sqlalchemy...) routed through the same sink,
and secret redaction *in the sink*, so no call site can forget it.

Redaction removes:
* values under keys that name secrets (password, secret, token, authorization, ...);
* API tokens (``ac_...``), bearer and basic credentials, and secret-looking query parameters in
  any text (an OAuth callback's ``code=``, a ``refresh_token=``...);
* any string registered with ``register_secret`` (operator secrets loaded from config).
Request bodies and property values are never logged in the first place.

``scrub`` removes known secret values from text that will be stored or shown (a provider's error
description, a plugin's stderr) in every form they take on the way: as they are, URL-encoded,
JSON-escaped, and base64 (standard and URL-safe, at any alignment, so a secret inside a Basic
header's ``client_id:client_secret`` is found too).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any
from urllib.parse import quote, quote_plus

import structlog

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|authorization|api[_-]?key|credential|private[_-]?key|cookie|code_verifier",
    re.IGNORECASE,
)
_PATTERNS = [
    re.compile(r"\bac_[A-Za-z0-9_\-]{16,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"),
    # A Basic credential is base64 with a digit or +/= somewhere ("Basic auth" stays readable).
    re.compile(r"(?i)(basic\s+)(?=[A-Za-z0-9+/=]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}"),
    re.compile(
        r"(?i)([?&](?:code|state|token|access_token|refresh_token|id_token|client_secret|password|"
        r"ephemeral_token|signature|sig)=)[^&\s\"']+"
    ),
    re.compile(r"(?i)(\"(?:access_token|refresh_token|id_token|client_secret|password)\"\s*:\s*\")[^\"]*"),
]
_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Redact this exact string wherever it would appear in a log line (for long-lived secrets)."""
    if value and len(value) >= 6:
        _registered.add(value)


def redact_text(text: str) -> str:
    for secret in _registered:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


def _encoded(value: str) -> tuple[set[str], set[str]]:
    """``value``'s text forms (as is, URL-encoded, JSON-escaped) and base64 fragments."""
    escaped = {quote(value, safe=""), quote_plus(value), quote(value)}
    plain = {value, *escaped, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    fragments: set[str] = set()
    for text in {value, *escaped}:
        raw = text.encode()
        for offset in range(3):
            # Encode behind ``offset`` filler bytes and keep only the characters that depend on
            # the secret alone: what any base64 text holding it at that alignment contains.
            padded = b"\0" * offset + raw
            start, end = -(-offset // 3) * 4, (len(padded) // 3) * 4
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                part = encode(padded).decode()[start:end]
                if len(part) >= 8:
                    fragments.add(part)
    return {f for f in plain if len(f) >= 4}, fragments


def secret_forms(value: str) -> set[str]:
    """Every form of ``value`` that ``scrub`` looks for."""
    plain, fragments = _encoded(value)
    return plain | fragments


@functools.lru_cache(maxsize=4096)
def _finder(value: str) -> re.Pattern[str]:
    plain, fragments = _encoded(value)
    # A base64 fragment is widened to the characters around it, which encode the secret's
    # first and last bytes together with its neighbours.
    wide = [f"[A-Za-z0-9+/_-]{{0,4}}{re.escape(f)}[A-Za-z0-9+/_-]{{0,4}}={{0,2}}" for f in fragments]
    exact = [re.escape(f) for f in sorted(plain, key=len, reverse=True)]
    return re.compile("|".join(wide + exact))


def scrub(text: str, secrets_in_play: Iterable[str | None]) -> str:
    """Remove known secret values (a request's, a connection's) from text before it is stored or
    shown: provider error messages, a tap's stderr; each in any of its ``secret_forms``.
    Patterns of ``redact_text`` apply too."""
    for value in secrets_in_play:
        if value and len(value) >= 4:
            text = _finder(value).sub(REDACTED, text)
    return redact_text(text)


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and value not in (None, "", True, False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of the message
    for key in list(event):
        if key == "event":
            event[key] = redact_text(str(event[key]))
        else:
            event[key] = _redact_value(key, event[key])
    return event


def configure_logging(level: str = "info", fmt: str = "console") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = _RedactingFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(
        logging.WARNING
    )  # per-connection chatter  # "Context impl SQLiteImpl" on every command


class _RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """Redacts the rendered line too: the last line of defence (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
