"""The s3 destination through the API: Stitch's create example, what is refused at POST, and
the connection check (a sentinel object written and deleted with the operator's identity)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from lockstitch.context import Context
from lockstitch.destinations import credentials
from lockstitch.destinations.tasks import CheckDestinations
from lockstitch.models import Destination
from tests.conftest import AccountHandle, MakeContext
from tests.s3_server import SECRET_ACCESS_KEY, S3Server
from tests.stitch_docs import doc_example

KEY_FORMAT = "[integration_name]/[table_name]/[table_version]_[timestamp_loaded].csv"


def _properties(bucket: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "s3_bucket": bucket,
        "output_file_format": "csv",
        "s3_key_format_string": KEY_FORMAT,
        "csv_delimiter": ",",
        "csv_force_quote": "true",
    }
    values.update(changes)
    return values


async def _create(
    client: httpx.AsyncClient, who: AccountHandle, properties: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        "/v4/destinations", headers=who.headers, json={"type": "s3", "properties": properties}
    )


async def _check(client: httpx.AsyncClient, ctx: Context, who: AccountHandle, destination_id: int) -> Any:
    job = CheckDestinations()
    assert await job.run_once(ctx, "worker-1") is True
    response = await client.get(
        f"/v4/destinations/{destination_id}/last-connection-check", headers=who.headers
    )
    assert response.status_code == 200
    assert SECRET_ACCESS_KEY not in response.text
    return response.json()


async def test_stitchs_create_example_is_accepted_and_gets_a_sentinel(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, s3_server: S3Server
) -> None:
    """Stitch's v3 create example's connection, as v4 properties: created, fully configured, and
    the sentinel key Stitch fills is there (a credential: provided, never shown)."""
    example = doc_example("destinations/v3/create-a-destination-v3", "Request")
    bucket = s3_server.new_bucket()
    response = await _create(client, account, {**example["connection"], "s3_bucket": bucket})
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["report_card"]["current_step_type"] == "fully_configured"
    sentinel = next(
        p for p in created["report_card"]["steps"][0]["properties"] if p["name"] == "sentinel_key"
    )
    assert sentinel["provided"] is True
    assert "sentinel_key" not in created["properties"]
    async with ctx.db.read() as session:
        stored = await session.get(Destination, created["id"])
    assert stored is not None
    value = credentials.unseal_all(ctx.keyring, stored)["sentinel_key"]
    assert re.fullmatch(r"stitch-challenge-file-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", str(value))
    assert str(value) not in response.text


async def test_check_passes_for_an_existing_bucket_and_leaves_nothing_behind(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, s3_server: S3Server
) -> None:
    bucket = s3_server.new_bucket()
    created = (await _create(client, account, _properties(bucket))).json()
    check = await _check(client, ctx, account, created["id"])
    assert (check["status"], check["check_exit_status"], check["target_error_message"]) == (
        "succeeded",
        0,
        None,
    )
    assert s3_server.objects(bucket) == {}  # the sentinel was written, then deleted


async def test_check_writes_the_sentinel_object(
    make_ctx: MakeContext, s3_server: S3Server, account: AccountHandle, client: httpx.AsyncClient
) -> None:
    """The object the check writes is the destination's sentinel key: seen by a server that
    refuses the delete (the check still passes: loading needs only the write)."""
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=lockstitch-test-key/")
        if request.method == "PUT":
            return httpx.Response(200)
        return httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")

    ctx = make_ctx(s3=s3_server.settings(), http_transport=httpx.MockTransport(handler))
    created = (await _create(client, account, _properties("some-bucket"))).json()
    check = await _check(client, ctx, account, created["id"])
    assert check["status"] == "succeeded"
    assert [m for m, _ in seen] == ["PUT", "DELETE"]
    bucket, key = seen[0][1].lstrip("/").split("/", 1)
    assert bucket == "some-bucket"
    assert key.startswith("stitch-challenge-file-")
    assert seen[1][1] == seen[0][1]


async def test_check_fails_for_a_missing_bucket(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, s3_server: S3Server
) -> None:
    created = (await _create(client, account, _properties("lockstitch-no-such-bucket"))).json()
    check = await _check(client, ctx, account, created["id"])
    assert (check["status"], check["check_exit_status"], check["target_exit_status"]) == ("failed", 1, 1)
    assert check["target_error_message"] == "bucket lockstitch-no-such-bucket does not exist"


async def test_check_fails_when_the_write_is_denied(
    make_ctx: MakeContext, s3_server: S3Server, account: AccountHandle, client: httpx.AsyncClient
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403, text="<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        )

    ctx = make_ctx(s3=s3_server.settings(), http_transport=httpx.MockTransport(handler))
    created = (await _create(client, account, _properties("locked-bucket"))).json()
    check = await _check(client, ctx, account, created["id"])
    assert check["status"] == "failed"
    message = check["target_error_message"]
    assert message.startswith("Lockstitch may not write to bucket locked-bucket (AccessDenied)")
    assert "s3:PutObject" in message


async def test_check_without_operator_credentials_says_so(
    make_ctx: MakeContext, account: AccountHandle, client: httpx.AsyncClient
) -> None:
    ctx = make_ctx()  # no s3 settings at all
    created = (await _create(client, account, _properties("any-bucket"))).json()
    check = await _check(client, ctx, account, created["id"])
    assert check["status"] == "failed"
    assert "no S3 access configured" in check["target_error_message"]


async def test_unreachable_endpoint_gets_the_uniform_message(
    make_ctx: MakeContext, account: AccountHandle, client: httpx.AsyncClient, s3_server: S3Server
) -> None:
    ctx = make_ctx(s3={**s3_server.settings(), "endpoint_url": "http://127.0.0.1:1"})
    created = (await _create(client, account, _properties("any-bucket"))).json()
    check = await _check(client, ctx, account, created["id"])
    assert check["status"] == "failed"
    assert "unreachable or not allowed" in check["target_error_message"]


async def test_refused_at_post(client: httpx.AsyncClient, account: AccountHandle) -> None:
    """JSON Lines (the target writes CSV) and bucket names S3 cannot have: 400s that name the
    property, in the destinations' plain error shape."""
    jsonl = await _create(client, account, _properties("good-bucket", output_file_format="jsonl"))
    assert jsonl.status_code == 400
    assert jsonl.json() == (
        "property output_file_format jsonl is not supported: Lockstitch's S3 target writes CSV"
    )
    for bad in ("Upper", "a", "evil.com/../x", "x" * 64, "two..dots"):
        response = await _create(client, account, _properties(bad))
        assert response.status_code == 400, bad
        assert response.json().startswith("property s3_bucket must be an S3 bucket name")
