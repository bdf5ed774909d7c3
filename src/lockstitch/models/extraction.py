from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, JSONDoc, UTCDateTime
from lockstitch.models.types import Id, partial_unique_index


class ExtractionState(StrEnum):
    """An extraction's ``state`` (see ``Extraction``)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A source has at most one extraction in these states (the partial unique index below).
ACTIVE = (ExtractionState.PENDING, ExtractionState.RUNNING)
# An extraction in these states has ended; it is listed by ``GET /v4/{client}/extractions``.
COMPLETED = (ExtractionState.SUCCEEDED, ExtractionState.FAILED, ExtractionState.CANCELLED)


class Extraction(Base):
    """One replication job of a source (spec 2.7, 3.12): ``tap | target`` run by a worker.

    ``state`` is Lockstitch's own: ``pending`` (queued by the scheduler or ``POST .../sync``),
    ``running`` (a worker holds its lease), then ``succeeded``, ``failed`` or ``cancelled``.
    At most one pending or running extraction per source (a partial unique index), which is
    what makes ``already_running`` exact under concurrent requests. The row is the work item.
    """

    __tablename__ = "extractions"
    __table_args__ = (
        Index("ix_extractions_state_created", "state", "created_at"),
        Index("ix_extractions_source_completed", "source_id", "completion_time"),
        partial_unique_index(
            "uq_extractions_one_active_per_source",
            "source_id",
            where="state IN (" + ", ".join(f"'{state}'" for state in ACTIVE) + ")",
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    job_name: Mapped[str] = mapped_column(String(200), unique=True)
    trigger: Mapped[str] = mapped_column(String(16))  # "manual" or "schedule"
    state: Mapped[str] = mapped_column(String(16), default=ExtractionState.PENDING.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completion_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The tap's name (e.g. "tap-postgres"): the wire's ``source_type`` (spec 9.2).
    source_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    discovery_exit_status: Mapped[int | None] = mapped_column(nullable=True)
    discovery_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    tap_exit_status: Mapped[int | None] = mapped_column(nullable=True)
    tap_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    target_exit_status: Mapped[int | None] = mapped_column(nullable=True)
    target_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Records per stream name, counted between tap and target.
    records: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    cancel_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
