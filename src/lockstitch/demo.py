"""The demo account ``make run`` creates on first start, so a new user has a token to try.

Its token is kept in ``$LOCKSTITCH_HOME/demo-token`` (mode 0600, beside the development
encryption key) so every ``make run`` can print it again; a revoked or missing token is replaced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from lockstitch.accounts import service as accounts
from lockstitch.accounts.repository import TokenRepository
from lockstitch.accounts.tokens import hash_token
from lockstitch.context import Context
from lockstitch.models import Account

DEMO_EMAIL = "demo@lockstitch.local"
TOKEN_FILE = "demo-token"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True)
class Demo:
    account_id: int
    token: str


async def ensure_demo(ctx: Context) -> Demo:
    token_path = ctx.settings.home / TOKEN_FILE
    async with ctx.db.unit_of_work() as session:
        account_id = await session.scalar(select(Account.id).where(Account.email == DEMO_EMAIL))
        if account_id is None:
            created = await accounts.create_account(
                session, email=DEMO_EMAIL, company="Lockstitch demo", first_name="Demo", last_name="User"
            )
            _write_private(token_path, created.access_token)
            return Demo(created.account.id, created.access_token)
        token = token_path.read_text().strip() if token_path.exists() else ""
        owner = await TokenRepository(session).owner_of(hash_token(token)) if token else None
        if owner is None or owner.account_id != account_id:
            token = await accounts.issue_token(session, account_id, name="demo")
            _write_private(token_path, token)
        return Demo(account_id, token)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def banner(base_url: str, demo: Demo) -> str:
    return "\n".join(
        [
            "",
            f"Lockstitch is running at {base_url}",
            f"  demo account (stitch_client_id): {demo.account_id}",
            f"  API token: {demo.token}",
            "Try:",
            f'  curl -s -H "Authorization: Bearer {demo.token}" '
            f"{base_url}/v4/source-types/platform.google-analytics",
            f"API reference: {base_url}/docs    Stop with Ctrl-C.",
            "",
        ]
    )
