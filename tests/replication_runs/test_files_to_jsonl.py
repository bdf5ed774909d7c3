"""lockstitch.local-files (tap-spreadsheets, CSV files under the account's files root) ->
lockstitch.jsonl (target-jsonl): the rows land in
<home>/warehouses/<account>/jsonl/<source name>/<stream>.jsonl; a run
over unchanged files brings nothing (the tap's per-file mtime bookmark, kept as the source's
confirmed state); a changed file brings its rows again, and only that file's."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from lockstitch.context import Context
from tests.conftest import AccountHandle
from tests.replication_runs.conftest import api, configured_source, latest, run_extractions, sync_now
from tests.replication_runs.helpers import check_log, exit_line, loads_of, saved_state

pytestmark = pytest.mark.slow
JANUARY = 1_704_067_200  # 2024-01-01T00:00:00Z
FEBRUARY = 1_706_745_600  # 2024-02-01T00:00:00Z
SUCCEEDED = "Exit status is: Discovery succeeded. Tap succeeded. Target succeeded."


def _write(path: Path, text: str, mtime: int) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_csv_files_into_jsonl_files(
    ctx: Context, client: httpx.AsyncClient, account: AccountHandle
) -> None:
    folder = ctx.settings.account_files_root(account.id) / "people"
    folder.mkdir(parents=True)
    _write(folder / "2024.csv", "id,name,city\n1,Ada,London\n2,Grace,New York\n", JANUARY)
    _write(folder / "2025.csv", "id,name,city\n3,Linus,Helsinki\n", JANUARY)
    await api(
        client,
        account,
        "POST",
        "/v4/destinations",
        {"type": "lockstitch.jsonl", "name": "Files", "properties": {}},
    )
    source = await configured_source(
        ctx,
        client,
        account,
        {
            "type": "lockstitch.local-files",
            "display_name": "People files",
            "properties": {
                "path": "people/*.csv",
                "table_name": "people",
                "file_format": "csv",
                "key_properties": "id",
            },
        },
        {
            "people": [
                {"breadcrumb": [], "metadata": {"selected": True}},
                # SDK taps set no selected-by-default: fields are chosen one by one (spec 3.9).
                {"breadcrumb": ["properties", "name"], "metadata": {"selected": True}},
                {"breadcrumb": ["properties", "city"], "metadata": {"selected": True}},
            ]
        },
    )
    sid = source["id"]
    output = ctx.settings.account_warehouse(account.id) / "jsonl" / source["name"] / "people.jsonl"

    await sync_now(ctx, sid)
    await run_extractions(ctx)
    first = await latest(ctx, sid)
    assert (first.state, first.tap_exit_status, first.target_exit_status) == ("succeeded", 0, 0), (
        first.tap_description,
        first.target_description,
    )
    assert first.source_type == "tap-spreadsheets"
    assert first.records == {"people": 3}
    assert exit_line(await check_log(ctx, first)) == SUCCEEDED
    assert sorted(os.listdir(output.parent)) == ["people.jsonl"]
    rows = _rows(output)
    assert sorted((str(r["id"]), r["name"], r["city"]) for r in rows) == [
        ("1", "Ada", "London"),
        ("2", "Grace", "New York"),
        ("3", "Linus", "Helsinki"),
    ]
    state = await saved_state(ctx, sid)
    assert state is not None
    assert state.job_name == first.job_name
    assert "2024-01-01T00:00:00" in json.dumps(state.state)  # the files' mtime, as bookmarks
    loads = await loads_of(ctx, sid)
    assert set(loads) == {"people"}
    assert loads["people"].error_state is None
    assert loads["people"].source_name == source["name"]

    # Nothing changed: the tap skips every file by its bookmark.
    await sync_now(ctx, sid)
    await run_extractions(ctx)
    second = await latest(ctx, sid)
    assert second.state == "succeeded", (second.tap_description, second.target_description)
    assert second.records == {"people": 0}  # spec 9.13: the selected stream has its line, with 0
    lines = await check_log(ctx, second)
    assert any(line.endswith('replicated 0 records from "people" endpoint') for line in lines)
    assert exit_line(lines) == SUCCEEDED
    assert len(_rows(output)) == 3  # target-jsonl appends: nothing was appended
    unchanged = await saved_state(ctx, sid)
    assert unchanged is not None
    assert unchanged.state == state.state

    # One file changes (a row added, a newer mtime): its rows come again, the other file's do not.
    _write(folder / "2025.csv", "id,name,city\n3,Linus,Helsinki\n4,Margaret,Boston\n", FEBRUARY)
    await sync_now(ctx, sid)
    await run_extractions(ctx)
    third = await latest(ctx, sid)
    assert third.state == "succeeded", (third.tap_description, third.target_description)
    assert third.records == {"people": 2}
    assert exit_line(await check_log(ctx, third)) == SUCCEEDED
    appended = _rows(output)[3:]
    assert sorted((str(r["id"]), r["name"]) for r in appended) == [("3", "Linus"), ("4", "Margaret")]
    advanced = await saved_state(ctx, sid)
    assert advanced is not None
    assert advanced.job_name == third.job_name
    assert "2024-02-01T00:00:00" in json.dumps(advanced.state)
