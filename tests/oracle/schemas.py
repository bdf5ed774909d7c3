"""JSON schemas of the Stitch objects, written from spec section 3 and ``doc-examples.json``.

Required keys are the keys present in every documented example of the object; types are the
examples' types; timestamps are spec 9.15's ``YYYY-MM-DDTHH:MM:SSZ``; ``selected`` is required
everywhere the examples show it (spec 9.18, 9.21); property values are strings unless an array
or object (spec 9.23). ``ROUTES`` maps each Stitch endpoint to the schema of its 200 body and
``error_schema`` each path to its family's error shape (spec section 4).
"""

from __future__ import annotations

import re
from typing import Any

Schema = dict[str, Any]

TIMESTAMP: Schema = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"}
MAYBE_TIMESTAMP: Schema = {"anyOf": [TIMESTAMP, {"type": "null"}]}
MAYBE_INT: Schema = {"type": ["integer", "null"]}
MAYBE_STR: Schema = {"type": ["string", "null"]}
ID: Schema = {"type": "integer", "minimum": 1}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with these keys required (others allowed: clients ignore unknown keys)."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


STEP_TYPES = ["form", "oauth", "profile", "discover_schema", "field_selection", "fully_configured"]
PROPERTY_TYPES = [
    "user_provided",
    "read_only",
    "system_provided_by_default",
    "user_provided_immutable",
    "user_provided_advanced",
]

