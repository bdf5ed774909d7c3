"""Wire shapes of the destinations and destination-types endpoints, for the OpenAPI document.

Responses are built by ``views.py``; these models describe them (the tests check real responses
against them). There is no field for a credential value anywhere here.
"""

from __future__ import annotations

from pydantic import BaseModel

from lockstitch.catalog.report_card import DestinationPropertyOut
from lockstitch.jobs.check_views import ConnectionCheckOut
from lockstitch.jobs.connection_views import ConnectionKeysOut
from lockstitch.kit.http import ERROR_DESCRIPTIONS, ErrorDocs, error_docs

__all__ = [
    "ConnectionCheckOut",
    "DestinationIn",
    "DestinationOut",
    "DestinationTypeCard",
    "error_responses",
]


class DestinationStepOut(BaseModel):
    type: str
    properties: list[DestinationPropertyOut]


class DestinationReportCard(BaseModel):
    type: str
    current_step: int
    current_step_type: str
    steps: list[DestinationStepOut]


class DestinationDetailsOut(BaseModel):
    pricing_tier: str
    pipeline_state: str
    protocol: str
    access: bool


class DestinationTypeCard(DestinationReportCard):
    details: DestinationDetailsOut


class DestinationKeysOut(BaseModel):
    """The Destination object's own keys, before the shared ones (``jobs.connection_views``)."""

    description: str | None
    properties: dict[str, str]
    updated_at: str


class DestinationOut(ConnectionKeysOut, DestinationKeysOut):
    display_name: str | None
    created_at: str
    report_card: DestinationReportCard


class DestinationIn(BaseModel):
    """``POST /v4/destinations`` (``PUT`` takes the same keys, ``properties`` required)."""

    type: str
    name: str | None = None
    description: str | None = None
    properties: dict[str, str | bool | int]
    ignore_unmapped_sources: bool | None = None


_STRING = {"application/json": {"schema": {"type": "string"}}}
_DESCRIPTIONS = {**ERROR_DESCRIPTIONS, 400: "Invalid request (the message says why)"}


def error_responses(*statuses: int) -> ErrorDocs:
    """Destination errors are bare JSON strings (spec 2.3)."""
    return error_docs(_DESCRIPTIONS, statuses, lambda _: {"content": _STRING})
