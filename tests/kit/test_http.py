"""HTTP glue: repeated slashes in a path are one (spec 9.24)."""

from __future__ import annotations

import httpx

from tests.conftest import AccountHandle


async def test_repeated_slashes_are_one(client: httpx.AsyncClient, account: AccountHandle) -> None:
    """``/v4//source-types`` (stitch-api 1.0.0's URLs) and ``//v4///sources`` answer as their
    one-slash paths; an encoded slash stays data (it names no source type)."""
    one = await client.get("/v4/source-types/platform.hp-postgres", headers=account.headers)
    for path in (
        "/v4//source-types/platform.hp-postgres",
        "http://lockstitch.test//v4///source-types//platform.hp-postgres",  # "//v4" alone is a host
    ):
        doubled = await client.get(path, headers=account.headers)
        assert doubled.status_code == 200, path
        assert doubled.json() == one.json()
    created = await client.post(
        "/v4//sources", headers=account.headers, json={"type": "platform.hp-postgres", "display_name": "S"}
    )
    assert created.status_code == 200, created.text
    listed = await client.get("http://lockstitch.test//v4//sources", headers=account.headers)
    assert [s["id"] for s in listed.json()] == [created.json()["id"]]
    encoded = await client.get("/v4/source-types/platform%2Fhp-postgres", headers=account.headers)
    assert encoded.status_code in (400, 404)
