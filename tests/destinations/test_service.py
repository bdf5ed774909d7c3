"""Which destination a source loads into, the target's config, and credentials at rest."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lockstitch.catalog.tap_config import ConfigError
from lockstitch.context import Context
from lockstitch.destinations import credentials, service
from lockstitch.destinations.service import default_name, destination_for_source, target_config
from lockstitch.kit.crypto import DecryptionError, generate_key
from lockstitch.models import Destination
from tests.conftest import AccountHandle, MakeAccount, MakeContext
from tests.destinations.support import PG_PASSWORD, create


async def _row(ctx: Context, destination_id: int) -> Destination:
    async with ctx.db.read() as session:
        row = await session.get(Destination, destination_id)
    assert row is not None
    return row


async def _resolve(ctx: Context, account_id: int, destination_id: int | None) -> int | None:
    async with ctx.db.read() as session:
        found = await destination_for_source(session, account_id, destination_id)
    return found.id if found is not None else None


async def test_destination_for_source(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount, ctx: Context
) -> None:
    assert await _resolve(ctx, account.id, None) is None
    assert await _resolve(ctx, account.id, 12345) is None
    ignoring = await create(client, account, name="Ignoring", ignore_unmapped_sources=True)
    assert await _resolve(ctx, account.id, None) is None  # it takes only sources that name it
    assert await _resolve(ctx, account.id, ignoring["id"]) == ignoring["id"]
    default = await create(client, account, name="Default")
    later = await create(client, account, name="Later")
    assert await _resolve(ctx, account.id, None) == default["id"]  # the oldest that takes them
    assert await _resolve(ctx, account.id, later["id"]) == later["id"]
    assert await _resolve(ctx, account.id, 12345) == default["id"]

    other = await make_account()
    theirs = await create(client, other, name="Theirs")
    assert await _resolve(ctx, account.id, theirs["id"]) == default["id"]  # never another account's
    assert await _resolve(ctx, other.id, None) == theirs["id"]

    await client.delete(f"/v4/destinations/{later['id']}", headers=account.headers)
    assert await _resolve(ctx, account.id, later["id"]) == default["id"]
    await client.delete(f"/v4/destinations/{default['id']}", headers=account.headers)
    assert await _resolve(ctx, account.id, None) is None  # "Later" went first; "Ignoring" is left


async def test_postgres_target_config(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    created = await create(client, account)
    config = await target_config(ctx, await _row(ctx, created["id"]), "my_source")
    assert config == {
        "ssl_mode": "require",
        "add_record_metadata": True,
        "host": "127.0.0.1",
        "port": 5432,
        "user": "postgres",
        "password": PG_PASSWORD,
        "database": "postgres",
        "ssl_enable": False,
        "default_target_schema": "my_source",
    }


async def test_local_target_configs(client: httpx.AsyncClient, account: AccountHandle, ctx: Context) -> None:
    """Local destinations write inside the account's own warehouse folder."""
    home = ctx.settings.account_warehouse(account.id).resolve()
    assert home == ctx.settings.home.resolve() / "warehouses" / str(account.id)
    duck = await create(client, account, type="lockstitch.duckdb", properties={})
    config = await target_config(ctx, await _row(ctx, duck["id"]), "shop")
    assert config == {
        "filepath": str(home / "warehouse.duckdb"),
        "primary_key_required": False,
        "add_metadata_columns": True,
        "default_target_schema": "shop",
    }
    placed = await create(client, account, type="lockstitch.duckdb", properties={"path": "dw/x.duckdb"})
    assert (await target_config(ctx, await _row(ctx, placed["id"]), "shop"))["filepath"] == str(
        home / "dw" / "x.duckdb"
    )

    jsonl = await create(client, account, type="lockstitch.jsonl", properties={})
    assert await target_config(ctx, await _row(ctx, jsonl["id"]), "shop") == {
        "destination_path": str(home / "jsonl" / "shop"),
        "do_timestamp_file": False,
    }
    inside = str(home / "exports")
    absolute = await create(client, account, type="lockstitch.jsonl", properties={"path": inside})
    config = await target_config(ctx, await _row(ctx, absolute["id"]), "crm")
    assert config["destination_path"] == f"{inside}/crm"


