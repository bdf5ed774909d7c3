"""The OAuth extension's rules (``oauth.service``) hold on every path: an account has at most
``MAX_ORIGINS`` return origins whether they are set through the API or the command line, and
an access token is vended only to a token with the ``credentials:read`` scope, each request
audited (before the outcome is known) and a dead credential answered with its status."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from lockstitch import cli
from lockstitch.accounts import service as accounts
from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import AuditEntry, OAuthCredential
from lockstitch.oauth import sealing, service
from tests.conftest import AccountHandle, MakeAccount, make_settings
from tests.oauth import rows

ORIGINS = [f"https://app{n}.example.com" for n in range(service.MAX_ORIGINS)]


def _origins(response: httpx.Response) -> list[str]:
    return list(response.json()["origins"])


# ------------------------------------------------------------------------------------ origins
async def test_the_api_takes_at_most_the_cap(client: httpx.AsyncClient, account: AccountHandle) -> None:
    """PUT accepts MAX_ORIGINS origins and refuses one more, changing nothing."""
    url = "/v4/account/return-origins"
    accepted = await client.put(url, headers=account.headers, json={"origins": ORIGINS})
    assert accepted.status_code == 200, accepted.text
    assert _origins(accepted) == sorted(ORIGINS)
    refused = await client.put(
        url, headers=account.headers, json={"origins": [*ORIGINS, "https://one-more.example.com"]}
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "InvalidBody"
    assert refused.json()["data"]["message"] == f"at most {service.MAX_ORIGINS} origins"
    assert _origins(await client.get(url, headers=account.headers)) == sorted(ORIGINS)


async def test_the_service_refuses_an_origin_past_the_cap(ctx: Context, account: AccountHandle) -> None:
    """add_origin refuses a new origin once the account has MAX_ORIGINS; an origin already
    registered is still accepted (nothing changes)."""
    async with ctx.db.unit_of_work() as session:
        await service.replace_origins(session, account.id, ORIGINS)
    with pytest.raises(Exception, match=f"at most {service.MAX_ORIGINS} origins"):
        async with ctx.db.unit_of_work() as session:
            await service.add_origin(session, account.id, "https://one-more.example.com")
    async with ctx.db.unit_of_work() as session:
        assert await service.add_origin(session, account.id, ORIGINS[0] + "/") == ORIGINS[0]
    async with ctx.db.read() as session:
        assert await service.origins(session, account.id) == sorted(ORIGINS)


async def _cli(args: list[str]) -> tuple[int, str]:
    # The command runs its own event loop (asyncio.run): off this test's loop, in a thread.
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, args)
    return result.exit_code, result.output


@pytest.fixture
def cli_on_test_db(ctx: Context, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's settings are the test database's."""
    monkeypatch.setattr(cli, "_settings", lambda **_: make_settings(migrated, tmp_path))


@pytest.mark.usefixtures("cli_on_test_db")
async def test_the_cli_refuses_the_origin_past_the_cap(ctx: Context, account: AccountHandle) -> None:
    """`accounts origins add` applies the same cap: with MAX_ORIGINS registered, one more is
    refused (exit 1, the service's message) and nothing is added; a registered one is fine."""
    async with ctx.db.unit_of_work() as session:
        await service.replace_origins(session, account.id, ORIGINS[:-1])
    add = ["accounts", "origins", "add", "--account", str(account.id)]
    assert await _cli([*add, ORIGINS[-1]]) == (0, f"{ORIGINS[-1]} added\n")
    code, output = await _cli([*add, "https://one-more.example.com"])
    assert code == 1
    assert output == f"error: at most {service.MAX_ORIGINS} origins\n"
    assert (await _cli([*add, ORIGINS[0]]))[0] == 0
    code, output = await _cli(["accounts", "origins", "list", "--account", str(account.id)])
    assert (code, output.split()) == (0, sorted(ORIGINS))


