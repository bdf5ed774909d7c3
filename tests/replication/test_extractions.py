"""Listing extractions and reading their logs through the API (both databases): which extraction
each source shows, pagination and its links, the client-id rule, and the signed log URL."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import Source
from lockstitch.replication import log_urls
from tests.conftest import AccountHandle, MakeAccount
from tests.replication.conftest import MakeSource, add_log, add_rows, extraction, insert_sources
from tests.stitch_docs import doc_example

WIRE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
LOG = (
    "2024-05-01 10:00:00,123Z main - INFO Starting extraction\n"
    '2024-05-01 10:00:04,500Z tap - INFO replicated 3 records from "customers" endpoint\n'
    "2024-05-01 10:00:05,000Z main - INFO Extraction completed — ünïcode kept\n"
)


def _list_path(client_id: object, page: object = None) -> str:
    suffix = "" if page is None else f"?page={page}"
    return f"/v4/{client_id}/extractions{suffix}"


async def _list(client: httpx.AsyncClient, who: AccountHandle, page: object = None) -> dict[str, Any]:
    response = await client.get(_list_path(who.id, page), headers=who.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["data", "page", "total", "links"]
    return dict(body)


def _assert_job_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"], body
    assert set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == error_type, body


async def test_lists_the_last_completed_extraction_per_source(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_account: MakeAccount
) -> None:
    now = utcnow()
    live, paused, deleted, only_running, only_old, untouched = await insert_sources(ctx, account, 6)
    async with ctx.db.unit_of_work() as session:
        for source_id, field in ((paused, "paused_at"), (deleted, "deleted_at")):
            source = await session.get(Source, source_id)
            assert source is not None
            setattr(source, field, now)
    newest = extraction(
        account,
        live,
        "failed",
        now - dt.timedelta(hours=1, microseconds=-654321),
        tap_exit_status=1,
        tap_description="Response returned http error code 401",
    )
    await add_rows(
        ctx,
        extraction(account, live, "succeeded", now - dt.timedelta(days=2)),
        newest,
        extraction(account, live, "running", None),  # running: not listed until it completes
        extraction(account, paused, "cancelled", now - dt.timedelta(days=59), tap_description="Terminated"),
        extraction(account, deleted, "succeeded", now - dt.timedelta(days=10)),
        extraction(account, only_running, "running", None),
        extraction(account, only_old, "succeeded", now - dt.timedelta(days=61)),
    )
    other = await make_account()
    [foreign] = await insert_sources(ctx, other, 1)
    await add_rows(ctx, extraction(other, foreign, "succeeded", now))

    body = await _list(client, account)
    assert body["page"] == 1
    assert body["total"] == 3
    assert body["links"] == {}
    data = body["data"]
    assert [e["source_id"] for e in data] == [live, paused, deleted]  # source_id ascending
    assert untouched not in [e["source_id"] for e in data]
    example = doc_example("extractions/extraction-object", "Unsuccessful extraction")
    for item in data:
        assert list(item) == list(example)  # Stitch's keys, in Stitch's order
        assert WIRE_TIME.match(item["start_time"])
        assert WIRE_TIME.match(item["completion_time"])
        assert item["stitch_client_id"] == account.id
        assert item["source_type"] == "tap-postgres"
    first = data[0]
    assert first["job_name"] == newest.job_name
    assert first["tap_exit_status"] == 1
    assert first["tap_description"] == "Response returned http error code 401"
    assert newest.completion_time is not None
    assert first["completion_time"] == newest.completion_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data[1]["tap_description"] == "Terminated"


async def test_pagination_links(client: httpx.AsyncClient, ctx: Context, account: AccountHandle) -> None:
    now = utcnow()
    sources = await insert_sources(ctx, account, 250)
    await add_rows(
        ctx, *(extraction(account, s, "succeeded", now - dt.timedelta(minutes=1)) for s in sources)
    )
    base = f"/v4/{account.id}/extractions"

    first = await _list(client, account)
    assert (first["page"], first["total"], len(first["data"])) == (1, 250, 100)
    assert first["links"] == {"next": f"{base}?page=2"}
    assert await _list(client, account, 1) == first

    second = await _list(client, account, 2)
    assert (second["page"], second["total"], len(second["data"])) == (2, 250, 100)
    assert second["links"] == {"next": f"{base}?page=3", "previous": f"{base}?page=1"}

    third = await _list(client, account, 3)
    assert (third["page"], len(third["data"])) == (3, 50)
    assert third["links"] == {"previous": f"{base}?page=2"}

    listed = [e["source_id"] for page in (first, second, third) for e in page["data"]]
    assert listed == sorted(sources)

    # Past the end: nothing, and a way back to the last page that has records.
    for beyond in (4, 40, 999_999_999):
        empty = await _list(client, account, beyond)
        assert (empty["page"], empty["total"], empty["data"]) == (beyond, 250, [])
        assert empty["links"] == {"previous": f"{base}?page=3"}


async def test_empty_list_and_bad_pages(client: httpx.AsyncClient, account: AccountHandle) -> None:
    assert await _list(client, account) == {"data": [], "page": 1, "total": 0, "links": {}}
    beyond = await _list(client, account, 2)
    assert beyond["links"] == {"previous": f"/v4/{account.id}/extractions?page=1"}
    for bad in ("0", "-1", "abc", "", "1.5", "%EF%BC%91", "1e3", "9" * 30, "+1", "%20"):
        for kind in ("extractions", "loads"):
            response = await client.get(f"/v4/{account.id}/{kind}?page={bad}", headers=account.headers)
            _assert_job_error(response, 400, "invalid_page")


async def test_another_client_id_is_401(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_account: MakeAccount
) -> None:
    other = await make_account()
    [source_id] = await insert_sources(ctx, other, 1)
    job = extraction(other, source_id, "succeeded", utcnow())
    await add_rows(ctx, job)
    await add_log(ctx, job, LOG)
    for client_id in (other.id, 999_999, "abc", "0", f"0{account.id}", "9" * 40):
        for path in (
            _list_path(client_id),
            _list_path(client_id, page=0),  # the client id is checked first
            f"/v4/{client_id}/loads",
            f"/v4/{client_id}/extractions/{job.job_name}",
        ):
            _assert_job_error(await client.get(path, headers=account.headers), 401, "unauthorized")
    # Without a (valid) token, the same shape.
    for headers in ({}, {"Authorization": "Bearer ac_invalid"}):
        for path in (_list_path(account.id), f"/v4/{account.id}/loads", f"/v4/{account.id}/extractions/x"):
            _assert_job_error(await client.get(path, headers=headers), 401, "unauthorized")
    # Unknown methods are 404s in the jobs shape.
    for path in (_list_path(account.id), f"/v4/{account.id}/loads"):
        _assert_job_error(await client.post(path, headers=account.headers), 404, "notfound")


async def _redirect(client: httpx.AsyncClient, who: AccountHandle, job_name: str) -> str:
    response = await client.get(f"/v4/{who.id}/extractions/{job_name}", headers=who.headers)
    assert response.status_code == 302, response.text
    assert response.content == b""
    return response.headers["location"]


def _local(location: str) -> str:
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


async def test_log_redirect_serves_the_log(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle
) -> None:
    [source_id] = await insert_sources(ctx, account, 1)
    job = extraction(account, source_id, "succeeded", utcnow())
    await add_rows(ctx, job)
    await add_log(ctx, job, LOG)

    before = int(time.time())
    location = await _redirect(client, account, job.job_name)
    assert location.startswith(f"{ctx.settings.base_url}/logs/{job.job_name}?")
    query = parse_qs(urlsplit(location).query)
    assert set(query) == {"expires", "signature"}
    expires = int(query["expires"][0])
    assert before + log_urls.LIFETIME_SECONDS <= expires <= int(time.time()) + log_urls.LIFETIME_SECONDS
    assert re.fullmatch(r"[0-9a-f]{64}", query["signature"][0])

    served = await client.get(_local(location))  # no Authorization: the signature is the authority
    assert served.status_code == 200
    assert served.headers["content-type"] == "text/plain; charset=utf-8"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.content == LOG.encode("utf-8")


async def test_tampered_or_expired_log_urls_are_403(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle
) -> None:
    [source_id] = await insert_sources(ctx, account, 1)
    job = extraction(account, source_id, "succeeded", utcnow())
    other_job = extraction(account, source_id, "failed", utcnow() - dt.timedelta(days=1))
    await add_rows(ctx, job, other_job)
    await add_log(ctx, job, LOG)
    await add_log(ctx, other_job, "other\n")
    location = _local(await _redirect(client, account, job.job_name))
    path, _, query = location.partition("?")
    params = parse_qs(query)
    expires, signature = params["expires"][0], params["signature"][0]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    past = int(time.time()) - 1
    forged = [
        f"{path}?expires={expires}&signature={flipped}",
        f"{path}?expires={int(expires) + 1}&signature={signature}",  # a longer life
        f"{path}?expires={expires}",
        f"{path}?signature={signature}",
        path,
        f"/logs/{other_job.job_name}?expires={expires}&signature={signature}",  # another job
        f"{path}?expires={expires}&signature={signature.upper()}",
        f"{path}?expires={expires}&signature=%C3%A9%00",
        f"{path}?expires=%C3%A9&signature={signature}",
        # Signed by this server, but expired.
        f"{path}?expires={past}&signature={log_urls.sign(ctx.keyring, job.job_name, past)}",
    ]
    for url in forged:
        response = await client.get(url)
        assert response.status_code == 403, url
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert "other" not in response.text
        assert "Starting extraction" not in response.text
    assert (await client.get(location)).status_code == 200


async def test_log_redirect_404s(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_account: MakeAccount
) -> None:
    other = await make_account()
    [mine] = await insert_sources(ctx, account, 1)
    [theirs] = await insert_sources(ctx, other, 1)
    running = extraction(account, mine, "running", None)
    foreign = extraction(other, theirs, "succeeded", utcnow())
    await add_rows(ctx, running, foreign)
    await add_log(ctx, foreign, LOG)
    for job_name in ("nope", running.job_name, foreign.job_name, "é" * 300, "%00"):
        response = await client.get(f"/v4/{account.id}/extractions/{job_name}", headers=account.headers)
        _assert_job_error(response, 404, "not_found")


async def test_cancelled_pending_job_is_listed_with_a_log(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle, make_source: MakeSource
) -> None:
    source_id = await make_source(account)
    job_name = (await client.post(f"/v4/sources/{source_id}/sync", headers=account.headers)).json()[
        "job_name"
    ]
    assert (await _list(client, account))["data"] == []  # pending: not completed
    await client.delete(f"/v4/sources/{source_id}/sync", headers=account.headers)
    [listed] = (await _list(client, account))["data"]
    assert listed["job_name"] == job_name
    assert listed["source_type"] == "tap-postgres"
    assert (listed["tap_description"], listed["target_description"]) == ("Terminated", "Terminated")
    assert WIRE_TIME.match(listed["start_time"])
    assert WIRE_TIME.match(listed["completion_time"])
    served = await client.get(_local(await _redirect(client, account, job_name)))
    assert served.status_code == 200
    assert job_name in served.text
