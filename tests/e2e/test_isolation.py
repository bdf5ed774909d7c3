"""Two accounts: another account's objects answer exactly like objects that do not exist.

Each endpoint that names an object is called by account B with (a) account A's real id and
(b) an id that exists nowhere; both answers must be identical once the id itself is masked.
Account A's objects must be unchanged afterwards. Extend ENDPOINTS as endpoints are added.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import AccountHandle, MakeAccount
from tests.helpers import hp_postgres_properties

ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/v4/sources/{id}", None),
    ("PUT", "/v4/sources/{id}", {"display_name": "Stolen"}),
    ("PUT", "/v4/sources/{id}", {"paused_at": "2020-01-01T00:00:00Z"}),
    ("PUT", "/v4/sources/{id}", {"properties": {"password": "x" * 12}}),
    ("PUT", "/v4/sources/{id}", {"properties": {"port": "bad"}}),
    ("DELETE", "/v4/sources/{id}", None),
    ("GET", "/v4/sources/{id}/last-connection-check", None),
]


def _masked(response: httpx.Response, object_id: int) -> tuple[int, str]:
    return response.status_code, response.text.replace(str(object_id), "<ID>")


@pytest.mark.parametrize(("method", "template", "body"), ENDPOINTS)
async def test_other_accounts_objects_do_not_exist(
    client: httpx.AsyncClient, make_account: MakeAccount, method: str, template: str, body: Any
) -> None:
    owner: AccountHandle = await make_account()
    intruder: AccountHandle = await make_account()
    created = await client.post(
        "/v4/sources",
        headers=owner.headers,
        json={
            "type": "platform.hp-postgres",
            "display_name": "Private",
            "properties": hp_postgres_properties(),
        },
    )
    source = created.json()
    missing_id = source["id"] + 100_000

    foreign = await client.request(
        method, template.format(id=source["id"]), headers=intruder.headers, json=body
    )
    nowhere = await client.request(
        method, template.format(id=missing_id), headers=intruder.headers, json=body
    )
    assert foreign.status_code in (400, 404)
    assert _masked(foreign, source["id"]) == _masked(nowhere, missing_id)

    # The owner's source is untouched, and the intruder's list does not show it.
    after = await client.get(f"/v4/sources/{source['id']}", headers=owner.headers)
    assert after.json() == source
    assert (await client.get("/v4/sources", headers=intruder.headers)).json() == []


async def test_each_account_lists_only_its_own(client: httpx.AsyncClient, make_account: MakeAccount) -> None:
    a, b = await make_account(), await make_account()
    for who, label in ((a, "A"), (b, "B")):
        await client.post(
            "/v4/sources",
            headers=who.headers,
            json={"type": "platform.github", "display_name": f"Repo {label}"},
        )
    listed_a = (await client.get("/v4/sources", headers=a.headers)).json()
    listed_b = (await client.get("/v4/sources", headers=b.headers)).json()
    assert [s["display_name"] for s in listed_a] == ["Repo A"]
    assert [s["display_name"] for s in listed_b] == ["Repo B"]
    # Names and display names are unique per account, not globally.
    same = await client.post(
        "/v4/sources", headers=b.headers, json={"type": "platform.github", "display_name": "Repo A"}
    )
    assert same.status_code == 200
