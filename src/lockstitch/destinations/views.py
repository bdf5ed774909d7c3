"""Stitch wire objects built from rows: the Destination object (its report card and the type
cards are ``catalog.destination_type``'s).

Only these functions turn destinations into response bodies. The Destination object is built from
``destination.properties`` (never ``destination.credentials``), so a credential has no path into a
response. Keys are in the order of Stitch's examples (``destinations/v4/*``).
"""

from __future__ import annotations

from typing import Any

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.kit.time import to_wire
from lockstitch.models import Destination


def provided_names(destination: Destination) -> frozenset[str]:
    plain = {name for name, value in destination.properties.items() if value is not None}
    return frozenset(plain | set(destination.credentials))


def destination_json(destination: Destination, destination_type: DestinationType | None) -> dict[str, Any]:
    if destination_type is None:
        # The operator removed this type from the catalogue; the destination stays readable.
        card: dict[str, Any] = {
            "type": destination.type,
            "current_step": 1,
            "current_step_type": "form",
            "steps": [],
        }
    else:
        card = destination_type.card(provided_names(destination))
    body: dict[str, Any] = {
        "description": destination.description,
        "properties": dict(sorted(destination.properties.items())),
        "updated_at": to_wire(destination.updated_at),
    }
    if destination.check_job_name:
        body["check_job_name"] = destination.check_job_name
    body.update(
        {
            "name": destination.name,
            "type": destination.type,
            "deleted_at": to_wire(destination.deleted_at),
            "system_paused_at": to_wire(destination.system_paused_at),
            "stitch_client_id": destination.account_id,
            "paused_at": to_wire(destination.paused_at),
            "id": destination.id,
            "display_name": destination.display_name,
            "created_at": to_wire(destination.created_at),
            "report_card": card,
        }
    )
    return body
