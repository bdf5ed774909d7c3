from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base
from lockstitch.models.types import Id


class ExtractionLog(Base):
    """The log of one extraction, in Stitch's line format (spec 9.13), written when the job
    ends. Kept in the database, not on a worker's disk, so any API process can serve it."""

    __tablename__ = "extraction_logs"

    extraction_id: Mapped[int] = mapped_column(
        Id, ForeignKey("extractions.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[str] = mapped_column(Text)
