"""Wire shapes of the replication endpoints, for the OpenAPI document.

Responses are built by ``views.py`` (and ``errors.py``); these models describe them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from lockstitch.kit.http import ErrorDocs, error_docs


class JobNameOut(BaseModel):
    job_name: str


class StatusOut(BaseModel):
    status: int


class JobErrorDetail(BaseModel):
    type: str
    message: str


class JobErrorBody(BaseModel):
    error: JobErrorDetail


class ExtractionOut(BaseModel):
    target_exit_status: int | None
    job_name: str
    start_time: str | None
    stitch_client_id: int
    tap_exit_status: int | None
    source_type: str | None
    target_description: str | None
    discovery_exit_status: int | None
    discovery_description: str | None
    tap_description: str | None
    completion_time: str | None
    source_id: int


class LoadOut(BaseModel):
    stitch_client_id: int
    source_name: str
    stream_name: str
    last_batch_loaded_at: str | None
    error_state: dict[str, Any] | None


class Links(BaseModel):
    next: str | None = None
    previous: str | None = None


class ExtractionPage(BaseModel):
    data: list[ExtractionOut]
    page: int
    total: int
    links: Links


class LoadPage(BaseModel):
    data: list[LoadOut]
    page: int
    total: int
    links: Links


_DESCRIPTIONS = {
    400: "Invalid request (see the error type)",
    401: "Missing or invalid API access token, or no access to that client id",
    404: "Unknown path or job, method not allowed, or no log yet",
}


def error_responses(*statuses: int) -> ErrorDocs:
    return error_docs(_DESCRIPTIONS, statuses, lambda _: {"model": JobErrorBody})
