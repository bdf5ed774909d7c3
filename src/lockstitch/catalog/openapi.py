"""The catalogue's property schemas, expressed in the OpenAPI document.

A source's ``properties`` depend on its ``type``, so the request schemas of ``POST`` and ``PUT
/v4/sources`` are generated from the loaded catalogue: one variant per type, listing the
properties a client may set (read-only ones are left out) with their ``json_schema``. Clients
and fuzzers then see what the server accepts instead of a bare ``object``.
"""

from __future__ import annotations

import json
from typing import Any

from lockstitch.catalog.loader import Catalog
from lockstitch.catalog.source_type import SourceType


def _settable(source_type: SourceType) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, spec in source_type.properties.items():
        definition = spec.definition
        if definition.property_type == "read_only":
            continue
        schema = definition.json_schema if definition.json_schema is not None else {"type": "string"}
        properties[name] = {
            **schema,
            "description": f"{definition.property_type}"
            + (", credential (never returned)" if definition.is_credential else ""),
        }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _any_type_settable(catalog: Catalog) -> dict[str, Any]:
    """A PUT's ``properties`` for a source of any type: every property name some type has, each
    with the distinct schemas it has across types. One object, not an ``anyOf`` of ~190 objects
    (which generators, schemathesis among them, cannot expand); the server still checks the
    source's own type."""
    variants: dict[str, dict[str, Any]] = {}
    for source_type in catalog.source_types():
        for name, schema in _settable(source_type)["properties"].items():
            variants.setdefault(name, {})[json.dumps(schema, sort_keys=True)] = schema
    properties = {
        name: next(iter(found.values())) if len(found) == 1 else {"anyOf": list(found.values())}
        for name, found in sorted(variants.items())
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def create_source_schema(catalog: Catalog) -> dict[str, Any]:
    variants = []
    for source_type in catalog.source_types():
        variants.append(
            {
                "type": "object",
                "title": source_type.type,
                "properties": {
                    "type": {"type": "string", "enum": [source_type.type]},
                    "display_name": {"type": "string", "minLength": 1, "maxLength": 500},
                    "properties": _settable(source_type),
                    "destination_id": {"type": ["integer", "null"], "minimum": 1},
                },
                "required": ["type", "display_name"],
                "additionalProperties": False,
            }
        )
    return {"oneOf": variants}


def update_source_schema(catalog: Catalog) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "display_name": {"type": "string", "minLength": 1, "maxLength": 500},
            "properties": _any_type_settable(catalog),
            "paused_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "Any timestamp pauses the source now; null unpauses it.",
            },
            "destination_id": {"type": ["integer", "null"], "minimum": 1},
        },
        "additionalProperties": False,
    }


def apply(spec: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """Replace the generic source request bodies of an OpenAPI document with the catalogue's."""
    paths = spec.get("paths", {})
    bodies = {
        ("/v4/sources", "post"): create_source_schema(catalog),
        ("/v4/sources/{source_id}", "put"): update_source_schema(catalog),
    }
    for (path, method), schema in bodies.items():
        operation = paths.get(path, {}).get(method)
        if operation is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return spec
