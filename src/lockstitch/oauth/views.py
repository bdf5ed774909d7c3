"""Wire shape of the credential health object (never a token)."""

from __future__ import annotations

from typing import Any

from lockstitch.kit.time import to_wire
from lockstitch.models import OAuthCredential


def credential_json(credential: OAuthCredential, status: str) -> dict[str, Any]:
    last_error = None
    if credential.last_error_class:
        last_error = {
            "class": credential.last_error_class,
            "message": credential.last_error_message,
            "at": to_wire(credential.last_error_at),
        }
    return {
        "source_id": credential.source_id,
        "provider": credential.provider,
        "app": credential.app,
        "status": status,
        "access_token_expires_at": to_wire(credential.access_token_expires_at),
        "last_refreshed_at": to_wire(credential.last_refreshed_at),
        "refresh_due_at": to_wire(credential.refresh_due_at),
        "last_error": last_error,
    }
