"""``/v3/destinations`` through the API: Stitch's documented v3 examples, typed ``connection``
values, ``last_check`` before and after a real check, and no secret in any answer.

Test names avoid the word of the second backend so ``-k "not postgres"`` still runs them on
SQLite; the destination type is ``postgres`` throughout (the local test server, trust auth).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx

from lockstitch.context import Context
from lockstitch.destinations import v3_schemas
from lockstitch.destinations.tasks import CheckDestinations
from lockstitch.destinations.v3_views import typed, value_kind
from tests.conftest import AccountHandle, MakeAccount
from tests.destinations.support import PG_PASSWORD
from tests.stitch_docs import doc_example

WIRE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CREATE = "destinations/v3/create-a-destination-v3"
UPDATE = "destinations/v3/update-a-destination-v3"
LIST = "destinations/v3/list-destinations-v3"
# Stitch's placeholders in the update example, filled as a client fills them: Lockstitch checks
# ``host`` against the card's hostname format, so ``<HOST>`` itself is no value.
FILLED = {
    "<HOST>": "127.0.0.1",
    "<USERNAME>": "postgres",
    "<DATABASE>": "postgres",
    "<PASSWORD>": PG_PASSWORD,
}


def _filled(body: dict[str, Any]) -> dict[str, Any]:
    connection = {
        key: FILLED[value] if isinstance(value, str) and value.startswith("<") else value
        for key, value in body["connection"].items()
    }
    return {**body, "connection": connection}


def _v3_connection(**overrides: Any) -> dict[str, Any]:
    """The update example's connection, filled: typed values (port 5432, ssl false)."""
    connection = dict(_filled(doc_example(UPDATE, "Request"))["connection"])
    connection.update(overrides)
    return connection


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert PG_PASSWORD not in response.text  # a credential is never in a response
    if response.request.url.path.startswith("/v3/"):
        assert "password" not in response.text  # not even its name (v4 cards list it)
    return response.json()


async def _create(client: httpx.AsyncClient, who: AccountHandle, **connection: Any) -> dict[str, Any]:
    body = {"type": "postgres", "connection": _v3_connection(**connection)}
    created = _ok(await client.post("/v3/destinations", headers=who.headers, json=body))
    v3_schemas.DestinationV3Out.model_validate(created)
    return dict(created)


def _same_types(ours: dict[str, Any], documented: dict[str, Any]) -> None:
    """Every key both show has the documented value's JSON type (placeholders aside: a quoted
    ``<...>`` stands for a value of any type, e.g. ``"id": "<DESTINATION_ID>"``)."""
    for key in ours.keys() & documented.keys():
        value, example = ours[key], documented[key]
        if isinstance(example, str) and example.startswith("<"):
            continue
        if isinstance(example, dict):
            _same_types(value, example)
        else:
            assert type(value) is type(example), (key, value, example)


def _queued(last_check: dict[str, Any]) -> None:
    """A check just queued by a create or PUT: no error known, not completed (v3_views)."""
    assert list(last_check) == ["error", "started_at", "completed_at"]
    assert last_check["error"] is False
    assert WIRE_TIME.match(last_check["started_at"])
    assert last_check["completed_at"] is None


def _documented_shape(body: dict[str, Any], documented: dict[str, Any], sent: dict[str, Any]) -> None:
    """``body`` has the documented keys in the documented order, the documented value types
    (``last_check`` as a just-queued check has them), and the connection values the client
    sent, each as typed as it was sent or documented."""
    assert list(body) == list(documented)
    assert isinstance(body["id"], int)
    for key in ("created_at", "updated_at"):
        assert WIRE_TIME.match(body[key])
    _same_types({k: v for k, v in body.items() if k != "last_check"}, documented)
    _queued(body["last_check"])
    for name, value in sent.items():
        if name != "password":
            assert body["connection"][name] == value, name
    assert "password" not in body["connection"]


async def test_s3_create_example_as_written(client: httpx.AsyncClient, account: AccountHandle) -> None:
    """Stitch's create example, request body unchanged. Needs the ``s3`` destination type."""
    request = doc_example(CREATE, "Request")
    documented = doc_example(CREATE, "Response")
    created = _ok(await client.post("/v3/destinations", headers=account.headers, json=request))
    _documented_shape(created, documented, request["connection"])
    assert created["type"] == "s3"
    assert created["connection"]["csv_force_quote"] is True
    assert set(request["connection"]) <= set(created["connection"])
    # Stitch's sentinel_key (its challenge file's name) is not sent by the client; whether the
    # s3 type adds one is that type's decision, so only its type is held (by _same_types).
    listed = _ok(await client.get("/v3/destinations", headers=account.headers))
    assert listed == [created]


async def test_update_example_as_written(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    """The documented PUT body (placeholders filled), answered in the documented shape."""
    created = await _create(client, account, host="localhost", port="6543", ssl=True)
    assert created["connection"]["port"] == 6543
    request = _filled(doc_example(UPDATE, "Request"))
    documented = doc_example(UPDATE, "Response")
    updated = _ok(
        await client.put(f"/v3/destinations/{created['id']}", headers=account.headers, json=request)
    )
    _documented_shape(updated, documented, request["connection"])
    assert updated["connection"]["port"] == 5432
    assert updated["connection"]["ssl"] is False
    # The documented keys, without the password (never shown) and with encryption_type, which
    # Stitch itself fills when a client leaves it out (see destinations.properties.DEFAULTS).
    assert set(updated["connection"]) == set(documented["connection"]) - {"password"} | {"encryption_type"}
    assert updated["connection"]["encryption_type"] == "none"
    assert updated["id"] == created["id"]
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] >= created["updated_at"]

    # Once the check ran, the listed object has every documented type, last_check's included.
    assert await CheckDestinations().run_once(ctx, "worker-1") is True
    (listed,) = _ok(await client.get("/v3/destinations", headers=account.headers))
    assert listed["connection"] == updated["connection"]
    _same_types(listed, documented)