async def test_accounts_never_share_a_local_destination(
    client: httpx.AsyncClient, account: AccountHandle, make_account: MakeAccount, ctx: Context
) -> None:
    """Issue 8, finding 3: with ``{}`` two accounts shared ``<home>/warehouse.duckdb``, so one
    account could name a source to land in the other's schema; and ``"path": "lockstitch.db"``
    was the server's own database. Each account now writes only in its own folder."""
    other = await make_account()
    mine = await create(client, account, type="lockstitch.duckdb", properties={})
    theirs = await create(client, other, type="lockstitch.duckdb", properties={})
    my_file = (await target_config(ctx, await _row(ctx, mine["id"]), "shop"))["filepath"]
    their_file = (await target_config(ctx, await _row(ctx, theirs["id"]), "shop"))["filepath"]
    assert my_file != their_file
    assert my_file.startswith(str(ctx.settings.account_warehouse(account.id).resolve()) + "/")
    assert their_file.startswith(str(ctx.settings.account_warehouse(other.id).resolve()) + "/")

    named_like_the_db = await create(
        client, account, type="lockstitch.duckdb", properties={"path": "lockstitch.db"}
    )
    path = (await target_config(ctx, await _row(ctx, named_like_the_db["id"]), "shop"))["filepath"]
    assert path != str(ctx.settings.home.resolve() / "lockstitch.db")
    assert path == str(ctx.settings.account_warehouse(account.id).resolve() / "lockstitch.db")
    for escape in (
        "../lockstitch.db",
        "../../lockstitch.db",
        f"../{other.id}/warehouse.duckdb",
        str(ctx.settings.home.resolve() / "lockstitch.db"),
        str(ctx.settings.files_root.resolve() / str(account.id) / "x"),
        "../../files",
    ):
        response = await client.post(
            "/v4/destinations",
            headers=account.headers,
            json={"type": "lockstitch.jsonl", "name": f"Escape {escape}", "properties": {"path": escape}},
        )
        assert response.status_code == 400, (escape, response.text)


async def test_a_link_out_of_the_warehouse_folder_is_refused(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    """A symbolic link in the account's folder does not lead a target out of it."""
    folder = ctx.settings.account_warehouse(account.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "elsewhere").symlink_to(ctx.settings.home.resolve())
    response = await client.post(
        "/v4/destinations",
        headers=account.headers,
        json={
            "type": "lockstitch.duckdb",
            "name": "Linked",
            "properties": {"path": "elsewhere/lockstitch.db"},
        },
    )
    assert response.status_code == 400, response.text
    assert response.json() == (
        "property path must name a location inside the account's own folder for local destinations"
    )
    listed = await client.get("/v4/destinations", headers=account.headers)
    assert listed.json() == []  # nothing half written


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "UPPER"])
async def test_target_config_refuses_odd_source_names(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context, name: str
) -> None:
    jsonl = await create(client, account, type="lockstitch.jsonl", properties={})
    with pytest.raises(ConfigError):
        await target_config(ctx, await _row(ctx, jsonl["id"]), name)


async def test_target_config_of_a_removed_type(ctx: Context) -> None:
    orphan = Destination(id=1, account_id=1, type="storagegrid", name="x", properties={}, credentials={})
    with pytest.raises(ConfigError, match="storagegrid"):
        await target_config(ctx, orphan, "shop")


async def test_credentials_bound_to_their_row(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context
) -> None:
    first = await _row(ctx, (await create(client, account, name="A"))["id"])
    second = await _row(ctx, (await create(client, account, name="B"))["id"])
    assert credentials.unseal(ctx.keyring, first, "password") == PG_PASSWORD
    second.credentials = {"password": first.credentials["password"]}
    with pytest.raises(DecryptionError):
        credentials.unseal(ctx.keyring, second, "password")


async def test_rotate(
    client: httpx.AsyncClient, account: AccountHandle, ctx: Context, make_ctx: MakeContext
) -> None:
    created = await create(client, account)
    old_key_id = ctx.keyring.newest_id
    rotated_ctx = make_ctx(encryption_keys=[generate_key("newer"), *ctx.settings.encryption_keys])
    async with rotated_ctx.db.unit_of_work() as session:
        last, resealed = await credentials.rotate(session, rotated_ctx.keyring, after_id=0)
    assert (last, resealed) == (created["id"], 1)
    row = await _row(rotated_ctx, created["id"])
    assert rotated_ctx.keyring.key_id_of(row.credentials["password"]) == "newer" != old_key_id
    assert credentials.unseal(rotated_ctx.keyring, row, "password") == PG_PASSWORD
    async with rotated_ctx.db.unit_of_work() as session:
        assert await credentials.rotate(session, rotated_ctx.keyring, after_id=last) == (last, 0)


def test_default_names() -> None:
    assert [default_name(t) for t in ("postgres", "lockstitch.duckdb", "mysql_destination", "a-b")] == [
        "Postgres",
        "Duckdb",
        "Mysql Destination",
        "A B",
    ]


def test_public_surface() -> None:
    exported: Any = service.__all__
    assert {"destination_for_source", "target_config"} <= set(exported)
