"""Bring-your-own credentials: OAuth properties sent in a source's POST or PUT.

When ``client_id``, ``client_secret`` and ``refresh_token`` (the type's names for them) arrive,
Lockstitch takes ownership: they are stored on the source's OAuthCredential (app "source"),
not among its other credential properties, and the refresher validates them with a first
refresh right away. From then on Lockstitch alone refreshes them. A failing validation fails the
source's queued connection check with the provider's error (never the secret).
"""

from __future__ import annotations

from typing import Any

from lockstitch.catalog.models import OAuthDef
from lockstitch.catalog.source_type import SourceType
from lockstitch.models import OAuthCredential
from lockstitch.oauth import sealing, states
from lockstitch.oauth.repository import CredentialRepository
from lockstitch.sources.oauth_port import SourceAt

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
    if credential.app == "managed" and oauth.token_url_property:
        # The managed app refreshes at the provider's own endpoint (refresh_request.token_endpoint).
        provided.append(oauth.token_url_property)
    return provided


async def endpoint_change_refused(at: SourceAt, plain: dict[str, Any], secrets: dict[str, Any]) -> str | None:
    """The endpoint property a change may not touch, if any.

    The operator's managed client secret goes only to the provider's configured token endpoint.
    A property naming an endpoint (``token_url``) belongs to a partner's own client: while the
    source's credentials are the managed app's, it cannot be set, unless the same change brings
    the partner's own ``client_id`` and ``client_secret`` (then the endpoint is theirs).
    """
    source = at.source
    oauth = at.source_type.definition.oauth
    name = oauth.token_url_property if oauth is not None else None
    if oauth is None or name is None or name not in plain:
        return None
    if plain[name] == source.properties.get(name):
        return None
    if plain[name] is None or (oauth.client_id in secrets and oauth.client_secret in secrets):
        return None
    credential = await CredentialRepository(at.session).for_source(source.account_id, source.id)
    return name if credential is not None and credential.app == "managed" else None


async def adopt(at: SourceAt, values: dict[str, Any]) -> OAuthCredential:
    """Store the OAuth values on the source's credential, which Lockstitch then owns."""
    session, keyring, source, source_type, now = at.session, at.keyring, at.source, at.source_type, at.now
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
    # New credentials start a new life (states.apply): pending until a first refresh validates
    # them, right away.
    outcome = states.Outcome.CREDENTIALS_REPLACED if complete else states.Outcome.CREDENTIALS_INCOMPLETE
    await states.apply(session, credential, outcome, now=now, source=source)
    credential.refresh_due_at = now if complete else None
    credential.access_token = None
    credential.access_token_expires_at = None
    credential.provides = provided_names(oauth, credential)
    credential.updated_at = now
    await session.flush()
    return credential


async def endpoint_changed(at: SourceAt) -> list[str] | None:
    """A partner's own client got a new token endpoint: validate it with a refresh right away,
    as new credentials are. Returns what the credentials provide (None: nothing to revalidate)."""
    credential = await CredentialRepository(at.session).for_source(at.source.account_id, at.source.id)
    if credential is None or credential.app == "managed":
        return None
    return list((await adopt(at, {})).provides)
