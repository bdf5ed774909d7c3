"""The response-shape oracle itself: Stitch's documented examples pass it, broken answers do not,
and it is installed for every httpx client of the suite."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.oracle import violations
from tests.stitch_docs import FIXTURES, doc_example

# Documented examples and the route whose 200 body they are. Where an example itself breaks a
# rule Lockstitch follows, the rule's spec item is named and the example is fixed before checking.
EXAMPLES = [
    ("sources/sources-object", None, "GET", "/v4/sources/1"),
    ("sources/retrieve-a-source", "Response", "GET", "/v4/sources/1"),
    ("sources/update-a-source", "Response", "PUT", "/v4/sources/1"),
    ("sources/pause-a-source", "Response", "PUT", "/v4/sources/1"),
    ("sources/delete-a-source", "Response", "DELETE", "/v4/sources/1"),
    ("connection-checks/connection-check-object-v4", None, "GET", "/v4/sources/1/last-connection-check"),
    ("streams/retrieve-a-streams-schema-v4", "Response", "GET", "/v4/sources/1/streams/2"),
    ("replication-jobs/replication-job-object", None, "POST", "/v4/sources/1/sync"),
    ("replication-jobs/stop-replication-job", "Response", "DELETE", "/v4/sources/1/sync"),
    ("destinations/v4/destination-object-v4", None, "PUT", "/v4/destinations/1"),
    ("destinations/v4/update-a-destination-v4", "Response", "PUT", "/v4/destinations/1"),
    ("destination-types/get-a-destination-type", "Response", "GET", "/v4/destination-types/postgres"),
    ("source-types/get-a-source-type", "Response", "GET", "/v4/source-types/platform.hubspot"),
    ("accounts/create-an-account", "Response", "POST", "/v3/accounts"),
    ("sessions/create-a-session", "Response", "POST", "/v3/sessions/ephemeral"),
    ("import-api-access-tokens/generate-import-api-access-token", "Response", "POST", "/v4/sources/1/tokens"),
    ("import-api-access-tokens/get-import-api-access-token-ids", "Response", "GET", "/v4/sources/1/tokens"),
]


def _check(
    method: str, path: str, body: Any, status: int = 200, content_type: str = "application/json"
) -> list[str]:
    return violations(method, path, status, content_type, json.dumps(body).encode())


def _whole_seconds(value: Any) -> Any:
    """Spec 9.15 (whole seconds) applied to an example's top-level timestamps."""
    if isinstance(value, dict):
        return {
            k: (
                v.split(".")[0] + "Z"
                if isinstance(v, str) and k.endswith(("_at", "_time")) and "." in v
                else v
            )
            for k, v in value.items()
        }
    return value


# Spec 3.2's doc bug: these examples show current_step 1 with current_step_type
# fully_configured; Lockstitch follows 9.1 (the position of the type), so they are fixed first.
STEP_DOC_BUG = {"sources/update-a-source", "sources/pause-a-source", "sources/delete-a-source"}


def _step_fixed(example: dict[str, Any]) -> dict[str, Any]:
    card = example["report_card"]
    types = [step["type"] for step in card["steps"]]
    return {**example, "report_card": {**card, "current_step": types.index(card["current_step_type"]) + 1}}


@pytest.mark.parametrize(("key", "label", "method", "path"), EXAMPLES)
def test_documented_examples_pass(key: str, label: str | None, method: str, path: str) -> None:
    example = _whole_seconds(doc_example(key, label))
    if key in STEP_DOC_BUG:
        assert _check(method, path, example)  # the bug is seen
        example = _step_fixed(example)
    assert _check(method, path, example) == []


# The v3 Destination examples (spec 3.14), whose "id" is the quoted placeholder
# "<DESTINATION_ID>": Lockstitch's ids are integers (as in every v4 example), so one is put in.
V3_EXAMPLES = [
    ("destinations/v3/destination-object-v3", None, "PUT", "/v3/destinations/1"),
    ("destinations/v3/create-a-destination-v3", "Response", "POST", "/v3/destinations"),
    ("destinations/v3/update-a-destination-v3", "Response", "PUT", "/v3/destinations/1"),
]


@pytest.mark.parametrize(("key", "label", "method", "path"), V3_EXAMPLES)
def test_v3_destination_examples_pass(key: str, label: str | None, method: str, path: str) -> None:
    example = doc_example(key, label)
    assert _check(method, path, example)  # the placeholder id is seen
    assert _check(method, path, {**example, "id": 1}) == []


def test_v3_list_example_passes() -> None:
    listed = [{**item, "id": 1} for item in doc_example("destinations/v3/list-destinations-v3", "Response")]
    assert _check("GET", "/v3/destinations", listed) == []


def test_list_and_page_examples_pass() -> None:
    streams = [
        doc_example("streams/streams-object-v4", label) for label in ("Database source (view)", "SaaS source")
    ]
    for stream in streams:
        stream["metadata"].setdefault("selected", stream["selected"])  # spec 9.18
    assert _check("GET", "/v4/sources/1/streams", streams) == []
    extractions = [doc_example("extractions/extraction-object", "Successful extraction")]
    page = {"data": [_whole_seconds(e) for e in extractions], "page": 1, "total": 1, "links": {}}
    assert _check("GET", "/v4/1/extractions", page) == []
    loads = {
        "data": [_whole_seconds(doc_example("loads/load-object", "Successful load"))],
        "page": 1,
        "total": 1,
        "links": {},
    }
    assert _check("GET", "/v4/1/loads", loads) == []
    assert (
        _check(
            "GET",
            "/v4/destination-types",
            doc_example("destination-types/list-destination-types", "Response"),
        )
        == []
    )


