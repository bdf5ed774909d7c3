"""Stitch wire objects built from rows and types: the Destination object and destination cards.

Only these functions turn destinations into response bodies. The Destination object is built from
``destination.properties`` (never ``destination.credentials``), so a credential has no path into a
response. Keys are in the order of Stitch's examples (``destinations/v4/*``,
``destination-types/*``): Property objects there carry no ``tap_mutable``, and a type's
``details`` only ``pricing_tier``, ``pipeline_state``, ``protocol`` and ``access``.
"""

from __future__ import annotations

from typing import Any

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.catalog.models import PropertyDef
from lockstitch.catalog.report_card import SourceFacts, current_step
from lockstitch.catalog.source_type import TIER_RANK
from lockstitch.kit.time import to_wire
from lockstitch.models import Destination


def _property(prop: PropertyDef, provided: bool) -> dict[str, Any]:
    return {
        "name": prop.name,
        "is_required": prop.is_required,
        "is_credential": prop.is_credential,
        "system_provided": prop.system_provided,
        "property_type": prop.property_type,
        "json_schema": prop.json_schema,
        "provided": provided,
    }


def report_card(destination_type: DestinationType, provided: frozenset[str]) -> dict[str, Any]:
    """The Destination Report Card: ``form -> fully_configured`` once the required form
    properties are provided (``catalog.report_card.current_step`` decides)."""
    steps = destination_type.definition.steps
    index, step_type = current_step(steps, SourceFacts(provided=provided))
    return {
        "type": destination_type.type,
        "current_step": index,
        "current_step_type": step_type,
        "steps": [
            {"type": step.type, "properties": [_property(p, p.name in provided) for p in step.properties]}
            for step in steps
        ],
    }


def access_for(destination_type: DestinationType, pricing_tier: str) -> bool:
    """``details.access``: the plan meets the type's tier and the type is usable."""
    details = destination_type.details
    if not details.access or details.pipeline_state in ("alpha", "deprecated"):
        return False
    return TIER_RANK.get(pricing_tier, 0) >= TIER_RANK[details.pricing_tier]


def type_card(destination_type: DestinationType, pricing_tier: str) -> dict[str, Any]:
    """``GET /v4/destination-types/{type}``: the blank card with details."""
    details = destination_type.details
    return {
        **report_card(destination_type, frozenset()),
        "details": {
            "pricing_tier": details.pricing_tier,
            "pipeline_state": details.pipeline_state,
            "protocol": details.protocol,
            "access": access_for(destination_type, pricing_tier),
        },
    }


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
        card = report_card(destination_type, provided_names(destination))
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
