"""Local files stay in their account's folder, through the real tap (tap-spreadsheets).

Issue 8, finding 2: ``"path": "link_f*.csv"`` passed the literal-text check, the tap's file
search followed a symbolic link in the root, and a sync loaded the outside file's rows; every
account also shared one files root. Now each account reads only under
``<local_files_root>/<account id>``, and every file a glob matches is resolved before the tap runs,
at the check and again at each run.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle, MakeAccount
from tests.discovery.conftest import run_checks
from tests.replication_runs.conftest import api, configured_source, latest, run_extractions, sync_now

pytestmark = pytest.mark.slow
OUTSIDE_ROW = "outside-row-must-not-load"


def _files_body(path: str, name: str) -> dict[str, object]:
    return {
        "type": "lockstitch.local-files",
        "display_name": name,
        "properties": {"path": path, "table_name": "people", "file_format": "csv", "key_properties": "id"},
    }


async def test_a_glob_through_a_link_out_of_the_root_is_refused(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, tmp_path: Path
) -> None:
    root = ctx.settings.account_files_root(account.id)
    root.mkdir(parents=True)
    outside = tmp_path / "outside.csv"
    outside.write_text(f"id,name\n1,{OUTSIDE_ROW}\n")
    (root / "link_file.csv").symlink_to(outside)
    source = await api(client, account, "POST", "/v4/sources", _files_body("link_f*.csv", "Linked files"))
    await run_checks(ctx)
    check = await api(client, account, "GET", f"/v4/sources/{source['id']}/last-connection-check")
    assert check["status"] == "failed"
    assert check["discovery_error_message"] == (
        "property path must name files inside the account's local files root"
    )
    log = (
        await client.get(f"/v4/sources/{source['id']}/last-connection-check/log", headers=account.headers)
    ).text
    assert "--discover" not in log  # refused before the tap ran
    assert OUTSIDE_ROW not in log


async def test_a_link_added_after_the_check_is_refused_at_the_run(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, tmp_path: Path
) -> None:
    """The check passed with honest files; a link appears before the sync: the run fails, and
    nothing of the outside file is loaded."""
    await api(
        client,
        account,
        "POST",
        "/v4/destinations",
        {"type": "lockstitch.jsonl", "name": "Out", "properties": {}},
    )
    root = ctx.settings.account_files_root(account.id)
    root.mkdir(parents=True)
    (root / "data_1.csv").write_text("id,name\n1,Ada\n")
    source = await configured_source(
        ctx,
        client,
        account,
        _files_body("data_*.csv", "Data files"),
        {"people": [{"breadcrumb": [], "metadata": {"selected": True}}]},
    )
    outside = tmp_path / "outside.csv"
    outside.write_text(f"id,name\n2,{OUTSIDE_ROW}\n")
    (root / "data_2.csv").symlink_to(outside)
    await sync_now(ctx, source["id"])
    await run_extractions(ctx)
    run = await latest(ctx, source["id"])
    assert run.state == "failed"
    assert run.tap_description == "property path must name files inside the account's local files root"
    warehouse = ctx.settings.account_warehouse(account.id)
    for written in warehouse.rglob("*"):
        if written.is_file():
            assert OUTSIDE_ROW not in written.read_text()


async def test_one_account_cannot_read_anothers_files(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount
) -> None:
    """Neither by ``..`` nor through a link in its own folder that leads into the other's."""
    other = await make_account()
    theirs = ctx.settings.account_files_root(other.id)
    theirs.mkdir(parents=True)
    (theirs / "people.csv").write_text(f"id,name\n1,{OUTSIDE_ROW}\n")
    mine = ctx.settings.account_files_root(account.id)
    mine.mkdir(parents=True)
    (mine / "shared").symlink_to(theirs)
    refused_at_once, checked = 0, []
    paths = [
        f"../{other.id}/people.csv",
        f"../{other.id}/*.csv",
        "shared/people.csv",
        "shared/*.csv",
        "*/*.csv",
    ]
    for n, path in enumerate(paths):
        response = await client.post(
            "/v4/sources", headers=account.headers, json=_files_body(path, f"Try {n}")
        )
        if response.status_code == 400:  # the card's own pattern already refuses ".." forms
            assert response.json()["data"]["bad_properties"] == ["path"]
            refused_at_once += 1
            continue
        assert response.status_code == 200, response.text
        checked.append(response.json()["id"])
    await run_checks(ctx)
    assert refused_at_once + len(checked) == len(paths)
    assert len(checked) >= 3  # the links are judged at the check, not by the card
    for source_id in checked:
        check = await api(client, account, "GET", f"/v4/sources/{source_id}/last-connection-check")
        assert check["status"] == "failed", check
        log = (
            await client.get(f"/v4/sources/{source_id}/last-connection-check/log", headers=account.headers)
        ).text
        assert OUTSIDE_ROW not in log
