from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, UTCDateTime
from lockstitch.models.types import Id


class CheckState(StrEnum):
    """A connection check's ``state`` (see ``ConnectionCheck``); the wire shows ``PENDING`` as
    ``RUNNING`` (``jobs.check_views``)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ConnectionCheck(Base):
    """A connection check + discovery job for a source (spec section 3.11).

    ``state`` is Lockstitch's own: ``pending`` (queued, not yet claimed by a worker), ``running``,
    ``succeeded``, ``failed``. On the wire a pending check reads ``running``: Stitch clients know
    only the three documented statuses and poll until the check is no longer running.
    The row is the work item; workers claim it with a lease (``claimed_by``, ``lease_expires_at``).
    """

    __tablename__ = "connection_checks"
    __table_args__ = (Index("ix_connection_checks_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # Exactly one of the two is set: a source's check + discovery, or a destination's check.
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True, nullable=True
    )
    destination_id: Mapped[int | None] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), index=True, nullable=True
    )
    name: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=CheckState.PENDING.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completion_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    check_exit_status: Mapped[int | None] = mapped_column(nullable=True)
    discovery_exit_status: Mapped[int | None] = mapped_column(nullable=True)
    discovery_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    tap_exit_status: Mapped[int | None] = mapped_column(nullable=True)
    tap_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    target_exit_status: Mapped[int | None] = mapped_column(nullable=True)
    target_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Lines of the check's log (plugin installation, tap stderr tail), secrets scrubbed.
    log: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
