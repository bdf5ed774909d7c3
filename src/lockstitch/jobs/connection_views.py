"""The keys Stitch's Source and Destination objects share, and their place in each.

Both objects end with the same run of keys, in the order of Stitch's examples: ``check_job_name``
(only once a check was queued), ``name``, ``type``, ``deleted_at``, ``system_paused_at``,
``stitch_client_id``, ``paused_at``, ``id``, ``display_name``, ``created_at``, ``report_card``.
Each kind puts its own keys before them (``sources.views``, ``destinations.views``). Like the
Connection Check object (``check_views``) this serves both domains, so it lives below them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from pydantic import BaseModel

from lockstitch.jobs.schedule import Stoppable
from lockstitch.kit.time import to_wire


class ConnectionRow(Stoppable, Protocol):
    """What the shared keys read of a source or a destination (a row, or a record of one)."""

    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def display_name(self) -> str | None: ...
    @property
    def check_job_name(self) -> str | None: ...
    @property
    def created_at(self) -> dt.datetime: ...


def connection_json(row: ConnectionRow, own: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
    """The object: the kind's ``own`` keys first, then the shared ones, ``card`` last."""
    body = dict(own)
    if row.check_job_name:
        body["check_job_name"] = row.check_job_name
    body.update(
        {
            "name": row.name,
            "type": row.type,
            "deleted_at": to_wire(row.deleted_at),
            "system_paused_at": to_wire(row.system_paused_at),
            "stitch_client_id": row.account_id,
            "paused_at": to_wire(row.paused_at),
            "id": row.id,
            "display_name": row.display_name,
            "created_at": to_wire(row.created_at),
            "report_card": card,
        }
    )
    return body


class ConnectionKeysOut(BaseModel):
    """The shared keys' schema. pydantic orders a model's fields base first (reverse MRO), so a
    kind lists its own leading keys in a base after this one: ``class SourceOut(ConnectionKeysOut,
    SourceKeysOut)``; ``display_name`` and ``report_card``, typed by kind, follow in the model."""

    check_job_name: str | None = None
    name: str
    type: str
    deleted_at: str | None
    system_paused_at: str | None
    stitch_client_id: int
    paused_at: str | None
    id: int
