"""Wire shapes of the streams endpoints, for the OpenAPI document.

Responses are built by ``views.py``; these models describe them. The PUT body is read raw (to
answer malformed input in Stitch's shapes), so its schema is declared here as plain JSON Schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from lockstitch.kit.http import ERROR_DESCRIPTIONS, ErrorDocs, error_docs


class StreamOut(BaseModel):
    selected: bool | None
    stream_id: int
    tap_stream_id: str
    stream_name: str
    metadata: dict[str, Any]


class MetadataEntry(BaseModel):
    breadcrumb: list[str]
    metadata: dict[str, Any]


class StreamSchemaOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="schema", description="The stream's JSON Schema, JSON-encoded")
    metadata: list[MetadataEntry]
    non_discoverable_metadata_keys: list[str] = Field(alias="non-discoverable-metadata-keys")


class StatusOut(BaseModel):
    status: int


class PlainErrorBody(RootModel[str]):
    """Stream GETs and malformed PUT bodies answer a bare JSON string."""


class InvalidFieldsBody(BaseModel):
    invalid_fields: str


_METADATA_ENTRY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "breadcrumb": {"type": "array", "items": {"type": "string"}},
        "metadata": {
            "type": "object",
            "properties": {
                "selected": {"type": ["boolean", "null"]},
                "replication-method": {"enum": ["FULL_TABLE", "INCREMENTAL", "LOG_BASED", None]},
                "replication-key": {"type": ["string", "null"]},
                "view-key-properties": {"type": ["array", "null"], "items": {"type": "string"}},
            },
            "additionalProperties": False,
        },
    },
    "required": ["breadcrumb", "metadata"],
}

METADATA_PUT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "streams": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "tap_stream_id": {"type": "string"},
                                    "metadata": {"type": "array", "items": _METADATA_ENTRY},
                                },
                                "required": ["tap_stream_id", "metadata"],
                            },
                        }
                    },
                    "required": ["streams"],
                }
            }
        },
    }
}


_DESCRIPTIONS = {**ERROR_DESCRIPTIONS, 400: "Invalid request", 404: "Unknown path or method not allowed"}


def error_responses(*statuses: int, invalid_fields: bool = False) -> ErrorDocs:
    """Error bodies: bare JSON strings, and for the metadata PUT also ``{"invalid_fields": ...}``."""
    with_fields = PlainErrorBody | InvalidFieldsBody

    def body(status: int) -> dict[str, Any]:
        return {"model": with_fields if status == 400 and invalid_fields else PlainErrorBody}

    return error_docs(_DESCRIPTIONS, statuses, body)
