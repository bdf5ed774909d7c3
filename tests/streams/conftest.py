"""Hand-written Singer catalogs (built from Stitch's own examples) and a source that discovered them."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import ConnectionCheck, Source
from lockstitch.streams import service
from tests.conftest import AccountHandle
from tests.helpers import hp_postgres_properties
from tests.stitch_docs import doc_example

DB_STREAM = "demni2mf59dt10-public-customers"
VIEW_STREAM = "demni2mf59dt10-public-customer_view"
SAAS_STREAM = "collects"
UNSUPPORTED_STREAM = "accounts"


def _without_selected(metadata: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "breadcrumb": m["breadcrumb"],
            "metadata": {k: v for k, v in m["metadata"].items() if k != "selected"},
        }
        for m in metadata
    ]


def saas_entry() -> dict[str, Any]:
    """Stitch's SaaS stream-schema example, as its tap would discover it (nothing selected)."""
    example = doc_example("streams/retrieve-a-streams-schema-v4")
    return {
        "tap_stream_id": SAAS_STREAM,
        "stream": SAAS_STREAM,
        "schema": json.loads(example["schema"]),
        "metadata": _without_selected(example["metadata"]),
    }


def db_entry() -> dict[str, Any]:
    """Stitch's database stream-schema example (a table, not selected), plus an updated_at column."""
    example = doc_example("stream-schemas/stream-schema-object", "Database source")
    schema = json.loads(example["schema"])
    schema["properties"]["updated_at"] = {"type": ["null", "string"], "format": "date-time"}
    metadata = copy.deepcopy(example["metadata"])
    metadata.append(
        {
            "breadcrumb": ["properties", "updated_at"],
            "metadata": {"sql-datatype": "timestamp with time zone", "inclusion": "available"},
        }
    )
    return {
        "tap_stream_id": DB_STREAM,
        "table_name": "customers",
        "stream": "customers",
        "schema": schema,
        "metadata": metadata,
    }


def view_entry() -> dict[str, Any]:
    return {
        "tap_stream_id": VIEW_STREAM,
        "table_name": "customer_view",
        "stream": "customer_view",
        "schema": {"type": "object", "properties": {"id": {"type": ["integer"]}, "name": {"type": "string"}}},
        "metadata": [
            {
                "breadcrumb": [],
                "metadata": {
                    "database-name": "demni2mf59dt10",
                    "schema-name": "public",
                    "is-view": True,
                    "row-count": 125,
                    "table-key-properties": [],
                },
            },
            {
                "breadcrumb": ["properties", "id"],
                "metadata": {"inclusion": "available", "sql-datatype": "int"},
            },
            {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available"}},
        ],
    }


def unsupported_entry() -> dict[str, Any]:
    """A Salesforce-like stream: one unsupported field, a forced method given as an object."""
    return {
        "tap_stream_id": UNSUPPORTED_STREAM,
        "stream": "Account",
        "schema": {
            "type": "object",
            "properties": {
                "Id": {"type": "string"},
                "Name": {"type": ["null", "string"]},
                "Blob": {"type": ["null", "string"]},
            },
        },
        "metadata": [
            {
                "breadcrumb": [],
                "metadata": {
                    "forced-replication-method": {"reason": "no key", "replication-method": "FULL_TABLE"},
                    "table-key-properties": ["Id"],
                },
            },
            {"breadcrumb": ["properties", "Id"], "metadata": {"inclusion": "automatic"}},
            {"breadcrumb": ["properties", "Name"], "metadata": {"inclusion": "available"}},
            {
                "breadcrumb": ["properties", "Blob"],
                "metadata": {
                    "inclusion": "unsupported",
                    "unsupported-description": "this field is unsupported by the Bulk API.",
                },
            },
        ],
    }


def full_catalog() -> dict[str, Any]:
    return {"streams": [saas_entry(), db_entry(), view_entry(), unsupported_entry()]}


async def discover(ctx: Context, source_id: int, catalog: Any) -> None:
    async with ctx.db.unit_of_work() as session:
        source = await session.get(Source, source_id)
        assert source is not None
        await service.store_discovered_catalog(session, source, catalog, utcnow())


async def checked_source(client: httpx.AsyncClient, ctx: Context, who: AccountHandle, name: str) -> int:
    """A platform.hp-postgres source whose connection check succeeded (not yet discovered)."""
    body = {"type": "platform.hp-postgres", "display_name": name, "properties": hp_postgres_properties()}
    response = await client.post("/v4/sources", headers=who.headers, json=body)
    assert response.status_code == 200, response.text
    source_id = int(response.json()["id"])
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        source = await session.get(Source, source_id)
        assert source is not None
        check_name = f"{who.id}.{source_id}.check.succeeded"
        session.add(
            ConnectionCheck(
                account_id=who.id,
                source_id=source_id,
                name=check_name,
                state="succeeded",
                created_at=now,
                start_time=now,
                completion_time=now,
                check_exit_status=0,
                discovery_exit_status=0,
            )
        )
        source.check_job_name = check_name
    return source_id


MakeSource = Callable[..., Awaitable[int]]


@pytest.fixture
def make_source(client: httpx.AsyncClient, ctx: Context) -> MakeSource:
    counter = iter(range(1, 1000))

    async def make(who: AccountHandle, catalog: Any = None) -> int:
        source_id = await checked_source(client, ctx, who, f"Warehouse {next(counter)}")
        await discover(ctx, source_id, full_catalog() if catalog is None else catalog)
        return source_id

    return make


@pytest.fixture
async def source_id(make_source: MakeSource, account: AccountHandle) -> int:
    return await make_source(account)
