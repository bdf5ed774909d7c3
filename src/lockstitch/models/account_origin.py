from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, UTCDateTime
from lockstitch.models.types import Id


class AccountOrigin(Base):
    """An origin (scheme://host[:port]) the account's OAuth ``return_url``s may point to."""

    __tablename__ = "account_origins"
    __table_args__ = (UniqueConstraint("account_id", "origin"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
