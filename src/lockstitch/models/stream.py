from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lockstitch.kit.db import Base, JSONDoc, UTCDateTime
from lockstitch.models.types import Id


class Stream(Base):
    """One stream of a source's discovered catalog (spec sections 3.6 to 3.9).

    What discovery found and what the partner chose are kept apart, so a re-discovery can
    replace the first and keep the second for breadcrumbs that still exist:
    ``discovered_metadata`` is the tap's metadata list as discovered (``[{breadcrumb, metadata}]``);
    ``chosen_metadata`` maps a breadcrumb (JSON-encoded list, ``"[]"`` for the stream) to the
    non-discoverable keys the partner wrote (``selected``, ``replication-method``, ...).
    ``selected`` mirrors the stream-level choice for list queries. ``id`` is the wire ``stream_id``.
    """

    __tablename__ = "streams"
    __table_args__ = (UniqueConstraint("source_id", "tap_stream_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    tap_stream_id: Mapped[str] = mapped_column(String(500))
    stream_name: Mapped[str] = mapped_column(String(500))
    schema: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    discovered_metadata: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    chosen_metadata: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSONDoc, default=dict)
    # The tap's other top-level catalog keys (stream, table_name, key_properties, is_view...):
    # handed back to the tap in the run catalog (SDK SQL taps read table_name), never shown.
    catalog_entry: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    selected: Mapped[bool | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
