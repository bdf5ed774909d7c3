"""The configure-OAuth guide, request by request, against Lockstitch (on both databases).

The guide's JSON (tests/fixtures/stitch/configure-oauth-guide.txt) is the expected output:
the GA report card, the oauth step, and the Source object after the PUT with OAuth properties.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import AccountHandle
from tests.stitch_docs import guide_blocks

GA = "platform.google-analytics"


def _props_by_name(step: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in step["properties"]}


def _step(card: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(s for s in card["steps"] if s["type"] == kind)


async def test_report_card_contains_every_property_of_the_guide(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    guide_card, guide_oauth_step, _, _ = guide_blocks()
    response = await client.get(f"/v4/source-types/{GA}", headers=account.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    card = response.json()

    assert card["type"] == GA
    assert (card["current_step"], card["current_step_type"]) == (1, "form")
    assert [s["type"] for s in card["steps"]] == [s["type"] for s in guide_card["steps"]]
    for guide_step in guide_card["steps"]:
        ours = _props_by_name(_step(card, guide_step["type"]))
        for prop in guide_step["properties"]:
            assert ours[prop["name"]] == prop, prop["name"]
    ours_oauth = _props_by_name(_step(card, "oauth"))
    for prop in guide_oauth_step["properties"]:
        assert ours_oauth[prop["name"]] == prop
    assert card["details"]["access"] is True
    assert set(card["details"]) == set(guide_card["details"]) | {"image_version"}


async def test_the_guide_flow_end_to_end(client: httpx.AsyncClient, account: AccountHandle) -> None:
    _, _, put_body, guide_source = guide_blocks()

    # Step 1: create and configure the source (form properties only; OAuth comes in a PUT).
    form = {
        "start_date": guide_source["properties"]["start_date"],
        "frequency_in_minutes": guide_source["properties"]["frequency_in_minutes"],
        "report_definitions": guide_source["properties"]["report_definitions"],
    }
    created = await client.post(
        "/v4/sources",
        headers=account.headers,
        json={"type": GA, "display_name": "Google Analytics", "properties": form},
    )
    assert created.status_code == 200, created.text
    source = created.json()
    assert (source["report_card"]["current_step"], source["report_card"]["current_step_type"]) == (2, "oauth")
    assert source["stitch_client_id"] == account.id
    assert source["schedule"] is None

    # Step 2: the OAuth properties to provide come from the type's report card.
    card = (await client.get(f"/v4/source-types/{GA}", headers=account.headers)).json()
    required_oauth = {p["name"] for p in _step(card, "oauth")["properties"] if p["is_required"]}
    assert required_oauth == set(put_body["properties"])

    # Step 4: update the source with the OAuth properties (the guide's PUT body, verbatim).
    updated = await client.put(f"/v4/sources/{source['id']}", headers=account.headers, json=put_body)
    assert updated.status_code == 200, updated.text
    body = updated.json()

    # Same keys as the guide's Source object (check_job_name is added once a check is queued).
    assert set(guide_source) <= set(body)
    assert set(body) - set(guide_source) == {"check_job_name"}
    assert body["properties"]["view_id"] == "143355753"
    for secret in ("client_id", "client_secret", "refresh_token"):
        assert secret not in body["properties"]
        assert put_body["properties"][secret] not in updated.text
    assert set(body["properties"]) == set(guide_source["properties"])
    oauth_step = _props_by_name(_step(body["report_card"], "oauth"))
    for name in put_body["properties"]:
        assert oauth_step[name]["provided"] is True
    guide_card = guide_source["report_card"]
    assert [s["type"] for s in body["report_card"]["steps"]] == [s["type"] for s in guide_card["steps"]]
    # Past oauth: discovery is queued (the guide shows field_selection once discovery has run).
    assert body["report_card"]["current_step"] > 2
    assert body["report_card"]["current_step_type"] == "discover_schema"
    form_step = _props_by_name(_step(body["report_card"], "form"))
    for prop in _step(guide_card, "form")["properties"]:
        assert form_step[prop["name"]] == prop, prop["name"]

    # The queued connection check is visible, in Stitch's shape.
    check = await client.get(f"/v4/sources/{source['id']}/last-connection-check", headers=account.headers)
    assert check.status_code == 200
    assert check.json()["name"] == body["check_job_name"]
    assert check.json()["status"] == "running"
    assert body["check_job_name"].startswith(f"{account.id}.{source['id']}.check.")

    # GET returns the same object as the PUT did.
    again = await client.get(f"/v4/sources/{source['id']}", headers=account.headers)
    assert again.json() == body


async def test_oauth_properties_may_come_in_the_post(
    client: httpx.AsyncClient, account: AccountHandle
) -> None:
    _, _, put_body, guide_source = guide_blocks()
    props = {"start_date": guide_source["properties"]["start_date"], **put_body["properties"]}
    created = await client.post(
        "/v4/sources", headers=account.headers, json={"type": GA, "display_name": "GA", "properties": props}
    )
    assert created.status_code == 200, created.text
    assert created.json()["report_card"]["current_step_type"] == "discover_schema"
    assert "client_secret" not in created.json()["properties"]
