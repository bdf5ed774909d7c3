"""Stitch wire objects built from rows: the Source object (the Connection Check object is
``jobs.check_views``, shared with destinations).

Only these functions turn rows into response bodies. The Source object is built from
``source.properties`` (never ``source.credentials``), so a credential has no path into a response.
Keys are in the order of Stitch's examples.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from lockstitch.catalog.report_card import SourceFacts
from lockstitch.catalog.source_type import SourceType
from lockstitch.jobs.connection_views import ConnectionRow, connection_json
from lockstitch.jobs.schedule import Scheduled, schedule_inputs, schedule_json
from lockstitch.kit.time import to_wire
from lockstitch.models import CheckState
from lockstitch.sources.properties import as_string


class SourceLike(Scheduled, ConnectionRow, Protocol):
    """What the views read of a source: an ORM ``Source`` or a ``repository.SourceRecord``
    (its schedule facts are ``jobs.schedule.Scheduled``'s, the shared object keys
    ``jobs.connection_views.ConnectionRow``'s)."""

    @property
    def display_name(self) -> str: ...
    @property
    def credentials(self) -> dict[str, str]: ...
    @property
    def selection_complete(self) -> bool: ...
    @property
    def updated_at(self) -> dt.datetime: ...


def facts_of(source: SourceLike, check_state: str | None, oauth_provides: list[str]) -> SourceFacts:
    provided = {name for name, value in source.properties.items() if value is not None}
    provided.update(source.credentials)
    provided.update(oauth_provides)
    return SourceFacts(
        provided=frozenset(provided),
        check_succeeded=check_state == CheckState.SUCCEEDED,
        selection_complete=source.selection_complete,
    )


def report_card(
    source: SourceLike, source_type: SourceType | None, check_state: str | None, oauth_provides: list[str]
) -> dict[str, Any]:
    if source_type is None:
        # The operator removed this type from the catalogue; the source stays readable.
        return {"type": source.type, "current_step": 1, "current_step_type": "form", "steps": []}
    return source_type.renderer.card(facts_of(source, check_state, oauth_provides))


def source_json(
    source: SourceLike,
    source_type: SourceType | None,
    check_state: str | None,
    oauth_provides: list[str],
    now: dt.datetime,
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    if source_type is not None and "cron_expression" in source_type.properties:
        properties["cron_expression"] = None  # Stitch always shows it, null when unset
    properties.update((name, as_string(value)) for name, value in source.properties.items())
    card = report_card(source, source_type, check_state, oauth_provides)
    # Only a fully configured source runs on its schedule (the scheduler's own rule): one that
    # went back to discover_schema (a new check) shows none until it is configured again.
    runs = card["current_step_type"] == "fully_configured"
    own = {
        "properties": dict(sorted(properties.items())),
        "updated_at": to_wire(source.updated_at),
        "schedule": schedule_json(schedule_inputs(source, source_type), now) if runs else None,
    }
    return connection_json(source, own, card)
