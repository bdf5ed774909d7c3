"""Published clients written for Stitch, run unchanged but for base URL and token (spec 9.21-9.24).

* ``stitch-api`` 1.0.0 builds every URL as ``https://host/v4/`` + ``/`` + path (``/v4//sources``);
* ``stitch-connect-client`` 0.6.2 (OpenAPI-generated) sends ``destination_id`` equal to a copy of
  ``properties`` on every create and deserializes responses into strict models;
* an orchestrator integration starts a replication, polls it, parses the extraction log's
  ``replicated N records`` lines for every selected stream and reads
  ``entry["metadata"]["selected"]`` for every schema entry.

The server is the one ``make run`` starts (development mode, the demo account, its sample orders
replicated once into DuckDB), here on a fresh database of either backend.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stitch_api.api_client
import stitch_connect_client
from stitch_api.jobs import Jobs
from stitch_api.source_types import SourceTypes
from stitch_api.sources import Sources
from stitch_api.streams import Streams
from stitch_connect_client.models import CreateSourceBody, SourceFormProperties, UpdateSourceBody

from tests.e2e.processes import Server

pytestmark = pytest.mark.slow

DEADLINE = 600  # generous: plugins install and the demo replicates on a busy machine
LOADED = re.compile(r'^\S+ \S+Z tap - INFO replicated (\d+) records from "([^"]+)" endpoint$')


def _wait(condition: Any, what: str, server: Server) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen in {DEADLINE}s:\n{server.log[-4000:]}")


def _completed_extraction(server: Server, token: str, account_id: int) -> dict[str, Any] | None:
    listed = httpx.get(
        f"{server.url}/v4/{account_id}/extractions", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).json()
    done = [e for e in listed["data"] if e["completion_time"] is not None]
    return done[0] if done else None


@pytest.fixture
def demo(lockstitch_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Server, str, int]]:
    """The server of ``make run`` with its demo replicated once: (server, token, account id)."""
    env = {**lockstitch_env, "LOCKSTITCH_ENV": "development"}
    server = Server(env, tmp_path / "server.log").start("--demo")
    try:
        token_file = Path(env["LOCKSTITCH_HOME"]) / "demo-token"
        token = _wait(lambda: token_file.exists() and token_file.read_text().strip(), "demo token", server)
        headers = {"Authorization": f"Bearer {token}"}
        account_id = httpx.get(f"{server.url}/v4/sources", headers=headers, timeout=30).json()[0][
            "stitch_client_id"
        ]
        _wait(lambda: _completed_extraction(server, token, account_id), "the demo's replication", server)
        yield server, token, account_id
    finally:
        server.stop()


@pytest.fixture
def stitch_api_at(demo: tuple[Server, str, int], monkeypatch: pytest.MonkeyPatch) -> str:
    """stitch-api's base URL pointed at the server (its classes take no host argument)."""
    server, token, _ = demo
    monkeypatch.setattr(stitch_api.api_client.APIClient, "DEFAULT_SCHEMA", "http")
    monkeypatch.setattr(stitch_api.api_client.APIClient, "DEFAULT_HOST", server.url.removeprefix("http://"))
    return token


@contextlib.asynccontextmanager
async def _generated(demo: tuple[Server, str, int]) -> AsyncIterator[stitch_connect_client.ApiClient]:
    """The generated client (asyncio over aiohttp) with its host and bearer token set."""
    server, token, _ = demo
    configuration = stitch_connect_client.Configuration(host=server.url)
    configuration.access_token = token
    client = stitch_connect_client.ApiClient(configuration)
    try:
        yield client
    finally:
        await client.rest_client.pool_manager.close()  # the client has no close of its own


def test_stitch_api_finds_every_route_through_double_slashes(stitch_api_at: str) -> None:
    """Spec 9.24: ``/v4//source-types`` and the rest answer as their one-slash paths."""
    token = stitch_api_at
    status, types = SourceTypes(token).fetch_source_types()
    assert status == 200, types
    assert "platform.hp-postgres" in {t["type"] for t in types}
    status, card = SourceTypes(token).fetch_source_type_details("platform.hp-postgres")
    assert (status, card["type"]) == (200, "platform.hp-postgres")

    sources = Sources(token)
    status, listed = sources.fetch_sources()
    assert status == 200, listed
    demo_source = listed[0]
    status, one = sources.fetch_source_details(demo_source["id"])
    assert (status, one["id"]) == (200, demo_source["id"])
    status, check = sources.fetch_source_connection_check(demo_source["id"])
    assert (status, check["status"]) == (200, "succeeded")

    status, created = sources.create_source(
        {"type": "platform.hp-postgres", "display_name": "From stitch-api"}
    )
    assert status == 200, created
    status, paused = sources.pause_source(created["id"], {"paused_at": "2026-01-01T00:00:00Z"})
    assert (status, paused["paused_at"]) == (200, "2026-01-01T00:00:00Z")
    status, unpaused = sources.unpause_source(created["id"])
    assert (status, unpaused["paused_at"]) == (200, None)

    status, streams = Streams(token).fetch_streams(demo_source["id"])
    assert status == 200, streams
    status, schema = Streams(token).fetch_schema(demo_source["id"], streams[0]["stream_id"])
    assert status == 200, schema
    assert all(isinstance(m["metadata"]["selected"], bool) for m in schema["metadata"])
    status, started = Jobs(token).start_job(demo_source["id"])
    assert status == 200, started
    assert started["job_name"]


