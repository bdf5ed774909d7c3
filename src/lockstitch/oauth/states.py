"""The one state machine of OAuth credentials: their statuses, which outcome moves which status
to which (``TRANSITIONS``), and the one function that applies an outcome (``apply``).

::

    new / any --handshake_completed--> valid
    new / any --credentials_replaced--> pending    (--credentials_incomplete--> incomplete)
    pending | valid | backing_off:
        --refreshed--> valid                    (an answer: from any status, see below)
        --reauth_first | retriable | ambiguous--> backing_off
        --reauth_confirmed--> needs_reauth      (source system-paused, event, check failed)
        --client_partner--> invalid_client      (the same)
        --client_managed--> unchanged           (the managed app is flagged for the operator)
        --unresolved--> backing_off from valid, else unchanged (the in-flight mark stays)

A provider's answer (``refreshed``) is stored from any status as long as no newer refresh token
arrived (``repository.Settlement``): credentials declared dead meanwhile work again. Credentials
that work again after being ``pending`` or dead unpause a source paused for its credentials, and
say so once; so does a completed handshake, whatever came before.

The refresher stores the status with its compare-and-swap (``outcomes``: ``next_status`` of
this table) and calls ``apply`` with ``stored=True`` for the effects once the swap held; the
handshake and ``ownership`` call ``apply`` on the credential they loaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.catalog.providers import Providers
from lockstitch.jobs import leases
from lockstitch.jobs.checks_repository import CheckRepository
from lockstitch.kit.logging import get_logger
from lockstitch.models import OAuthCredential, Source
from lockstitch.oauth.app_flags import AppFlagRepository
from lockstitch.sources.events import EventRepository
from lockstitch.sources.repository import SourceRepository

log = get_logger("lockstitch.oauth")


class CredentialStatus(StrEnum):
    PENDING = "pending"  # partner credentials, waiting for the first refresh that validates them
    INCOMPLETE = "incomplete"  # partner credentials with a role missing (no refresh token...)
    VALID = "valid"
    BACKING_OFF = "backing_off"  # a refresh failed; the next waits (backoff, Retry-After)
    NEEDS_REAUTH = "needs_reauth"  # the grant is gone: a person must authorize again
    INVALID_CLIENT = "invalid_client"  # the provider rejected the partner's own client
    # Shown, never stored: a refresh is running or was interrupted (the stored token may be spent).
    REFRESHING = "refreshing"


S = CredentialStatus
STORED = tuple(status for status in S if status is not S.REFRESHING)
# Credentials the refresher looks after; the dead ones wait for a person.
REFRESHABLE = (S.VALID, S.BACKING_OFF, S.PENDING)
DEAD = (S.NEEDS_REAUTH, S.INVALID_CLIENT)
# Statuses that answer a request for a token with the status instead of a token.
UNAVAILABLE = (S.NEEDS_REAUTH, S.INVALID_CLIENT, S.INCOMPLETE)


class Outcome(StrEnum):
    REFRESHED = "refreshed"  # the provider answered with tokens
    REAUTH_FIRST = "reauth_first"  # invalid_grant...: confirmed by a second try before giving up
    REAUTH_CONFIRMED = "reauth_confirmed"  # twice, or a spent/unknown in-flight refresh
    CLIENT_MANAGED = "client_managed"  # the operator's app was rejected
    CLIENT_PARTNER = "client_partner"  # the partner's own client was rejected
    RETRIABLE = "retriable"  # 5xx, 429, a connection refused
    AMBIGUOUS = "ambiguous"  # the request left and no answer came: the token may be spent
    UNRESOLVED = "unresolved"  # handed back with the in-flight mark, to be found out later
    HANDSHAKE_COMPLETED = "handshake_completed"
    CREDENTIALS_REPLACED = "credentials_replaced"  # a partner sent complete credentials
    CREDENTIALS_INCOMPLETE = "credentials_incomplete"  # ... or some of them


# A new life begins (new refresh token, counters reset, lease and in-flight mark dropped).
NEW_LIFE = (Outcome.HANDSHAKE_COMPLETED, Outcome.CREDENTIALS_REPLACED, Outcome.CREDENTIALS_INCOMPLETE)
# Outcomes that need a person: the source is system-paused and told so.
DEAD_ENDS = {Outcome.REAUTH_CONFIRMED: S.NEEDS_REAUTH, Outcome.CLIENT_PARTNER: S.INVALID_CLIENT}

_ANY: tuple[CredentialStatus | None, ...] = (None, *STORED)  # None: no credential yet


def _all(
    to: CredentialStatus, sources: tuple[CredentialStatus | None, ...] = REFRESHABLE
) -> dict[CredentialStatus | None, CredentialStatus]:
    return dict.fromkeys(sources, to)


TRANSITIONS: dict[Outcome, dict[CredentialStatus | None, CredentialStatus]] = {
    Outcome.REFRESHED: _all(S.VALID, STORED),
    Outcome.REAUTH_FIRST: _all(S.BACKING_OFF),
    Outcome.REAUTH_CONFIRMED: _all(S.NEEDS_REAUTH),
    Outcome.CLIENT_MANAGED: {status: status for status in REFRESHABLE},
    Outcome.CLIENT_PARTNER: _all(S.INVALID_CLIENT),
    Outcome.RETRIABLE: _all(S.BACKING_OFF),
    Outcome.AMBIGUOUS: _all(S.BACKING_OFF),
    Outcome.UNRESOLVED: {S.VALID: S.BACKING_OFF, S.BACKING_OFF: S.BACKING_OFF, S.PENDING: S.PENDING},
    Outcome.HANDSHAKE_COMPLETED: _all(S.VALID, _ANY),
    Outcome.CREDENTIALS_REPLACED: _all(S.PENDING, _ANY),
    Outcome.CREDENTIALS_INCOMPLETE: _all(S.INCOMPLETE, _ANY),
}


class TransitionError(ValueError):
    """An outcome the table has no move for from this status (a bug: claims take refreshable
    credentials only)."""


def next_status(outcome: Outcome, status: str | None) -> CredentialStatus:
    """Where ``outcome`` moves a credential in ``status`` (None: a credential not yet stored)."""
    moves = TRANSITIONS[outcome]
    current = None if status is None else S(status)
    if current not in moves:
        raise TransitionError(f"{outcome} has no transition from {status}")
    return moves[current]


@dataclass(frozen=True)
class Problem:
    """Why a refresh failed, for the source's event and check (never a secret). ``fingerprint``:
    the managed client the provider rejected (the flag names it)."""

    code: str
    message: str
    fingerprint: str | None = None


async def apply(
    session: AsyncSession,
    credential: OAuthCredential,
    outcome: Outcome,
    *,
    now: dt.datetime,
    previous: str | None = None,
    problem: Problem | None = None,
    source: Source | None = None,
    stored: bool = False,
) -> None:
    """Apply ``outcome`` to ``credential`` and carry out its effects on the source.

    ``previous``: the status just before (default: the credential's own). Unless ``stored`` (the
    refresher wrote the status with its compare-and-swap), the new status is written on the
    credential, with the reset a new life brings. ``source``: the credential's source when the
    caller holds it locked already (else it is locked here when an effect needs it).
    """
    before = credential.status if previous is None and not stored else previous
    if not stored:
        credential.status = next_status(outcome, before)
        if outcome in NEW_LIFE:
            # Whatever the old credentials were doing no longer applies: a refresh still in
            # flight with them fails its compare-and-swap on the version and the generation.
            credential.version = (credential.version or 0) + 1
            credential.generation = (credential.generation or 0) + 1
            credential.failures = 0
            credential.last_error_class = credential.last_error_message = None
            credential.in_flight_since = None
            leases.release_loaded(leases.OAUTH_CREDENTIALS, credential)
    if outcome is Outcome.HANDSHAKE_COMPLETED:
        await _unpause(session, credential, source, "source.reauthorized", now)
    elif outcome is Outcome.REFRESHED and (before == S.PENDING or before in DEAD):
        kind = "source.reauthorized" if before == S.PENDING else "source.credentials_recovered"
        await _unpause(session, credential, source, kind, now)
    elif outcome in DEAD_ENDS:
        assert problem is not None
        await _report_dead(session, credential, source, DEAD_ENDS[outcome], problem, now)
    elif outcome is Outcome.CLIENT_MANAGED and problem is not None and problem.fingerprint:
        await AppFlagRepository(session).flag(credential.provider, problem.fingerprint, problem.message, now)
        log.error(
            "managed OAuth app rejected by provider", provider=credential.provider, error=problem.message
        )


async def _locked(session: AsyncSession, credential: OAuthCredential, source: Source | None) -> Source | None:
    return source if source is not None else await SourceRepository(session).lock(credential.source_id)


async def _unpause(
    session: AsyncSession, credential: OAuthCredential, source: Source | None, kind: str, now: dt.datetime
) -> None:
    """Credentials that work again: unpause the source if it was paused for its credentials,
    and say so once."""
    source = await _locked(session, credential, source)
    if source is None or source.system_pause_reason != "credentials":
        return
    source.system_paused_at = None
    source.system_pause_reason = None
    source.updated_at = now
    EventRepository(session).add(source.account_id, source.id, kind, {"source_id": source.id}, now)


async def _report_dead(
    session: AsyncSession,
    credential: OAuthCredential,
    source: Source | None,
    status: CredentialStatus,
    problem: Problem,
    now: dt.datetime,
) -> None:
    """Credentials that need a person: system-pause the source, say so once, fail its waiting
    connection check with the reason."""
    source = await _locked(session, credential, source)
    if source is None:
        return
    if source.system_paused_at is None:
        source.system_paused_at = now
        source.system_pause_reason = "credentials"
        source.updated_at = now
    EventRepository(session).add(
        source.account_id,
        source.id,
        "source.credentials_invalid",
        {"source_id": source.id, "status": str(status), "error": problem.code, "message": problem.message},
        now,
    )
    await CheckRepository(session).fail_pending_check(
        source, f"OAuth token refresh failed ({status}): {problem.message}", now
    )


def flagged_managed(providers: Providers, flagged: dict[str, str]) -> list[str]:
    """Providers whose managed app is flagged *for the credentials configured now*: a flag
    raised for an older client secret no longer holds once the operator changed it."""
    skip = []
    for provider_name, fingerprint in flagged.items():
        provider = providers.get(provider_name)
        if provider is not None and provider.managed_fingerprint == fingerprint:
            skip.append(provider_name)
    return skip


def visible_status(providers: Providers, credential: OAuthCredential, flagged: dict[str, str]) -> str:
    """The status a person should see: an interrupted or running refresh is not "valid" (the
    stored refresh token may be spent), and a flagged managed app is invalid_client."""
    if credential.app == "managed" and credential.provider in flagged_managed(providers, flagged):
        return S.INVALID_CLIENT
    if credential.in_flight_since is not None and credential.status in REFRESHABLE:
        return S.REFRESHING
    return credential.status
