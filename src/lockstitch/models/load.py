from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, JSONDoc, UTCDateTime
from lockstitch.models.types import Id


class Load(Base):
    """The most recent load attempt of one stream of a source (spec 3.13): a success stamps
    ``last_batch_loaded_at`` and clears ``error_state``; a target failure sets ``error_state``
    and nulls the time, as Stitch's unsuccessful-load example shows."""

    __tablename__ = "loads"
    __table_args__ = (UniqueConstraint("source_id", "stream_name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    source_name: Mapped[str] = mapped_column(String(64))
    stream_name: Mapped[str] = mapped_column(String(500))
    last_batch_loaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error_state: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    job_name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
