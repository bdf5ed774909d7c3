from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, JSONDoc, UTCDateTime
from lockstitch.models.types import Id


class Destination(Base):
    """Where an account's sources load (spec sections 2.3 and 3.14).

    Like a source: ``properties`` holds the non-credential values as strings (what the API
    returns), ``credentials`` the sealed credential values (``kit.crypto``, associated data naming
    the account, this destination and the property). Its connection checks are rows of
    ``connection_checks`` with ``destination_id`` set.
    """

    __tablename__ = "destinations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    display_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    credentials: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    # False (Stitch's default): sources without a destination_id load here.
    ignore_unmapped_sources: Mapped[bool] = mapped_column(default=False)
    check_job_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    system_paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
