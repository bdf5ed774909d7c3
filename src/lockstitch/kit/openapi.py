"""Helpers to describe raw-JSON endpoints in the OpenAPI document.

Endpoints read their bodies themselves (to answer malformed input in Stitch's error shapes
instead of FastAPI's), so their request schemas are declared here explicitly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": required,
            "content": {
                "application/json": {
                    "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")
                }
            },
        }
    }
