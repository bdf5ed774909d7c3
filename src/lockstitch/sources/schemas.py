"""Wire shapes of the sources and source-types endpoints, for the OpenAPI document.

Responses are built by ``views.py``; these models describe them (and are checked against real
responses in the tests). There is no field for a credential value anywhere here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from lockstitch.catalog.report_card import PropertyOut
from lockstitch.jobs.connection_views import ConnectionKeysOut
from lockstitch.kit.http import ERROR_DESCRIPTIONS, ErrorDocs, error_docs


class StepOut(BaseModel):
    type: str
    properties: list[PropertyOut]


class DetailsOut(BaseModel):
    pricing_tier: str
    pipeline_state: str
    default_start_date: str | None
    default_scheduling_interval: int | None
    protocol: str
    access: bool
    image_version: str | None


class SourceReportCard(BaseModel):
    type: str
    current_step: int
    current_step_type: str
    steps: list[StepOut]


class SourceTypeCard(SourceReportCard):
    details: DetailsOut
    upgrade_available: dict[str, str] | None


class ScheduleOut(BaseModel):
    type: Literal["interval", "cron"]
    unit: str | None = None
    interval: float | None = None
    cron_expression: str | None = None
    next_fire_time: str


class SourceKeysOut(BaseModel):
    """The Source object's own keys, before the shared ones (``jobs.connection_views``)."""

    properties: dict[str, Any]
    updated_at: str
    schedule: ScheduleOut | None


class SourceOut(ConnectionKeysOut, SourceKeysOut):
    display_name: str
    created_at: str
    report_card: SourceReportCard


class SourceErrorData(BaseModel):
    model_config = ConfigDict(extra="allow")
    message: str


class SourceErrorBody(BaseModel):
    error: str
    data: SourceErrorData


_DESCRIPTIONS = {**ERROR_DESCRIPTIONS, 400: "Invalid request (see the error code)"}


def error_responses(*statuses: int) -> ErrorDocs:
    return error_docs(_DESCRIPTIONS, statuses, lambda _: {"model": SourceErrorBody})
