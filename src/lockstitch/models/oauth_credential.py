from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, JSONDoc, UTCDateTime
from lockstitch.models.types import Id


class OAuthCredential(Base):
    """The OAuth tokens of one source and where they are in their life (``oauth.lifecycle``).

    Tokens and a bring-your-own client's id and secret are sealed (``kit.crypto``) with
    associated data naming this account, source and field. ``version`` grows with every write,
    ``generation`` with every new refresh token: an outcome is stored only if nothing newer is
    (compare-and-swap: a verdict on ``version`` and the lease, a provider's answer on
    ``generation``). ``in_flight_since`` is set, and committed, before a refresh request leaves,
    and cleared only once its outcome is known: while set, the stored refresh token may already
    have been used, and nobody sends it again without first finding out (``oauth.in_flight``).
    """

    __tablename__ = "oauth_credentials"
    __table_args__ = (Index("ix_oauth_credentials_due", "status", "refresh_due_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), unique=True)
    provider: Mapped[str] = mapped_column(String(100))
    # "managed": the operator's app for this provider; "source": the partner's own client.
    app: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed, "source" apps only
    client_secret: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    access_token: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed
    access_token_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Source property names these credentials provide (client_id, refresh_token, ...): they
    # count as provided on the report card.
    provides: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    # An ``oauth.states.CredentialStatus``; only ``oauth.states``'s table moves it.
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Grows each time a new refresh token is stored; a late answer is kept while it is current.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refresh_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    in_flight_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error_class: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
