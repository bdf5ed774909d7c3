"""Bring-your-own credentials: OAuth properties sent in a source's POST or PUT.

When ``client_id``, ``client_secret`` and ``refresh_token`` (the type's names for them) arrive,
Lockstitch takes ownership: they are stored on the source's OAuthCredential (app "source"),
not among its other credential properties, and the refresher validates them with a first
refresh right away. From then on Lockstitch alone refreshes them. A failing validation fails the
source's queued connection check with the provider's error (never the secret).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.catalog.models import OAuthDef
from lockstitch.catalog.source_type import SourceType
from lockstitch.kit.crypto import Keyring
from lockstitch.models import OAuthCredential, Source
from lockstitch.oauth import sealing
from lockstitch.oauth.repository import CredentialRepository

ROLES: tuple[sealing.Field, ...] = ("client_id", "client_secret", "refresh_token")


def role_names(oauth: OAuthDef) -> dict[str, str]:
    return {
        "client_id": oauth.client_id,
        "client_secret": oauth.client_secret,
        "refresh_token": oauth.refresh_token,
    }


def split(source_type: SourceType, secrets: dict[str, Any]) -> dict[str, Any]:
    """Take the OAuth roles out of a change's credential values: ``{role: value or None}``."""
    oauth = source_type.definition.oauth
    if oauth is None:
        return {}
    taken: dict[str, Any] = {}
    for role, name in role_names(oauth).items():
        if name in secrets:
            taken[role] = secrets.pop(name)
    return taken


def provided_names(oauth: OAuthDef, credential: OAuthCredential) -> list[str]:
    """The source properties these credentials provide (they count as provided on the card)."""
    names = role_names(oauth)
    provided = []
    if credential.app == "managed" or credential.client_id:
        provided.append(names["client_id"])
    if credential.app == "managed" or credential.client_secret:
        provided.append(names["client_secret"])
    if credential.refresh_token:
        provided.append(names["refresh_token"])
    if credential.app == "managed" and oauth.redirect_uri:
        provided.append(oauth.redirect_uri)
    return provided


async def adopt(
    session: AsyncSession,
    keyring: Keyring,
    source: Source,
    source_type: SourceType,
    values: dict[str, Any],
    now: dt.datetime,
) -> OAuthCredential:
    oauth = source_type.definition.oauth
    assert oauth is not None
    repo = CredentialRepository(session)
    credential = await repo.for_source(source.account_id, source.id)
    if credential is None:
        credential = OAuthCredential(
            account_id=source.account_id,
            source_id=source.id,
            provider=oauth.provider,
            app="source",
            status="incomplete",
            provides=[],
            version=1,
            failures=0,
            created_at=now,
            updated_at=now,
        )
        session.add(credential)
    if "client_id" in values or "client_secret" in values:
        credential.app = "source"
    for role in ROLES:
        if role in values:
            value = values[role]
            sealed = None if value is None else sealing.seal(keyring, credential, role, str(value))
            setattr(credential, role, sealed)
    complete = credential.refresh_token is not None and (
        credential.app == "managed"
        or (credential.client_id is not None and credential.client_secret is not None)
    )
    # New credentials start a new life: whatever the old ones were doing no longer applies
    # (a refresh still in flight with them fails its compare-and-swap on the version).
    credential.status = "pending" if complete else "incomplete"
    credential.refresh_due_at = now if complete else None
    credential.access_token = None
    credential.access_token_expires_at = None
    credential.in_flight_since = None
    credential.lease_owner = None
    credential.lease_expires_at = None
    credential.failures = 0
    credential.last_error_class = None
    credential.last_error_message = None
    credential.version = (credential.version or 0) + 1
    credential.provides = provided_names(oauth, credential)
    credential.updated_at = now
    await session.flush()
    return credential
