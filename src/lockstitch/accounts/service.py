"""Account rules: who may create accounts, what an account needs, token issue and revocation."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts import errors, tokens
from lockstitch.accounts.repository import AccountRepository, TokenRepository
from lockstitch.config import Settings
from lockstitch.kit.plans import PricingTier
from lockstitch.kit.time import utcnow
from lockstitch.models import Account, ApiToken

REGIONS = ("us-east-1", "eu-central-1")
TIERS = tuple(PricingTier)  # what the CLI offers for --tier
KNOWN_SCOPES = frozenset({"credentials:read"})
_EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
_TEXT_FIELDS = {"first_name": 200, "last_name": 200, "company": 200}


@dataclass(frozen=True)
class NewAccount:
    account: Account
    access_token: str


def normalize_email(email: str) -> str | None:
    email = email.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        return None
    return email


async def create_account(
    session: AsyncSession,
    *,
    email: str,
    company: str,
    first_name: str = "",
    last_name: str = "",
    region: str = "us-east-1",
    pricing_tier: str = PricingTier.ENTERPRISE,
    partner_id: str | None = None,
) -> NewAccount:
    """Create an account and its first API token. Raises ``ExistingUser`` for a taken email."""
    accounts = AccountRepository(session)
    normalized = normalize_email(email)
    if normalized is None:
        raise errors.invalid_form({"email": "invalid"})
    if await accounts.email_taken(normalized):
        raise errors.existing_user()
    account = Account(
        email=normalized,
        company=company,
        first_name=first_name,
        last_name=last_name,
        region=region,
        pricing_tier=pricing_tier,
        partner_id=partner_id,
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            await accounts.add(account)
    except IntegrityError:  # a concurrent request took the address between check and insert
        raise errors.existing_user() from None
    token = await issue_token(session, account.id, name="first token")
    return NewAccount(account, token)


async def issue_token(
    session: AsyncSession, account_id: int, *, name: str = "", scopes: frozenset[str] = frozenset()
) -> str:
    unknown = scopes - KNOWN_SCOPES
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    token = tokens.new_token()
    await TokenRepository(session).add(
        ApiToken(
            account_id=account_id,
            name=name,
            token_hash=tokens.hash_token(token),
            hint=tokens.hint(token),
            scopes=" ".join(sorted(scopes)),
            created_at=utcnow(),
        )
    )
    return token


async def create_partner_account(session: AsyncSession, settings: Settings, body: Any) -> NewAccount:
    """``POST /v3/accounts``: validate the form, authenticate the partner, create the account."""
    if not isinstance(body, dict):
        raise errors.invalid_form({})
    problems: dict[str, str] = {}
    allowed = {"partner_id", "partner_secret", "email", "region", *_TEXT_FIELDS}
    for key in body:
        if key not in allowed:
            problems[str(key)[:100]] = "unknown field"
    required = ("partner_id", "partner_secret", "first_name", "last_name", "company", "email")
    for key in required:
        value = body.get(key)
        if value is None or value == "":
            problems[key] = "required"
        elif not isinstance(value, str) or "\x00" in value or len(value) > _TEXT_FIELDS.get(key, 320):
            problems[key] = "invalid"
    # The partner guide's example omits region, so it defaults to us-east-1 (Lockstitch has one).
    region = body.get("region", "us-east-1")
    if region not in REGIONS:
        problems["region"] = f"must be one of {', '.join(REGIONS)}"
    if "email" not in problems and normalize_email(body["email"]) is None:
        problems["email"] = "invalid"
    if problems:
        raise errors.invalid_form(problems)

    partner = settings.partner(body["partner_id"])
    secret_ok = partner is not None and hmac.compare_digest(
        partner.secret.get_secret_value().encode(), body["partner_secret"].encode()
    )
    if partner is None or not secret_ok:
        raise errors.bad_partner()
    return await create_account(
        session,
        email=body["email"],
        company=body["company"],
        first_name=body["first_name"],
        last_name=body["last_name"],
        region=region,
        pricing_tier=partner.default_pricing_tier,
        partner_id=partner.id,
    )


async def list_accounts(session: AsyncSession) -> list[Account]:
    return await AccountRepository(session).list()


async def account_exists(session: AsyncSession, account_id: int) -> bool:
    return await AccountRepository(session).get(account_id) is not None


async def list_tokens(session: AsyncSession, account_id: int) -> list[ApiToken]:
    """Every token of the account, revoked ones included (their hints only: never the token)."""
    return await TokenRepository(session).list_for(account_id)


async def revoke_token(session: AsyncSession, account_id: int, token_id: int) -> bool:
    """Revoke one of the account's active tokens; False when it has no such active token."""
    return await TokenRepository(session).revoke(account_id, token_id)
