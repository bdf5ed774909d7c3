"""Managed OAuth apps a provider rejected (``invalid_client``): one flag per provider, naming
the client it was raised for, so every credential using the app waits for the operator."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.models import OAuthAppFlag


class AppFlagRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flagged(self) -> dict[str, str]:
        """The flagged providers, each with the fingerprint of the client it was flagged for."""
        rows = await self.session.execute(select(OAuthAppFlag.provider, OAuthAppFlag.client_fingerprint))
        return {key: value for key, value in rows}  # noqa: C416 - a Result is not a mapping

    async def flag(self, provider: str, fingerprint: str, reason: str, now: dt.datetime) -> None:
        existing = await self.session.get(OAuthAppFlag, provider)
        if existing is None:
            self.session.add(
                OAuthAppFlag(provider=provider, client_fingerprint=fingerprint, reason=reason, flagged_at=now)
            )
        else:
            existing.client_fingerprint, existing.reason, existing.flagged_at = fingerprint, reason, now
        await self.session.flush()
