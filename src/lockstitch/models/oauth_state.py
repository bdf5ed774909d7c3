from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, UTCDateTime


class OAuthState(Base):
    """One managed-OAuth handshake in progress: the ``state`` sent to the provider.

    Only the state's SHA-256 is stored. It is bound to one account and source, expires, and is
    used once (``used_at`` is set by a conditional UPDATE that only one callback can win).
    """

    __tablename__ = "oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    redirect_uri: Mapped[str] = mapped_column(Text)
    return_url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
