"""Events about sources a partner may want to hear about (``source.credentials_invalid``,
``source.reauthorized``...): written in the same transaction as the change they report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.models import Event


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(
        self, account_id: int, source_id: int | None, kind: str, payload: dict[str, Any], now: dt.datetime
    ) -> None:
        self.session.add(
            Event(account_id=account_id, source_id=source_id, type=kind, payload=payload, created_at=now)
        )