async def test_generated_client_creates_and_updates_sources(demo: tuple[Server, str, int]) -> None:
    """Spec 9.22: the generated client's create (``destination_id`` = a copy of properties) is
    accepted as having no destination_id, and its models read every response."""
    async with _generated(demo) as client:
        api = stitch_connect_client.SourcesApi(client)
        body = CreateSourceBody(
            display_name="From the generated client",
            type="platform.google-analytics",
            properties=SourceFormProperties(start_date="2020-01-01T00:00:00Z", frequency_in_minutes="30"),
        )
        created = await api.create_source(body)
        assert created.display_name == "From the generated client"
        assert created.properties.frequency_in_minutes == "30"
        assert [step.type for step in created.report_card.steps][
            created.report_card.current_step - 1
        ] == "oauth"
        change = UpdateSourceBody(
            display_name="Renamed", properties=SourceFormProperties(start_date="2021-01-01T00:00:00Z")
        )
        updated = await api.update_source(created.id, change)
        assert updated.display_name == "Renamed"
        assert updated.properties.start_date == "2021-01-01T00:00:00Z"
        fetched = await api.get_source(created.id)
        assert fetched.id == created.id
        assert created.id in {s.id for s in await api.get_sources()}


async def test_generated_client_reads_streams_and_schemas(demo: tuple[Server, str, int]) -> None:
    """The generated Stream and StreamSchema models read Lockstitch's streams of the demo source,
    and its start_replication reads the job."""
    async with _generated(demo) as client:
        sources_api = stitch_connect_client.SourcesApi(client)
        source = (await sources_api.get_sources())[0]
        streams_api = stitch_connect_client.StreamsApi(client)
        streams = await streams_api.get_streams(source.id)
        assert [s.stream_name for s in streams] == ["orders"]
        schema = await streams_api.get_stream_schema(source.id, streams[0].stream_id)
        assert json.loads(schema.schema)["properties"]
        assert schema.metadata
        # The generated spec types this response as ErrorObject; the call must still succeed.
        _, status, _ = await sources_api.start_replication_with_http_info(source.id)
        assert status == 200


def test_orchestrator_polls_a_replication_and_counts_every_stream(demo: tuple[Server, str, int]) -> None:
    """What an orchestrator does: read every schema entry's ``selected`` (spec 9.21), start a
    replication, poll it to completion, follow the log's 302 and find a ``replicated N records``
    line for every selected stream (spec 9.13)."""
    server, token, account_id = demo
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        source_id = http.get("/v4/sources").json()[0]["id"]
        selected = []
        for stream in http.get(f"/v4/sources/{source_id}/streams").json():
            schema = http.get(f"/v4/sources/{source_id}/streams/{stream['stream_id']}").json()
            entries = {tuple(e["breadcrumb"]): e["metadata"]["selected"] for e in schema["metadata"]}
            if entries[()]:
                selected.append(stream["stream_name"])
        assert selected == ["orders"]
        before = _completed_extraction(server, token, account_id)
        assert before is not None
        started = http.post(f"/v4/sources/{source_id}/sync")
        assert started.status_code == 200, started.text
        job_name = started.json()["job_name"]

        def finished() -> dict[str, Any] | None:
            latest = _completed_extraction(server, token, account_id)
            return latest if latest and latest["job_name"] == job_name else None

        extraction = _wait(finished, f"extraction {job_name}", server)
        assert extraction["tap_exit_status"] == 0, extraction
        log = http.get(f"/v4/{account_id}/extractions/{job_name}")
        assert log.status_code == 302
        text = http.get(log.headers["location"]).text
    counted = {m.group(2): int(m.group(1)) for m in map(LOADED.match, text.splitlines()) if m}
    assert set(counted) == set(selected), text
