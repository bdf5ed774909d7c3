"""Every query about accounts and API tokens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update

from lockstitch.kit.db import Database, Repository
from lockstitch.kit.point_reads import PointQuery
from lockstitch.kit.time import utcnow
from lockstitch.models import Account, ApiToken


@dataclass(frozen=True)
class TokenOwner:
    token_id: int
    account_id: int
    pricing_tier: str
    scopes: frozenset[str]


class AccountRepository(Repository):
    async def get(self, account_id: int) -> Account | None:
        return await self.session.get(Account, account_id)

    async def id_for_email(self, email: str) -> int | None:
        return await self.session.scalar(select(Account.id).where(Account.email == email))

    async def email_taken(self, email: str) -> bool:
        return await self.id_for_email(email) is not None

    async def list(self) -> list[Account]:
        return list(await self.session.scalars(select(Account).order_by(Account.id)))


# Built once: constructing a Select costs more than running it (see kit.db._PointReads).
_OWNER = PointQuery(
    select(ApiToken.id, ApiToken.account_id, ApiToken.scopes, Account.pricing_tier)
    .join(Account, Account.id == ApiToken.account_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def _owner(row: Mapping[str, Any] | None) -> TokenOwner | None:
    if row is None:
        return None
    return TokenOwner(row["id"], row["account_id"], row["pricing_tier"], frozenset(row["scopes"].split()))


async def find_owner(db: Database, token_hash: str) -> TokenOwner | None:
    """The account behind an active token: the query every request runs (on a cache miss)."""
    return _owner(await db.first(_OWNER, {"token_hash": token_hash}))


class TokenRepository(Repository):
    async def owner_of(self, token_hash: str) -> TokenOwner | None:
        row = (await self.session.execute(_OWNER.statement, {"token_hash": token_hash})).first()
        return _owner(row._asdict() if row else None)

    async def list_for(self, account_id: int) -> list[ApiToken]:
        return list(
            await self.session.scalars(
                select(ApiToken).where(ApiToken.account_id == account_id).order_by(ApiToken.id)
            )
        )

    async def revoke(self, account_id: int, token_id: int) -> bool:
        result = await self.session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                ApiToken.account_id == account_id,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        return bool(getattr(result, "rowcount", 0))
