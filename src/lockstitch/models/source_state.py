from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, JSONDoc, UTCDateTime
from lockstitch.models.types import Id


class SourceState(Base):
    """The Singer STATE the next run of a source starts from: the last state the *target*
    emitted in a run that ended well, i.e. state whose records are safely loaded. A tap's state
    that the target never confirmed is never stored, so a crash can repeat rows but never skip."""

    __tablename__ = "source_states"

    source_id: Mapped[int] = mapped_column(Id, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    job_name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
