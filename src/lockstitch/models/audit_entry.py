from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, UTCDateTime
from lockstitch.models.types import Id


class AuditEntry(Base):
    """A sensitive action taken with an API token (an access token vended, ...)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    api_token_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    action: Mapped[str] = mapped_column(String(100))
    source_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    client_address: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
