"""A loaded destination type: its definition, property validators and the report card.

Destination cards are ``form -> fully_configured``: a destination whose required form
properties are all provided is fully configured (spec 3.2, "Destination report cards").
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from lockstitch.catalog.models import DestinationTypeFile
from lockstitch.catalog.report_card import CardRenderer, SourceFacts
from lockstitch.catalog.source_type import PropertySpec


class DestinationType:
    def __init__(self, definition: DestinationTypeFile, origin: str) -> None:
        self.definition = definition
        self.origin = origin
        self.type = definition.type
        self.details = definition.details
        self.properties: dict[str, PropertySpec] = {}
        for step in definition.steps:
            for prop in step.properties:
                schema = prop.json_schema
                validator = (
                    jsonschema_rs.validator_for(schema, validate_formats=True) if schema is not None else None
                )
                self.properties[prop.name] = PropertySpec(prop, step.type, validator)
        self.renderer = CardRenderer(self.type, definition.steps)
        self.template = self.renderer.card(SourceFacts())

    def card(self, provided: frozenset[str]) -> dict[str, Any]:
        """The report card of a destination with these properties provided."""
        return self.renderer.card(SourceFacts(provided=provided))

    def type_card(self) -> dict[str, Any]:
        """``GET /v4/destination-types/{type}``: the blank card with details."""
        return {
            **self.template,
            "details": self.details.model_dump(),
            "upgrade_available": self.definition.upgrade_available,
        }
