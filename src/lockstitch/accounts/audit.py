"""The audit log: sensitive actions taken with an API token (an access token vended...)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.models import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(
        self,
        *,
        account_id: int,
        api_token_id: int | None,
        action: str,
        source_id: int | None,
        client_address: str | None,
        now: dt.datetime,
    ) -> None:
        self.session.add(
            AuditEntry(
                account_id=account_id,
                api_token_id=api_token_id,
                action=action,
                source_id=source_id,
                client_address=client_address,
                created_at=now,
            )
        )
