"""Source errors, in the sources shape ``{"error": "<Code>", "data": {"message": ...}}``.

Messages and codes are Stitch's (spec section 2.4), typos included where clients may match them.
"""

from __future__ import annotations

from typing import Any

from lockstitch.kit.errors import SourceError
from lockstitch.kit.json import too_large_message
from lockstitch.kit.naming import NAME_RULES, quoted

POST_BODY = (
    "POST body may only include a non-empty type, a non-empty display_name and map of string properties"
)
# Sic: Stitch's message says "many"; clients compare messages, so it is kept.
PUT_BODY = "PUT body many only include the keys: display_name, properties, and paused_at"


def invalid_body(message: str) -> SourceError:
    return SourceError("InvalidBody", message)


def body_too_large(limit: int) -> SourceError:
    return SourceError("InvalidBody", too_large_message(limit), status_code=413)


def unknown_destination(destination_id: int) -> SourceError:
    return SourceError("InvalidBody", f"destination_id {destination_id} is not a destination of this account")


def invalid_type(source_type: object) -> SourceError:
    return SourceError("InvalidType", f"invalid source type ({quoted(source_type)})")


def type_access_denied(source_type: str) -> SourceError:
    return SourceError("AccessDenied", f"you do not have access to source type ({source_type})")


def cron_access_denied() -> SourceError:
    return SourceError("AccessDenied", "access to cron_expression based scheduling is not permitted")


def invalid_cron(expression: str, reason: str) -> SourceError:
    return SourceError(
        "InvalidCronExpression", f'cron_expression "{quoted(expression)}" is invalid: {reason}'
    )


def name_not_unique(display_name: str) -> SourceError:
    return SourceError("InvalidName", f"non-unique name ({quoted(display_name)})")


def derived_name_not_unique(display_name: str, name: str) -> SourceError:
    return SourceError(
        "InvalidName",
        f"non-unique name after deriving it from display_name ({quoted(display_name)} -> {name})",
    )


def name_rules() -> SourceError:
    return SourceError("InvalidName", NAME_RULES)


def derived_name_empty(display_name: str) -> SourceError:
    return SourceError(
        "InvalidDisplayName", f"invalid name after deriving it from display_name ({quoted(display_name)} -> )"
    )


def invalid_display_name(value: object) -> SourceError:
    return SourceError("InvalidDisplayName", f"invalid display_name ({quoted(value)})")


def invalid_properties(bad: list[str], report_card: dict[str, Any]) -> SourceError:
    return SourceError(
        "InvalidProperties",
        "properties do not match schema",
        bad_properties=bad,
        report_card=report_card,
    )


def managed_endpoint(name: str, report_card: dict[str, Any]) -> SourceError:
    """An endpoint property of a source that uses the operator's managed OAuth app."""
    return SourceError(
        "InvalidProperties",
        f"{name} cannot change while the source uses the managed OAuth app: it refreshes at the "
        "provider's own endpoint. To use your own token endpoint, send your client_id and "
        "client_secret (and refresh_token) in the same request.",
        bad_properties=[name],
        report_card=report_card,
    )


def not_found(source_id: object) -> SourceError:
    """One answer for a missing id, a malformed id and another account's source."""
    return SourceError("InvalidId", f"source not found ({quoted(source_id, 40)})")


def deleted(source_id: int) -> SourceError:
    return SourceError("InvalidId", f"source is deleted ({source_id})")


def no_connection_check(source_id: int) -> SourceError:
    return SourceError(
        "NotFound", f"no connection check has been run for source ({source_id})", status_code=404
    )
