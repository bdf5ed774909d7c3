from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, JSONDoc, UTCDateTime
from lockstitch.models.types import Id, partial_unique_index


class Source(Base):
    """A configured data source of one account.

    ``properties`` holds the non-credential values (what the API returns); ``credentials`` maps
    each credential property's name to its ciphertext (see ``kit.crypto``), sealed with
    associated data naming this account, this source and the property.
    """

    __tablename__ = "sources"
    __table_args__ = (
        # A source's name becomes its destination schema: unique among the account's live sources.
        partial_unique_index(
            "uq_sources_account_id_name_live", "account_id", "name", where="deleted_at IS NULL"
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(500))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    credentials: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    destination_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    check_job_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # At least one stream and one field selected (kept by the streams domain on every change).
    selection_complete: Mapped[bool] = mapped_column(default=False)
    # When the source first became fully configured: the anchor of an interval schedule
    # that has no anchor_time.
    fully_configured_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The scheduler's mark: fires up to this moment are done (one run for any number of
    # missed fires). The next scheduled fire is the schedule's first after it.
    schedule_fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    system_paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Why the system paused it ("credentials"): only that cause's cure unpauses it.
    system_pause_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