@pytest.mark.usefixtures("cli_on_test_db")
async def test_the_cli_refuses_a_malformed_origin_before_the_database(account: AccountHandle) -> None:
    """A value that is not an https origin ends with exit code 2 and the reason."""
    code, output = await _cli(["accounts", "origins", "add", "--account", str(account.id), "ftp://x"])
    assert code == 2
    assert output.startswith("error: ftp://x ")


# ------------------------------------------------------------------------------------ vending
async def _vending_headers(ctx: Context, account_id: int) -> dict[str, str]:
    async with ctx.db.unit_of_work() as session:
        token = await accounts.issue_token(
            session, account_id, name="vending", scopes=frozenset({"credentials:read"})
        )
    return {"Authorization": f"Bearer {token}"}


async def _source_with_token(ctx: Context, account_id: int, status: str) -> int:
    source_id = await rows.add_source(ctx, account_id)
    credential_id = await rows.add_credential(ctx, account_id, source_id, status=status)
    async with ctx.db.unit_of_work() as session:
        credential = await session.get(OAuthCredential, credential_id)
        assert credential is not None
        credential.access_token = sealing.seal(ctx.keyring, credential, "access_token", "at-" + "x" * 20)
        credential.access_token_expires_at = utcnow() + dt.timedelta(hours=1)
        credential.last_refreshed_at = utcnow()
    return source_id


async def _audit(ctx: Context, account_id: int) -> list[tuple[str, int | None]]:
    async with ctx.db.read() as session:
        found = await session.scalars(select(AuditEntry).where(AuditEntry.account_id == account_id))
        return [(entry.action, entry.source_id) for entry in found]


async def test_vending_needs_the_scope_and_writes_no_audit_row_without_it(
    ctx: Context, client: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    """A token without credentials:read gets 403 AccessDenied, and nothing is recorded."""
    who = await make_account()
    source_id = await _source_with_token(ctx, who.id, "valid")
    response = await client.post(f"/v4/sources/{source_id}/credentials/access-token", headers=who.headers)
    assert response.status_code == 403
    assert response.json()["error"] == "AccessDenied"
    assert await _audit(ctx, who.id) == []


async def test_vending_hands_out_the_token_and_audits_it(
    ctx: Context, client: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    """With the scope: the stored access token, never cached, and one audit row naming the
    action and the source."""
    who = await make_account()
    source_id = await _source_with_token(ctx, who.id, "valid")
    headers = await _vending_headers(ctx, who.id)
    response = await client.post(f"/v4/sources/{source_id}/credentials/access-token", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["access_token"] == "at-" + "x" * 20
    assert response.headers["cache-control"] == "no-store"
    assert await _audit(ctx, who.id) == [("credentials.access_token", source_id)]


@pytest.mark.parametrize("status", ["needs_reauth", "invalid_client", "incomplete"])
async def test_dead_credentials_answer_with_their_status_and_are_audited(
    ctx: Context, client: httpx.AsyncClient, make_account: MakeAccount, status: str
) -> None:
    """Credentials that need a person answer 409 CredentialsInvalid with the status, no token;
    the request was audited all the same."""
    who = await make_account()
    source_id = await _source_with_token(ctx, who.id, status)
    headers = await _vending_headers(ctx, who.id)
    response = await client.post(f"/v4/sources/{source_id}/credentials/access-token", headers=headers)
    assert response.status_code == 409
    assert response.json()["error"] == "CredentialsInvalid"
    assert response.json()["data"]["status"] == status
    assert "at-" not in response.text
    assert await _audit(ctx, who.id) == [("credentials.access_token", source_id)]


async def test_health_shows_the_visible_status(
    ctx: Context, client: httpx.AsyncClient, make_account: MakeAccount
) -> None:
    """The health object carries the status a person should see, and no token; a source
    without OAuth credentials has none (404)."""
    who = await make_account()
    source_id = await _source_with_token(ctx, who.id, "backing_off")
    response = await client.get(f"/v4/sources/{source_id}/credentials", headers=who.headers)
    assert response.status_code == 200
    assert response.json()["status"] == "backing_off"
    assert "at-" not in response.text
    without = await rows.add_source(ctx, who.id)
    missing = await client.get(f"/v4/sources/{without}/credentials", headers=who.headers)
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"
