"""A loaded destination type: its definition, property validators and the report card.

Destination cards are ``form -> fully_configured``: a destination whose required form
properties are all provided is fully configured (spec 3.2, "Destination report cards"). Keys are
in the order of Stitch's examples (``destination-types/*``): Property objects carry no
``tap_mutable``, and a type's ``details`` only ``pricing_tier``, ``pipeline_state``, ``protocol``
and ``access``.
"""

from __future__ import annotations

from typing import Any

from lockstitch.catalog.models import DestinationTypeFile
from lockstitch.catalog.report_card import SourceFacts
from lockstitch.catalog.source_type import CardType


class DestinationType(CardType[DestinationTypeFile]):
    def __init__(self, definition: DestinationTypeFile, origin: str) -> None:
        super().__init__(definition, origin, tap_mutable=False)

    def card(self, provided: frozenset[str]) -> dict[str, Any]:
        """The Destination Report Card of a destination with these properties provided."""
        return self.renderer.card(SourceFacts(provided=provided))

    def type_card(self, account_tier: str) -> dict[str, Any]:
        """``GET /v4/destination-types/{type}``: the blank card with details."""
        details = self.details
        return {
            **self.card(frozenset()),
            "details": {
                "pricing_tier": details.pricing_tier,
                "pipeline_state": details.pipeline_state,
                "protocol": details.protocol,
                "access": details.access_for(account_tier),
            },
        }
