"""Property-based requests against a real server: no request, however malformed, gets a 5xx.

Schemathesis generates requests from the server's own OpenAPI document (which carries every
source type's property schemas): valid ones (positive mode) and ones that break the schema
(negative mode: wrong types, unknown keys, missing fields, odd ids). Half of the generated
source ids are swapped for ids that exist, so updates and deletes reach real rows. The test
counts the requests it sent and requires at least MINIMUM of them (on PostgreSQL; a third on SQLite).
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.e2e.processes import Server, cli
from tests.helpers import hp_postgres_properties

pytestmark = pytest.mark.slow
MINIMUM = 2000  # the figure, on PostgreSQL; SQLite runs a third of it
SQLITE_SHARE = 1 / 3


def test_no_request_gets_a_server_error(lockstitch_env: dict[str, str], tmp_path: Path, backend: str) -> None:
    minimum = int(MINIMUM * (SQLITE_SHARE if backend == "sqlite" else 1))
    created = json.loads(
        cli(
            lockstitch_env, "accounts", "create", "--email", "f@example.com", "--company", "F", "--json"
        ).stdout
    )
    headers = {"Authorization": f"Bearer {created['access_token']}"}
    server = Server(lockstitch_env, tmp_path / "server.log").start("--no-worker")
    sent = 0
    server_errors: list[str] = []
    try:
        with httpx.Client(base_url=server.url, headers=headers) as http:
            real_ids = [
                http.post(
                    "/v4/sources",
                    json={
                        "type": "platform.hp-postgres",
                        "display_name": f"Seed {n}",
                        "properties": hp_postgres_properties(),
                    },
                ).json()["id"]
                for n in range(5)
            ]
            schema = schemathesis.openapi.from_dict(http.get("/openapi.json").json())

        operations = [result.ok() for result in schema.get_all_operations()]
        # Spread the requests over every operation and both modes, with a margin: hypothesis
        # stops early for operations with few distinct inputs.
        examples_per_mode = math.ceil(1.6 * minimum / (2 * len(operations)))
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
                @settings(
                    max_examples=examples_per_mode,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def exercise(case: Any, data: st.DataObject) -> None:
                    nonlocal sent
                    params = case.path_parameters or {}
                    if "source_id" in params and data.draw(st.booleans()):
                        params["source_id"] = str(data.draw(st.sampled_from(real_ids)))
                    response = case.call(base_url=server.url, headers=headers, timeout=30)
                    sent += 1
                    if response.status_code >= 500:
                        server_errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
                    else:
                        content_type = response.headers.get("content-type", [""])[0]  # schemathesis: lists
                        # The OAuth callback is a browser page (or a redirect), /metrics is Prometheus
                        # text; everything else is JSON.
                        expected = {"/oauth/callback": "text/html", "/metrics": "text/plain"}.get(
                            case.path, "application/json"
                        )
                        if case.path.endswith("/last-connection-check/log") and response.status_code == 200:
                            expected = "text/plain"  # a check's log; its errors are JSON

                        assert response.status_code in (302, 303) or content_type.startswith(expected), (
                            case.path
                        )

                # Unsatisfiable: e.g. no way to break the schema of an endpoint that takes no input.
                with contextlib.suppress(Unsatisfiable):
                    exercise()
    finally:
        server.stop()

    assert server_errors == []
    assert sent >= minimum, f"only {sent} requests were generated"
    assert "Traceback" not in server.log
