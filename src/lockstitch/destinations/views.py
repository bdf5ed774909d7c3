"""Stitch wire objects built from rows: the Destination object (its report card and the type
cards are ``catalog.destination_type``'s).

Only these functions turn destinations into response bodies. The Destination object is built from
``destination.properties`` (never ``destination.credentials``), so a credential has no path into a
response. Keys are in the order of Stitch's examples (``destinations/v4/*``).
"""

from __future__ import annotations

from typing import Any

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.jobs.connection_views import connection_json
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
    own = {
        "description": destination.description,
        "properties": dict(sorted(destination.properties.items())),
        "updated_at": to_wire(destination.updated_at),
    }
    return connection_json(destination, own, card)