async def test_create_then_list(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount, ctx: Context
) -> None:
    """Live destinations of the account only, oldest first, each shaped as the list example."""
    first = await _create(client, account)
    second = await _create(client, account, port=5433)
    gone = await _create(client, account)
    other = await make_account()
    await _create(client, other)
    assert (await client.delete(f"/v4/destinations/{gone['id']}", headers=account.headers)).status_code == 200

    listed = _ok(await client.get("/v3/destinations", headers=account.headers))
    assert [d["id"] for d in listed] == [first["id"], second["id"]]
    assert listed == [first, second]
    assert listed[1]["connection"]["port"] == 5433

    while await CheckDestinations().run_once(ctx, "worker-1"):
        pass  # every queued check (the other account's and the deleted one's too) ends
    listed = _ok(await client.get("/v3/destinations", headers=account.headers))
    example = doc_example(LIST, "Response")[0]
    for item in listed:
        v3_schemas.DestinationV3Out.model_validate(item)
        assert list(item) == list(example)
        assert list(item["last_check"]) == list(example["last_check"])
        _same_types(item, example)  # a finished check: completed_at a timestamp, as documented
    # v3 has no query parameters: any an older client adds are ignored.
    assert _ok(await client.get("/v3/destinations?foo=1", headers=account.headers)) == listed


async def test_v3_and_v4_are_one_destination(client: httpx.AsyncClient, account: AccountHandle) -> None:
    """The v3 create stores what v4 shows (strings), and a v4 PUT is seen by v3 (typed)."""
    created = await _create(client, account)
    v4 = _ok(await client.get("/v4/destinations", headers=account.headers))
    assert [d["id"] for d in v4] == [created["id"]]
    assert v4[0]["properties"]["port"] == "5432"
    assert v4[0]["properties"]["ssl"] == "false"
    assert v4[0]["check_job_name"]
    _ok(
        await client.put(
            f"/v4/destinations/{created['id']}",
            headers=account.headers,
            json={"properties": {"port": "5439", "ssl": "true"}},
        )
    )
    (seen,) = _ok(await client.get("/v3/destinations", headers=account.headers))
    assert (seen["connection"]["port"], seen["connection"]["ssl"]) == (5439, True)


async def test_string_values_are_typed_on_the_way_out(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    created = await _create(client, account, port="5432", ssl="true", sslrootcert="1234")
    assert created["connection"]["port"] == 5432
    assert created["connection"]["ssl"] is True
    assert created["connection"]["sslrootcert"] == "1234"  # a string property stays a string
    assert created["connection"]["database"] == "postgres"


def test_value_kinds_follow_the_schema() -> None:
    """The json_schema shapes of Stitch's cards: integer or boolean directly, in an anyOf
    branch (redshift port), or as a string pattern (postgres port, redshift ssl)."""
    assert value_kind({"type": "boolean"}) == "boolean"
    assert value_kind({"type": "integer"}) == "integer"
    assert value_kind({"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\d+$"}]}) == "integer"
    assert value_kind({"type": "string", "pattern": r"^\d+$"}) == "integer"
    assert value_kind({"type": "string", "pattern": "^(true|false)$"}) == "boolean"
    assert value_kind({"type": "string", "pattern": "^1$|^30$"}) is None
    assert value_kind({"anyOf": [{"type": "string", "format": "hostname"}]}) is None
    assert value_kind(None) is None
    assert (typed("integer", "5432"), typed("boolean", "false"), typed(None, "5432")) == (5432, False, "5432")
    # A stored value that does not spell its kind stays what it is.
    assert (typed("integer", "54x"), typed("boolean", "yes")) == ("54x", "yes")


async def _last_check(client: httpx.AsyncClient, who: AccountHandle, destination_id: int) -> dict[str, Any]:
    listed = _ok(await client.get("/v3/destinations", headers=who.headers))
    (found,) = [d for d in listed if d["id"] == destination_id]
    return dict(found["last_check"])


def _seconds(wire: str) -> dt.datetime:
    return dt.datetime.strptime(wire, "%Y-%m-%dT%H:%M:%SZ")


async def test_last_check_before_and_after_a_check(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    """Queued: no error, started (queued) at, not completed. After the worker ran the check
    against the reachable local server: completed, no error. A PUT queues a new check, which
    last_check then shows (not the finished one it replaced)."""
    created = await _create(client, account)
    _queued(created["last_check"])

    assert await CheckDestinations().run_once(ctx, "worker-1") is True
    done = await _last_check(client, account, created["id"])
    assert done["error"] is False, done
    assert WIRE_TIME.match(done["completed_at"])
    assert _seconds(done["started_at"]) <= _seconds(done["completed_at"])

    updated = _ok(
        await client.put(
            f"/v3/destinations/{created['id']}",
            headers=account.headers,
            json={"type": "postgres", "connection": {"port": 1}},
        )
    )
    _queued(updated["last_check"])
    assert await CheckDestinations().run_once(ctx, "worker-1") is True
    failed = await _last_check(client, account, created["id"])
    assert failed["error"] is True
    assert WIRE_TIME.match(failed["completed_at"])
