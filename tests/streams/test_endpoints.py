"""The streams endpoints through the API (both databases): shapes, every error body, isolation,
and the path from field_selection to fully_configured."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from lockstitch.context import Context
from lockstitch.models import Source
from tests.conftest import AccountHandle, MakeAccount
from tests.stitch_docs import doc_example
from tests.streams.conftest import (
    DB_STREAM,
    SAAS_STREAM,
    UNSUPPORTED_STREAM,
    VIEW_STREAM,
    MakeSource,
    checked_source,
    discover,
    full_catalog,
)

BODY_SHAPE = "body must contain a 'streams' property with a list of metadatas by tap_stream_id"
NON_DISCOVERABLE = ["selected", "replication-method", "replication-key", "view-key-properties"]
METHODS = "(expected FULL_TABLE, INCREMENTAL or LOG_BASED)"
KEY_TYPES = "(expected an integer, date-time or timestamp field)"


def _path(source_id: object, rest: str = "") -> str:
    return f"/v4/sources/{source_id}/streams{rest}"


async def _list(client: httpx.AsyncClient, who: AccountHandle, source_id: object) -> list[dict[str, Any]]:
    response = await client.get(_path(source_id), headers=who.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def _by_tap_id(
    client: httpx.AsyncClient, who: AccountHandle, source_id: int
) -> dict[str, dict[str, Any]]:
    return {s["tap_stream_id"]: s for s in await _list(client, who, source_id)}


async def _schema(client: httpx.AsyncClient, who: AccountHandle, source_id: int, tap_stream_id: str) -> Any:
    stream_id = (await _by_tap_id(client, who, source_id))[tap_stream_id]["stream_id"]
    response = await client.get(_path(source_id, f"/{stream_id}"), headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _put(client: httpx.AsyncClient, who: AccountHandle, source_id: object, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        return await client.put(
            _path(source_id, "/metadata"),
            headers={**who.headers, "Content-Type": "application/json"},
            content=body,
        )
    return await client.put(_path(source_id, "/metadata"), headers=who.headers, json=body)


def _one(tap_stream_id: object, breadcrumb: list[Any], metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "streams": [
            {"tap_stream_id": tap_stream_id, "metadata": [{"breadcrumb": breadcrumb, "metadata": metadata}]}
        ]
    }


def _assert_plain(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == message


def _assert_invalid(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"invalid_fields": message}


# --- shapes --------------------------------------------------------------------------------------


async def test_list_has_the_stream_object_shape(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    streams = await _list(client, account, source_id)
    # Ordered by stream_name, then tap_stream_id.
    assert [s["stream_name"] for s in streams] == ["Account", "collects", "customer_view", "customers"]
    keys = [
        list(doc_example("streams/streams-object-v4", label))
        for label in ("SaaS source", "Database source (view)")
    ]
    for stream in streams:
        assert all(list(stream) == k for k in keys)  # Stitch's keys, in Stitch's order
        assert stream["selected"] is None
        assert stream["metadata"]["selected"] is None  # spec 9.18: always there
    saas = next(s for s in streams if s["tap_stream_id"] == SAAS_STREAM)
    assert set(saas["metadata"]) == set(doc_example("streams/streams-object-v4", "SaaS source")["metadata"])
    db = next(s for s in streams if s["tap_stream_id"] == DB_STREAM)
    assert db["stream_name"] == "customers"
    assert db["metadata"] == {
        "database-name": "demni2mf59dt10",
        "schema-name": "public",
        "table-key-properties": ["id"],
        "row-count": 0,
        "is-view": False,
        "selected": None,
    }


async def test_stream_schema_matches_stitchs_example(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    """After the selection Stitch's example shows, the stream's schema object equals the example."""
    example = doc_example("streams/retrieve-a-streams-schema-v4")
    chosen = [
        {"breadcrumb": m["breadcrumb"], "metadata": {"selected": m["metadata"]["selected"]}}
        for m in example["metadata"]
    ]
    response = await _put(
        client, account, source_id, {"streams": [{"tap_stream_id": SAAS_STREAM, "metadata": chosen}]}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": 200}
    got = await _schema(client, account, source_id, SAAS_STREAM)
    assert list(got) == list(example)
    assert isinstance(got["schema"], str)
    assert json.loads(got["schema"]) == json.loads(example["schema"])
    assert got["metadata"] == example["metadata"]
    assert got["non-discoverable-metadata-keys"] == NON_DISCOVERABLE
    listed = (await _by_tap_id(client, account, source_id))[SAAS_STREAM]
    assert listed["metadata"] == doc_example("streams/streams-object-v4", "SaaS source")["metadata"]
    assert listed["selected"] is True


async def test_unselected_stream_schema_carries_selected_everywhere(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    """Spec 9.21: Stitch's database example, plus ``selected`` in every entry: false for the
    unselected stream, true for its fields (all selected by default)."""
    example = doc_example("stream-schemas/stream-schema-object", "Database source")
    got = await _schema(client, account, source_id, DB_STREAM)
    assert set(got) == set(example)
    by_crumb = {tuple(m["breadcrumb"]): m["metadata"] for m in got["metadata"]}
    for entry in example["metadata"]:
        expected = dict(entry["metadata"])
        expected["selected"] = bool(entry["breadcrumb"])
        assert by_crumb[tuple(entry["breadcrumb"])] == expected


async def test_bad_and_unknown_ids(client: httpx.AsyncClient, source_id: int, account: AccountHandle) -> None:
    stream_id = (await _by_tap_id(client, account, source_id))[DB_STREAM]["stream_id"]
    for raw in ("abc", "0", "-1", "99999999999999999999", str(stream_id + 1000), "metadata"):
        _assert_plain(
            await client.get(_path(source_id, f"/{raw}"), headers=account.headers),
            f"invalid stream-id: {raw}",
        )
    for raw in ("abc", "0", str(source_id + 1000)):
        _assert_plain(
            await client.get(_path(raw, f"/{stream_id}"), headers=account.headers),
            f"invalid stream-id: {stream_id}",
        )
        _assert_plain(await client.get(_path(raw), headers=account.headers), f"invalid source-id: {raw}")


async def test_a_source_without_streams_lists_none(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle
) -> None:
    source_id = await checked_source(client, ctx, account, "Not discovered")
    assert await _list(client, account, source_id) == []


async def test_unauthenticated_is_a_plain_401(client: httpx.AsyncClient, source_id: int) -> None:
    for response in (
        await client.get(_path(source_id)),
        await client.put(_path(source_id, "/metadata"), json={"streams": []}),
    ):
        assert response.status_code == 401
        assert isinstance(response.json(), str)


async def test_other_accounts_streams_look_missing(
    client: httpx.AsyncClient, make_account: MakeAccount, make_source: MakeSource, account: AccountHandle
) -> None:
    source_id = await make_source(account)
    other = await make_account()
    other_source = await make_source(other)
    stream_id = (await _by_tap_id(client, account, source_id))[DB_STREAM]["stream_id"]
    _assert_plain(
        await client.get(_path(source_id), headers=other.headers), f"invalid source-id: {source_id}"
    )
    _assert_plain(
        await client.get(_path(source_id, f"/{stream_id}"), headers=other.headers),
        f"invalid stream-id: {stream_id}",
    )
    # Nor under the other account's own source id.
    _assert_plain(
        await client.get(_path(other_source, f"/{stream_id}"), headers=other.headers),
        f"invalid stream-id: {stream_id}",
    )
    response = await _put(client, other, source_id, _one(DB_STREAM, [], {"selected": True}))
    _assert_invalid(response, f"invalid tap-stream-ids:  [{DB_STREAM}]")
    assert (await _by_tap_id(client, account, source_id))[DB_STREAM]["selected"] is None


async def test_deleted_source_is_readable_not_writable(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    assert (await client.delete(f"/v4/sources/{source_id}", headers=account.headers)).status_code == 200
    assert len(await _list(client, account, source_id)) == 4
    await _schema(client, account, source_id, DB_STREAM)
    response = await _put(client, account, source_id, _one(DB_STREAM, [], {"selected": True}))
    _assert_invalid(response, f"invalid tap-stream-ids:  [{DB_STREAM}]")


# --- PUT errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"{",
        [],
        "streams",
        None,
        {},
        {"streams": None},
        {"streams": {}},
        {"streams": "x"},
        {"streams": ["x"]},
        {"streams": [{"tap_stream_id": DB_STREAM}]},
        {"streams": [{"tap_stream_id": DB_STREAM, "metadata": {}}]},
        {"streams": [{"tap_stream_id": DB_STREAM, "metadata": [{"breadcrumb": []}]}]},
        {"streams": [{"tap_stream_id": DB_STREAM, "metadata": [{"metadata": {"selected": True}}]}]},
        {"streams": [{"tap_stream_id": DB_STREAM, "metadata": [{"breadcrumb": "", "metadata": {}}]}]},
        {"streams": [{"tap_stream_id": DB_STREAM, "metadata": [{"breadcrumb": [], "metadata": []}]}]},
        {"streams": [{"tap_stream_id": DB_STREAM, "metadata": [None]}]},
    ],
)
async def test_malformed_bodies(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle, body: Any
) -> None:
    _assert_plain(await _put(client, account, source_id, body), BODY_SHAPE)


async def test_body_too_large(client: httpx.AsyncClient, source_id: int, account: AccountHandle) -> None:
    response = await _put(client, account, source_id, b"[" + b" " * 1_100_000 + b"]")
    assert response.status_code == 413
    assert isinstance(response.json(), str)


@pytest.mark.parametrize(
    ("streams", "message"),
    [
        ([{"metadata": []}], "invalid tap-stream-ids:  [nil]"),
        ([{"tap_stream_id": None, "metadata": []}], "invalid tap-stream-ids:  [nil]"),
        ([{"tap_stream_id": "nope", "metadata": []}], "invalid tap-stream-ids:  [nope]"),
        (
            [
                {"tap_stream_id": "nope", "metadata": []},
                {"tap_stream_id": DB_STREAM, "metadata": []},
                {"tap_stream_id": "other", "metadata": []},
                {"tap_stream_id": "nope", "metadata": []},
            ],
            "invalid tap-stream-ids:  [nope other]",
        ),
        (
            [{"metadata": []}, {"tap_stream_id": "nope", "metadata": []}],
            "invalid tap-stream-ids:  [nil nope]",
        ),
        ([{"tap_stream_id": 5, "metadata": []}], "invalid tap-stream-ids:  [5]"),
        ([{"stream_id": 5, "metadata": []}], "invalid tap-stream-ids:  [nil]"),
    ],
)
async def test_invalid_tap_stream_ids(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle, streams: Any, message: str
) -> None:
    _assert_invalid(await _put(client, account, source_id, {"streams": streams}), message)


@pytest.mark.parametrize("raw", ["abc", "0", "123456789"])
async def test_unknown_source_makes_every_id_invalid(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle, raw: str
) -> None:
    _assert_invalid(
        await _put(client, account, raw, _one(DB_STREAM, [], {"selected": True})),
        f"invalid tap-stream-ids:  [{DB_STREAM}]",
    )


async def test_only_non_discoverable_keys(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    one = await _put(
        client, account, source_id, _one(DB_STREAM, ["properties", "age"], {"inclusion": "automatic"})
    )
    _assert_invalid(one, 'only non-discoverable metadata can be produced by the UI: #{"inclusion"}')
    body = {
        "streams": [
            {
                "tap_stream_id": DB_STREAM,
                "metadata": [
                    {"breadcrumb": [], "metadata": {"selected": True, "row-count": 3, "is-view": True}},
                    {
                        "breadcrumb": ["properties", "age"],
                        "metadata": {"sql-datatype": "text", "row-count": 1},
                    },
                ],
            }
        ]
    }
    _assert_invalid(
        await _put(client, account, source_id, body),
        'only non-discoverable metadata can be produced by the UI: #{"row-count" "is-view" "sql-datatype"}',
    )


async def test_unsupported_fields_cannot_be_selected(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    response = await _put(
        client, account, source_id, _one(UNSUPPORTED_STREAM, ["properties", "Blob"], {"selected": True})
    )
    _assert_invalid(response, "Unsupported fields cannot be selected by default")
    # Deselecting one is harmless.
    ok = await _put(
        client, account, source_id, _one(UNSUPPORTED_STREAM, ["properties", "Blob"], {"selected": False})
    )
    assert ok.status_code == 200, ok.text
    schema = await _schema(client, account, source_id, UNSUPPORTED_STREAM)
    blob = next(e for e in schema["metadata"] if e["breadcrumb"] == ["properties", "Blob"])
    assert blob["metadata"]["selected"] is False


@pytest.mark.parametrize(
    ("tap_stream_id", "breadcrumb", "metadata", "message"),
    [
        (
            DB_STREAM,
            ["properties", "nope"],
            {"selected": True},
            f"unknown field for stream {DB_STREAM}: nope",
        ),
        (DB_STREAM, ["nope"], {"selected": True}, f'invalid breadcrumb for stream {DB_STREAM}: ["nope"]'),
        (DB_STREAM, ["properties", 1], {"selected": True}, f"unknown field for stream {DB_STREAM}: 1"),
        (DB_STREAM, [], {"selected": "yes"}, f"selected must be true, false or null (stream {DB_STREAM})"),
        (
            DB_STREAM,
            ["properties", "age"],
            {"selected": 1},
            f"selected must be true, false or null (stream {DB_STREAM})",
        ),
        (
            DB_STREAM,
            ["properties", "age"],
            {"replication-method": "FULL_TABLE"},
            f"replication-method can only be set on the stream's breadcrumb [] (stream {DB_STREAM})",
        ),
        (
            DB_STREAM,
            [],
            {"replication-method": "SOMETIMES"},
            f"invalid replication-method for stream {DB_STREAM}: SOMETIMES {METHODS}",
        ),
        (
            DB_STREAM,
            [],
            {"replication-method": 3},
            f"invalid replication-method for stream {DB_STREAM}: 3 {METHODS}",
        ),
        (
            SAAS_STREAM,
            [],
            {"replication-method": "FULL_TABLE"},
            f"replication-method FULL_TABLE is not allowed for stream {SAAS_STREAM}: "
            "the tap forces INCREMENTAL",
        ),
        (
            UNSUPPORTED_STREAM,
            [],
            {"replication-method": "INCREMENTAL"},
            f"replication-method INCREMENTAL is not allowed for stream {UNSUPPORTED_STREAM}: "
            "the tap forces FULL_TABLE",
        ),
        (
            VIEW_STREAM,
            [],
            {"replication-method": "LOG_BASED"},
            f"replication-method LOG_BASED is not available for stream {VIEW_STREAM}",
        ),
        (
            DB_STREAM,
            [],
            {"replication-method": "INCREMENTAL"},
            f"replication-method INCREMENTAL needs a replication-key (stream {DB_STREAM})",
        ),
        (
            DB_STREAM,
            [],
            {"replication-method": "INCREMENTAL", "replication-key": "name"},
            f"invalid replication-key for stream {DB_STREAM}: name {KEY_TYPES}",
        ),
        (
            DB_STREAM,
            [],
            {"replication-key": "nope"},
            f"invalid replication-key for stream {DB_STREAM}: nope (no such field)",
        ),
        (
            DB_STREAM,
            [],
            {"replication-key": ["id"]},
            f'invalid replication-key for stream {DB_STREAM}: ["id"] (expected a field name)',
        ),
        (
            SAAS_STREAM,
            [],
            {"replication-key": "created_at"},
            f"invalid replication-key for stream {SAAS_STREAM}: created_at (expected one of: updated_at)",
        ),
        (
            VIEW_STREAM,
            [],
            {"view-key-properties": "id"},
            f"view-key-properties must be a list of field names (stream {VIEW_STREAM})",
        ),
        (
            VIEW_STREAM,
            [],
            {"view-key-properties": ["id", "nope", "nada"]},
            f"unknown view-key-properties for stream {VIEW_STREAM}: nope, nada",
        ),
    ],
)
async def test_metadata_rules(
    client: httpx.AsyncClient,
    source_id: int,
    account: AccountHandle,
    tap_stream_id: str,
    breadcrumb: list[Any],
    metadata: dict[str, Any],
    message: str,
) -> None:
    _assert_invalid(
        await _put(client, account, source_id, _one(tap_stream_id, breadcrumb, metadata)), message
    )


async def test_incremental_needs_a_key_even_when_chosen_earlier(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    ok = _one(DB_STREAM, [], {"replication-method": "INCREMENTAL", "replication-key": "updated_at"})
    assert (await _put(client, account, source_id, ok)).status_code == 200
    # Clearing the key of an INCREMENTAL stream leaves it without one.
    cleared = await _put(client, account, source_id, _one(DB_STREAM, [], {"replication-key": None}))
    _assert_invalid(cleared, f"replication-method INCREMENTAL needs a replication-key (stream {DB_STREAM})")
    # The key chosen before serves a later method change.
    again = _one(DB_STREAM, [], {"replication-method": "FULL_TABLE"})
    assert (await _put(client, account, source_id, again)).status_code == 200
    back = _one(DB_STREAM, [], {"replication-method": "INCREMENTAL"})
    assert (await _put(client, account, source_id, back)).status_code == 200
    metadata = (await _by_tap_id(client, account, source_id))[DB_STREAM]["metadata"]
    assert (metadata["replication-method"], metadata["replication-key"]) == ("INCREMENTAL", "updated_at")


async def test_a_rejected_put_writes_nothing(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    body = {
        "streams": [
            {"tap_stream_id": DB_STREAM, "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]},
            {
                "tap_stream_id": VIEW_STREAM,
                "metadata": [
                    {"breadcrumb": [], "metadata": {"selected": True}},
                    {"breadcrumb": ["properties", "nope"], "metadata": {"selected": True}},
                ],
            },
        ]
    }
    _assert_invalid(
        await _put(client, account, source_id, body), f"unknown field for stream {VIEW_STREAM}: nope"
    )
    streams = await _by_tap_id(client, account, source_id)
    assert streams[DB_STREAM]["selected"] is None
    assert streams[VIEW_STREAM]["selected"] is None


# --- PUT success ---------------------------------------------------------------------------------


async def test_accepted_writes(client: httpx.AsyncClient, source_id: int, account: AccountHandle) -> None:
    body = {
        "streams": [
            {
                "tap-stream-id": VIEW_STREAM,  # spec 9.19: the alias
                "metadata": [
                    {
                        "breadcrumb": [],
                        "metadata": {
                            "selected": True,
                            "replication-method": "INCREMENTAL",
                            "replication-key": "id",
                            "view-key-properties": ["id"],
                        },
                    },
                    {"breadcrumb": ["properties", "name"], "metadata": {"selected": True}},
                ],
            },
            {
                "tap_stream_id": DB_STREAM,
                "metadata": [
                    {"breadcrumb": [], "metadata": {"selected": False, "replication-method": "LOG_BASED"}}
                ],
            },
        ]
    }
    response = await _put(client, account, source_id, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": 200}
    streams = await _by_tap_id(client, account, source_id)
    view = streams[VIEW_STREAM]
    assert view["selected"] is True
    assert set(view["metadata"]) == set(
        doc_example("streams/streams-object-v4", "Database source (view)")["metadata"]
    )
    assert view["metadata"]["view-key-properties"] == ["id"]
    assert streams[DB_STREAM]["selected"] is False
    assert streams[DB_STREAM]["metadata"]["replication-method"] == "LOG_BASED"
    fields = {
        tuple(m["breadcrumb"]): m["metadata"]
        for m in (await _schema(client, account, source_id, VIEW_STREAM))["metadata"]
    }
    assert fields[("properties", "name")]["selected"] is True
    assert fields[("properties", "id")]["selected"] is False  # not chosen, not replicated

    # null takes a choice back; an empty list of streams changes nothing.
    reset = _one(VIEW_STREAM, [], {"selected": None, "view-key-properties": None, "replication-method": None})
    assert (await _put(client, account, source_id, reset)).status_code == 200
    assert (await _put(client, account, source_id, {"streams": []})).json() == {"status": 200}
    view = (await _by_tap_id(client, account, source_id))[VIEW_STREAM]
    assert view["selected"] is None
    assert "view-key-properties" not in view["metadata"]
    assert view["metadata"]["replication-key"] == "id"


async def test_selection_makes_the_source_fully_configured(
    client: httpx.AsyncClient, ctx: Context, account: AccountHandle
) -> None:
    source_id = await checked_source(client, ctx, account, "Configured")
    before = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()
    assert before["report_card"]["current_step_type"] == "field_selection"  # checked, nothing discovered
    await discover(ctx, source_id, full_catalog())

    # A selected stream without a replicated field is not enough (the view has no automatic field).
    select_view = _one(VIEW_STREAM, [], {"selected": True})
    assert (await _put(client, account, source_id, select_view)).status_code == 200
    source = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()
    assert source["report_card"]["current_step_type"] == "field_selection"
    assert source["schedule"] is None

    select_field = _one(VIEW_STREAM, ["properties", "name"], {"selected": True})
    assert (await _put(client, account, source_id, select_field)).status_code == 200
    source = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()
    assert (source["report_card"]["current_step"], source["report_card"]["current_step_type"]) == (
        4,
        "fully_configured",
    )
    assert source["schedule"]["next_fire_time"] is not None
    assert source["updated_at"] >= before["updated_at"]
    async with ctx.db.read() as session:
        first = (await session.get(Source, source_id)).fully_configured_at  # type: ignore[union-attr]
    assert first is not None

    # Deselecting goes back to field_selection; selecting again keeps the first configuration time.
    assert (
        await _put(client, account, source_id, _one(VIEW_STREAM, [], {"selected": False}))
    ).status_code == 200
    source = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()
    assert source["report_card"]["current_step_type"] == "field_selection"
    assert (
        await _put(client, account, source_id, _one(SAAS_STREAM, [], {"selected": True}))
    ).status_code == 200
    source = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()
    assert source["report_card"]["current_step_type"] == "fully_configured"
    async with ctx.db.read() as session:
        assert (await session.get(Source, source_id)).fully_configured_at == first  # type: ignore[union-attr]


async def test_concurrent_puts_lose_nothing(
    client: httpx.AsyncClient, source_id: int, account: AccountHandle
) -> None:
    tap_ids = [DB_STREAM, VIEW_STREAM, SAAS_STREAM, UNSUPPORTED_STREAM]
    responses = await asyncio.gather(
        *(_put(client, account, source_id, _one(tap_id, [], {"selected": True})) for tap_id in tap_ids * 3)
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    streams = await _by_tap_id(client, account, source_id)
    assert all(streams[tap_id]["selected"] is True for tap_id in tap_ids)
    source = (await client.get(f"/v4/sources/{source_id}", headers=account.headers)).json()
    assert source["report_card"]["current_step_type"] == "fully_configured"
