"""Assertions shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx


def assert_source_error(
    response: httpx.Response, status: int, code: str, message: str | None = None
) -> dict[str, Any]:
    """The sources error shape: ``{"error": "<Code>", "data": {"message": ...}}``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "data"}, body
    assert body["error"] == code, body
    assert isinstance(body["data"]["message"], str)
    if message is not None:
        assert body["data"]["message"] == message
    return dict(body)


def hp_postgres_properties(**overrides: Any) -> dict[str, Any]:
    """A complete form for platform.hp-postgres."""
    props: dict[str, Any] = {
        "host": "db.example.com",
        "port": "5432",
        "user": "replicator",
        "password": "pg-password-value",
        "dbname": "app",
        "frequency_in_minutes": "60",
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}
