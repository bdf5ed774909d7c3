"""Shared by the destination tests: request bodies and small API helpers."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from tests import canary
from tests.conftest import AccountHandle

PG_PASSWORD = "pg-destination-secret-value"  # a canary: never in a response or a log line
canary.remember(PG_PASSWORD)


def postgres_properties(**overrides: Any) -> dict[str, Any]:
    """Stitch's create example (spec 7), aimed at the local test server (trust auth)."""
    props: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": "5432",
        "username": "postgres",
        "database": "postgres",
        "password": PG_PASSWORD,
        "ssl": False,
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


async def create(client: httpx.AsyncClient, who: AccountHandle, **body: Any) -> dict[str, Any]:
    payload = {"type": "postgres", "name": "Staging", "properties": postgres_properties(), **body}
    response = await client.post("/v4/destinations", headers=who.headers, json=payload)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_plain(response: httpx.Response, status: int, message: str) -> None:
    """Destination errors: a bare JSON string, byte for byte."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == orjson.dumps(message), response.content


def provided(destination: dict[str, Any]) -> dict[str, bool]:
    return {p["name"]: p["provided"] for s in destination["report_card"]["steps"] for p in s["properties"]}