PROPERTY = obj(
    {
        "name": {"type": "string"},
        "is_required": {"type": "boolean"},
        "is_credential": {"type": "boolean"},
        "system_provided": {"type": "boolean"},
        "property_type": {"enum": PROPERTY_TYPES},
        "json_schema": {"type": ["object", "null"]},
        "provided": {"type": "boolean"},
    },
    {"tap_mutable": {"type": "boolean"}},
)
STEP = obj({"type": {"enum": STEP_TYPES}, "properties": {"type": "array", "items": PROPERTY}})
DETAILS = obj(
    {
        "access": {"type": "boolean"},
        "pricing_tier": {"type": "string"},
        "pipeline_state": {"enum": ["alpha", "beta", "released", "deprecated"]},
        "protocol": {"type": "string"},
    },
    {"default_scheduling_interval": MAYBE_INT, "default_start_date": MAYBE_STR},
)
_CARD_KEYS: dict[str, Schema] = {
    "type": {"type": "string"},
    "current_step": {"type": "integer", "minimum": 1},
    "current_step_type": {"enum": STEP_TYPES},
    "steps": {"type": "array", "items": STEP, "minItems": 1},
}
# A source's or destination's own card (details are optional there, as in the examples).
REPORT_CARD = obj(_CARD_KEYS, {"details": DETAILS})
# A type's card (GET .../source-types, .../destination-types): details always. Legacy source
# types carry only type, details and upgrade_available (spec 3.2).
TYPE_CARD: Schema = {
    "anyOf": [
        obj({**_CARD_KEYS, "details": DETAILS}),
        obj({"type": {"type": "string"}, "details": DETAILS, "upgrade_available": {}}),
    ]
}
PROPERTY_VALUES: Schema = {
    "type": "object",
    "additionalProperties": {"type": ["string", "array", "object", "null"]},
}
SCHEDULE: Schema = {
    "anyOf": [
        obj(
            {
                "type": {"const": "interval"},
                "unit": {"type": "string"},
                "interval": {"type": "number"},
                "next_fire_time": MAYBE_TIMESTAMP,
            }
        ),
        obj(
            {
                "type": {"const": "cron"},
                "cron_expression": {"type": "string"},
                "next_fire_time": MAYBE_TIMESTAMP,
            }
        ),
        {"type": "null"},
    ]
}
SOURCE = obj(
    {
        "properties": PROPERTY_VALUES,
        "updated_at": TIMESTAMP,
        "schedule": SCHEDULE,
        "name": {"type": "string"},
        "type": {"type": "string"},
        "deleted_at": MAYBE_TIMESTAMP,
        "system_paused_at": MAYBE_TIMESTAMP,
        "stitch_client_id": ID,
        "paused_at": MAYBE_TIMESTAMP,
        "id": ID,
        "display_name": {"type": "string"},
        "created_at": TIMESTAMP,
        "report_card": REPORT_CARD,
    },
    {"check_job_name": {"type": "string"}},
)
DESTINATION = obj(
    {
        "id": ID,
        "type": {"type": "string"},
        "name": {"type": "string"},
        "display_name": MAYBE_STR,
        "description": MAYBE_STR,
        "properties": PROPERTY_VALUES,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "deleted_at": MAYBE_TIMESTAMP,
        "paused_at": MAYBE_TIMESTAMP,
        "system_paused_at": MAYBE_TIMESTAMP,
        "stitch_client_id": ID,
        "report_card": REPORT_CARD,
    },
    {"check_job_name": MAYBE_STR},
)
# v3 (spec 3.14): ``connection`` values typed (5432, false) or strings, never an object.
DESTINATION_V3 = obj(
    {
        "id": ID,
        "type": {"type": "string"},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "connection": {
            "type": "object",
            "additionalProperties": {"type": ["string", "integer", "boolean"]},
        },
        "last_check": obj(
            {"error": {"type": "boolean"}, "started_at": MAYBE_TIMESTAMP, "completed_at": MAYBE_TIMESTAMP}
        ),
    }
)
CONNECTION_CHECK = obj(
    {
        "name": {"type": "string"},
        "mode": {"const": "check"},
        "status": {"enum": ["running", "succeeded", "failed"]},
        "start_time": MAYBE_TIMESTAMP,
        "completion_time": MAYBE_TIMESTAMP,
        "error": {"type": "boolean"},
        "check_exit_status": MAYBE_INT,
        "discovery_exit_status": MAYBE_INT,
        "discovery_error_message": MAYBE_STR,
        "tap_exit_status": MAYBE_INT,
        "tap_error_message": MAYBE_STR,
        "target_exit_status": MAYBE_INT,
        "target_error_message": MAYBE_STR,
    }
)
STREAM = obj(
    {
        "stream_id": ID,
        "tap_stream_id": {"type": "string"},
        "stream_name": {"type": "string"},
        "selected": {"type": ["boolean", "null"]},
        "metadata": obj({"selected": {"type": ["boolean", "null"]}}),  # spec 9.18
    }
)
SCHEMA_ENTRY = obj(
    {
        "breadcrumb": {"type": "array", "items": {"type": "string"}},
        "metadata": obj({"selected": {"type": "boolean"}}),  # spec 9.21: every entry, a boolean
    }
)
STREAM_SCHEMA = obj(
    {
        "schema": {"type": "string"},  # the JSON Schema, JSON-encoded (spec 3.7)
        "metadata": {"type": "array", "items": SCHEMA_ENTRY},
        "non-discoverable-metadata-keys": {"type": "array", "items": {"type": "string"}},
    }
)
EXTRACTION = obj(
    {
        "job_name": {"type": "string"},
        "stitch_client_id": ID,
        "source_id": ID,
        "source_type": {"type": "string"},  # spec 9.2
        "start_time": TIMESTAMP,
        "completion_time": MAYBE_TIMESTAMP,
        "discovery_exit_status": MAYBE_INT,
        "discovery_description": MAYBE_STR,
        "tap_exit_status": MAYBE_INT,
        "tap_description": MAYBE_STR,
        "target_exit_status": MAYBE_INT,
        "target_description": MAYBE_STR,
    }
)
LOAD = obj(
    {
        "stitch_client_id": ID,
        "source_name": {"type": "string"},
        "stream_name": {"type": "string"},
        "last_batch_loaded_at": MAYBE_TIMESTAMP,
        "error_state": {"type": ["object", "null"]},
    }
)


def page_of(item: Schema) -> Schema:
    """The extractions/loads list wrapper (spec 3.12, section 5)."""
    return obj(
        {
            "data": {"type": "array", "items": item},
            "page": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
            "links": obj({}, {"next": {"type": "string"}, "previous": {"type": "string"}}),
        }
    )


def array_of(item: Schema) -> Schema:
    return {"type": "array", "items": item}


JOB_ERROR = obj({"error": obj({"type": {"type": "string"}, "message": {"type": "string"}})})
REPLICATION_JOB: Schema = {"anyOf": [obj({"job_name": {"type": "string"}}), JOB_ERROR]}  # 2.7: 200 either way
STATUS_200 = obj({"status": {"const": 200}})
ACCOUNT_CREATED = obj({"access_token": {"type": "string"}, "stitch_account_id": ID})
SESSION = obj({"ephemeral_token": {"type": "string"}})
IMPORT_TOKEN = obj({"id": ID, "access_token": {"type": "string"}})
IMPORT_TOKEN_IDS = array_of(
    {"anyOf": [ID, obj({"token_id": ID, "created_at": TIMESTAMP})]}  # both documented (12.1)
)
EMPTY_OBJECT: Schema = {"type": "object", "maxProperties": 0}

