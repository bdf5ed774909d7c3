"""Listing loads through the API (both databases): the Load object, the 60-day window, the order
(source name, then stream name, by code point on both databases) and pagination."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from tests.conftest import AccountHandle, MakeAccount
from tests.replication.conftest import add_rows, insert_sources, load
from tests.stitch_docs import doc_example


async def _loads(client: httpx.AsyncClient, who: AccountHandle, page: object = None) -> dict[str, Any]:
    suffix = "" if page is None else f"?page={page}"
    response = await client.get(f"/v4/{who.id}/loads{suffix}", headers=who.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["data", "page", "total", "links"]
    return dict(body)


async def test_load_objects_in_order(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_account: MakeAccount
) -> None:
    now = utcnow()
    heroku, recurly, old = await insert_sources(ctx, account, 3)
    failed = doc_example("loads/load-object", "Unsuccessful load")
    loaded_at = now.replace(microsecond=250_000) - dt.timedelta(hours=1)
    await add_rows(
        ctx,
        load(
            account,
            recurly,
            "recurly",
            "accounts",
            last_batch_loaded_at=None,
            error_state=failed["error_state"],
        ),
        load(account, heroku, "heroku", "customers", last_batch_loaded_at=loaded_at),
        load(account, heroku, "heroku", "customer_view"),
        load(account, heroku, "heroku", "Zebra"),
        load(account, recurly, "recurly", "Accounts"),
        load(account, old, "archive", "events", updated_at=now - dt.timedelta(days=61)),
        load(account, old, "archive", "users", updated_at=now - dt.timedelta(days=59)),
    )
    other = await make_account()
    [theirs] = await insert_sources(ctx, other, 1)
    await add_rows(ctx, load(other, theirs, "aaa", "first"))

    body = await _loads(client, account)
    assert (body["page"], body["total"], body["links"]) == (1, 6, {})
    assert [(item["source_name"], item["stream_name"]) for item in body["data"]] == [
        ("archive", "users"),
        ("heroku", "Zebra"),  # code-point order: capitals first, "_" before letters
        ("heroku", "customer_view"),
        ("heroku", "customers"),
        ("recurly", "Accounts"),
        ("recurly", "accounts"),
    ]
    for item in body["data"]:
        assert list(item) == list(doc_example("loads/load-object", "Successful load"))
        assert item["stitch_client_id"] == account.id
    customers = body["data"][3]
    # Whole seconds, rounded up (spec 9.16).
    assert customers["last_batch_loaded_at"] == (
        loaded_at.replace(microsecond=0) + dt.timedelta(seconds=1)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert customers["error_state"] is None
    assert body["data"][5] == {**failed, "stitch_client_id": account.id}


async def test_loads_pagination(client: httpx.AsyncClient, ctx: Context, account: AccountHandle) -> None:
    sources = await insert_sources(ctx, account, 3)
    rows = [load(account, sources[n % 3], f"src_{n % 3}", f"stream_{n:03d}") for n in range(250)]
    await add_rows(ctx, *rows)
    base = f"/v4/{account.id}/loads"
    pages = [await _loads(client, account, n) for n in (1, 2, 3)]
    assert [len(p["data"]) for p in pages] == [100, 100, 50]
    assert [p["total"] for p in pages] == [250, 250, 250]
    assert [p["links"] for p in pages] == [
        {"next": f"{base}?page=2"},
        {"next": f"{base}?page=3", "previous": f"{base}?page=1"},
        {"previous": f"{base}?page=2"},
    ]
    listed = [(item["source_name"], item["stream_name"]) for p in pages for item in p["data"]]
    assert listed == sorted((r.source_name, r.stream_name) for r in rows)
    beyond = await _loads(client, account, 5)
    assert (beyond["data"], beyond["links"]) == ([], {"previous": f"{base}?page=3"})
