"""The response-shape oracle: every JSON answer the suite receives from a Stitch endpoint is
checked against the schema of its object (``tests.oracle.schemas``).

``install()`` wraps ``httpx.Client.send`` and ``httpx.AsyncClient.send`` for the whole session
(tests/conftest.py), so in-process clients, real servers started by e2e tests and helpers are
all covered by one fixture. A response that breaks its schema fails the test that received it,
naming the rule. Extension endpoints (paths no Stitch route matches) are exempt; so are 5xx
answers (a 500 is a bug caught by the test's own assertions) and the 302 of extraction logs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema_rs

from tests.oracle.schemas import ROUTES, error_schema, route_schema

_PATCHED: list[tuple[type, Callable[..., Any]]] = []
SEEN = {"checked": 0}


def _collapse(path: str) -> str:
    while "//" in path:
        path = path.replace("//", "/")
    return path


def _stitch_path(path: str) -> bool:
    return any(pattern.match(path) for _, pattern, _ in ROUTES)


_VALIDATORS: dict[int, Any] = {}


def _validator(schema: dict[str, Any]) -> Any:
    key = id(schema)  # the schemas are module constants: one validator each
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema_rs.validator_for(schema)
    return _VALIDATORS[key]


def violations(method: str, path: str, status: int, content_type: str, body: bytes) -> list[str]:
    """What is wrong with one answer of a Stitch endpoint (empty when nothing is, or when the
    path is an extension's)."""
    path = _collapse(path)
    if status >= 500 or status in (204, 302) or not _stitch_path(path):
        return []
    schema = route_schema(method, path) if status < 300 else error_schema(path)
    if schema is None:
        return []
    if not body and status < 300 and schema.get("maxProperties") == 0:
        return []  # DELETE /v4/destinations/{id}: "200 with an empty body" (the example shows {})
    if not content_type.startswith("application/json"):
        return [f"{method} {path} {status}: Content-Type {content_type!r}, not application/json (spec 9.20)"]
    try:
        document = json.loads(body)
    except ValueError:
        return [f"{method} {path} {status}: the body is not JSON"]
    validator = _validator(schema)
    found = [
        f"{method} {path} {status}: {error.message} at {'/'.join(map(str, error.instance_path)) or '(root)'}"
        for error in validator.iter_errors(document)
    ]
    return found + [f"{method} {path} {status}: {problem}" for problem in _card_steps(document)]


def _card_steps(document: Any) -> list[str]:
    """Spec 9.1: a report card's 1-based ``current_step`` names the step ``current_step_type`` is
    (JSON Schema cannot say this)."""
    problems: list[str] = []
    if isinstance(document, list):
        for item in document:
            problems += _card_steps(item)
    elif isinstance(document, dict):
        step, kind, steps = (document.get(k) for k in ("current_step", "current_step_type", "steps"))
        if isinstance(step, int) and isinstance(steps, list) and kind is not None:
            named = (
                steps[step - 1].get("type")
                if 0 < step <= len(steps) and isinstance(steps[step - 1], dict)
                else None
            )
            if named != kind:
                problems.append(f"current_step {step} is {named!r}, current_step_type says {kind!r}")
        for value in document.values():
            if isinstance(value, dict | list):
                problems += _card_steps(value)
    return problems


def check(response: httpx.Response) -> None:
    """Raise AssertionError if ``response`` (read) breaks its Stitch schema."""
    request = response.request
    found = violations(
        request.method,
        request.url.path,
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
    )
    SEEN["checked"] += 1
    if found:
        raise AssertionError("response-shape oracle: " + "; ".join(found[:5]))


def install() -> None:
    """Check every httpx answer of the session (idempotent)."""
    if _PATCHED:
        return
    original_async = httpx.AsyncClient.send
    original_sync = httpx.Client.send

    async def send_async(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = await original_async(self, request, **kwargs)
        if not kwargs.get("stream"):
            check(response)
        return response

    def send_sync(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = original_sync(self, request, **kwargs)
        if not kwargs.get("stream"):
            check(response)
        return response

    _PATCHED.extend([(httpx.AsyncClient, original_async), (httpx.Client, original_sync)])
    httpx.AsyncClient.send = send_async  # type: ignore[method-assign]
    httpx.Client.send = send_sync  # type: ignore[method-assign]


def uninstall() -> None:
    for cls, original in _PATCHED:
        cls.send = original  # type: ignore[attr-defined]
    _PATCHED.clear()