def _schema_without_a_selected() -> dict[str, Any]:
    example = copy.deepcopy(doc_example("streams/retrieve-a-streams-schema-v4"))
    del example["metadata"][3]["metadata"]["selected"]
    return dict(example)


BROKEN = [
    (
        "a schema entry without selected (9.21)",
        "GET",
        "/v4/sources/1/streams/2",
        _schema_without_a_selected(),
    ),
    (
        "a number property value (9.23)",
        "GET",
        "/v4/sources/1",
        {**doc_example("sources/sources-object"), "properties": {"port": 5432}},
    ),
    (
        "a fractional timestamp (9.15)",
        "GET",
        "/v4/sources/1",
        {**doc_example("sources/sources-object"), "created_at": "2019-01-10T19:38:18.123Z"},
    ),
    (
        "a source without its report card",
        "GET",
        "/v4/sources",
        [{k: v for k, v in doc_example("sources/sources-object").items() if k != "report_card"}],
    ),
    (
        "current_step disagreeing with current_step_type (9.1; Stitch's create example)",
        "POST",
        "/v4/sources",
        doc_example("sources/create-a-source", "Response"),
    ),
    ("a job without its name", "POST", "/v4/sources/1/sync", {"name": "1.2.sync.x"}),
    (
        "a v3 destination whose last_check is null (3.14)",
        "GET",
        "/v3/destinations",
        [
            {
                **doc_example("destinations/v3/destination-object-v3"),
                "id": 1,
                "last_check": None,
            }
        ],
    ),
    (
        "a stream whose metadata lacks selected (9.18)",
        "GET",
        "/v4/sources/1/streams",
        [{"stream_id": 1, "tap_stream_id": "a", "stream_name": "a", "selected": None, "metadata": {}}],
    ),
]


@pytest.mark.parametrize(("what", "method", "path", "body"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_bodies_are_caught(what: str, method: str, path: str, body: Any) -> None:
    assert _check(method, path, body), what


def test_error_shapes_follow_the_family() -> None:
    source_error = {"error": "InvalidBody", "data": {"message": "no"}}
    assert _check("POST", "/v4/sources", source_error, 400) == []
    assert _check("POST", "/v4/sources", "no", 400)  # a plain string is the destinations' shape
    assert _check("GET", "/v4/destinations/1/last-connection-check", "invalid connection id", 400) == []
    assert _check("GET", "/v4/destinations", source_error, 401)
    assert _check("PUT", "/v4/sources/1/streams/metadata", {"invalid_fields": "x"}, 400) == []
    assert (
        _check("POST", "/v4/sources/1/sync", {"error": {"type": "invalid_source", "message": "x"}}, 400) == []
    )
    assert (
        _check(
            "POST", "/v3/accounts", {"code": "BadRequest", "message": "Invalid form data.", "errors": {}}, 400
        )
        == []
    )
    assert _check("POST", "/v3/accounts", source_error, 400)
    assert _check("POST", "/v3/destinations", "body must be a map", 400) == []
    assert _check("PUT", "/v3/destinations/1", {"message": "body must be a map"}, 400)


def test_json_content_type_and_slashes() -> None:
    job = {"job_name": "1.2.sync.x"}
    assert _check("POST", "/v4/sources/1/sync", job, content_type="text/plain")  # spec 9.20
    assert _check("POST", "/v4//sources/1/sync", {"name": "x"})  # spec 9.24: still that route


def test_extensions_and_server_errors_are_exempt() -> None:
    assert _check("GET", "/v4/sources/1/credentials", {"anything": 1}) == []
    assert _check("GET", "/healthz", "ok") == []
    assert _check("GET", "/v4/sources/1", {"error": "InternalError"}, 500) == []


async def _broken_source(_request: Request) -> Response:
    return JSONResponse({"id": 1, "properties": {"port": 5432}})


async def test_the_suite_checks_every_httpx_answer() -> None:
    """The session fixture is installed: an httpx client of any test that receives a broken
    Stitch body fails right there."""
    app = Starlette(routes=[Route("/v4/sources/{source_id}", _broken_source)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as http:
        with pytest.raises(AssertionError, match="response-shape oracle"):
            await http.get("/v4/sources/1")
        ignored = await http.get("/v4/sources/1/credentials")  # an extension path: exempt
        assert ignored.status_code == 404


def test_every_reference_card_passes() -> None:
    """The 228 real report cards (``source-types.json``) pass the type-card schema, so the
    oracle asks of Lockstitch's cards no more than Stitch's own satisfy."""
    cards = json.loads((FIXTURES / "source-types.json").read_text())
    cards = cards if isinstance(cards, list) else list(cards.values())
    assert len(cards) == 228
    assert _check("GET", "/v4/source-types", cards) == []
