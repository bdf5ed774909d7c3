from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, UTCDateTime


class OAuthAppFlag(Base):
    """A managed OAuth app the provider rejected (``invalid_client``).

    Refreshes through the app stop until the operator configures different client credentials
    (the flag names the fingerprint it was raised for), instead of every source failing alone.
    """

    __tablename__ = "oauth_app_flags"

    provider: Mapped[str] = mapped_column(String(100), primary_key=True)
    client_fingerprint: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    flagged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