_ID = r"[^/]+"
# (method, path pattern) -> schema of a 200 body. Paths are matched after 9.24's slash collapse.
ROUTES: list[tuple[str, re.Pattern[str], Schema]] = [
    (method, re.compile(f"^{pattern}$"), schema)
    for method, pattern, schema in [
        ("POST", "/v3/accounts", ACCOUNT_CREATED),
        ("POST", "/v3/sessions/ephemeral", SESSION),
        ("GET", "/v4/source-types", array_of(TYPE_CARD)),
        ("GET", f"/v4/source-types/{_ID}", TYPE_CARD),
        ("GET", "/v4/destination-types", array_of(TYPE_CARD)),
        ("GET", f"/v4/destination-types/{_ID}", TYPE_CARD),
        ("GET", "/v4/sources", array_of(SOURCE)),
        ("POST", "/v4/sources", SOURCE),
        ("GET", f"/v4/sources/{_ID}", SOURCE),
        ("PUT", f"/v4/sources/{_ID}", SOURCE),
        ("DELETE", f"/v4/sources/{_ID}", SOURCE),
        ("GET", f"/v4/sources/{_ID}/last-connection-check", CONNECTION_CHECK),
        ("POST", f"/v4/sources/{_ID}/tokens", IMPORT_TOKEN),
        ("GET", f"/v4/sources/{_ID}/tokens", IMPORT_TOKEN_IDS),
        ("DELETE", f"/v4/sources/{_ID}/tokens/{_ID}", SOURCE),
        ("GET", f"/v4/sources/{_ID}/streams", array_of(STREAM)),
        ("PUT", f"/v4/sources/{_ID}/streams/metadata", STATUS_200),
        ("GET", f"/v4/sources/{_ID}/streams/{_ID}", STREAM_SCHEMA),
        ("POST", f"/v4/sources/{_ID}/sync", REPLICATION_JOB),
        ("DELETE", f"/v4/sources/{_ID}/sync", STATUS_200),
        ("GET", "/v3/destinations", array_of(DESTINATION_V3)),
        ("POST", "/v3/destinations", DESTINATION_V3),
        ("PUT", f"/v3/destinations/{_ID}", DESTINATION_V3),
        ("GET", "/v4/destinations", array_of(DESTINATION)),
        ("POST", "/v4/destinations", DESTINATION),
        ("PUT", f"/v4/destinations/{_ID}", DESTINATION),
        ("DELETE", f"/v4/destinations/{_ID}", EMPTY_OBJECT),
        ("GET", f"/v4/destinations/{_ID}/last-connection-check", CONNECTION_CHECK),
        ("GET", f"/v4/{_ID}/extractions", page_of(EXTRACTION)),
        ("GET", f"/v4/{_ID}/loads", page_of(LOAD)),
    ]
]

PLAIN: Schema = {"type": "string"}
SOURCE_ERROR = obj({"error": {"type": "string"}, "data": obj({"message": {"type": "string"}})})
ACCOUNT_ERROR = obj(
    {"code": {"type": "string"}, "message": {"type": "string"}}, {"errors": {"type": "object"}}
)
METADATA_PUT_ERROR: Schema = {"anyOf": [obj({"invalid_fields": {"type": "string"}}), PLAIN]}

_FAMILIES: list[tuple[re.Pattern[str], Schema]] = [
    (re.compile(r"^/v3/(accounts|sessions)"), ACCOUNT_ERROR),
    (re.compile(f"^/v4/sources/{_ID}/streams/metadata$"), METADATA_PUT_ERROR),
    (re.compile(f"^/v4/sources/{_ID}/streams"), PLAIN),
    (re.compile(f"^/v4/sources/{_ID}/sync$"), JOB_ERROR),
    (re.compile(r"^/v4/(destinations|destination-types)(/|$)"), PLAIN),
    (re.compile(r"^/v3/destinations(/|$)"), PLAIN),
    (re.compile(f"^/v4/(?!sources/|source-types/){_ID}/(extractions|loads)(/|$)"), JOB_ERROR),
    (re.compile(r"^/v4/(sources|source-types)(/|$)"), SOURCE_ERROR),
]


def route_schema(method: str, path: str) -> Schema | None:
    """The 200 body's schema for a Stitch endpoint, or None (an extension, or no body)."""
    for route_method, pattern, schema in ROUTES:
        if route_method == method and pattern.match(path):
            return schema
    return None


def error_schema(path: str) -> Schema | None:
    """The error shape of the path's family, or None for paths outside the Stitch families."""
    for pattern, schema in _FAMILIES:
        if pattern.match(path):
            return schema
    return None
