from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, UTCDateTime
from lockstitch.kit.plans import PricingTier
from lockstitch.models.types import Id


class Account(Base):
    """A Stitch client account: every object belongs to exactly one (``stitch_client_id``)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # Stored lower-cased: one active user per address, whatever its capitalisation.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(32), default="us-east-1")
    # Plans gate source types (details.pricing_tier) and cron scheduling (premium and above).
    pricing_tier: Mapped[str] = mapped_column(String(16), default=PricingTier.ENTERPRISE.value)
    partner_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
