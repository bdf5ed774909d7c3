"""Settling a refresh's outcome (step 4 of ``lifecycle``): the values its compare-and-swap
stores and the effects once the swap held, by ``protocol.OAuthError.error_class``.

success -> ``valid`` (provider fields copied onto the source); ``reauth`` twice in a row, or a
spent/unknown in-flight refresh -> ``needs_reauth``; ``client`` -> a managed app is flagged, a
partner's own app makes its source ``invalid_client``; ``retriable`` -> ``backing_off`` with
exponential backoff, never before the provider's Retry-After; ``ambiguous`` -> ``backing_off``
with the in-flight mark kept, to be resolved. The statuses and effects are ``states``'s.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.catalog.providers import Provider
from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.kit.logging import get_logger, scrub
from lockstitch.kit.time import utcnow
from lockstitch.oauth import metrics, sealing, states
from lockstitch.oauth.protocol import OAuthError, TokenResponse
from lockstitch.oauth.repository import Claim, Settlement
from lockstitch.oauth.settle import Settler, apply_token_fields
from lockstitch.oauth.states import Outcome
from lockstitch.oauth.timing import backoff, refresh_due, resolve_after
from lockstitch.sources.repository import SourceRepository

log = get_logger("lockstitch.oauth")


class Outcomes:
    """Stores outcomes of this worker's refreshes; each call returns the refresh's result word
    (``refreshed``, an error class, ``unresolved``, or ``conflict`` when the swap failed)."""

    def __init__(self, ctx: Context, settler: Settler) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.oauth
        self.settler = settler

    async def success(
        self,
        claim: Claim,
        provider: Provider,
        source_type: SourceType | None,
        old_refresh_token: str,
        response: TokenResponse,
    ) -> str:
        credential = claim.credential
        now = utcnow()
        lifetime = response.expires_in or provider.spec.default_expires_in
        values: dict[str, Any] = {
            "access_token": sealing.seal(self.ctx.keyring, credential, "access_token", response.access_token),
            "access_token_expires_at": now + dt.timedelta(seconds=lifetime) if lifetime else None,
            "refresh_due_at": refresh_due(now, lifetime),
            "last_refreshed_at": now,
            "status": states.next_status(Outcome.REFRESHED, credential.status),
            "failures": 0,
            "last_error_class": None,
            "last_error_message": None,
            "updated_at": now,
        }
        if response.refresh_token and response.refresh_token != old_refresh_token:
            values["refresh_token"] = sealing.seal(
                self.ctx.keyring, credential, "refresh_token", response.refresh_token
            )
            values["generation"] = credential.generation + 1

        async def effects(session: AsyncSession, previous: str) -> None:
            source = None
            if provider.spec.token_fields:
                source = await SourceRepository(session).lock(credential.source_id)
                if source is not None:
                    apply_token_fields(
                        self.ctx.keyring, source_type, source, response.raw, provider.spec.token_fields, now
                    )
            await states.apply(
                session, credential, Outcome.REFRESHED, now=now, previous=previous, source=source, stored=True
            )

        settlement = Settlement(credential.id, credential.version, credential.generation, values, answer=True)
        if not await self.settler.settle(settlement, effects):
            metrics.REFRESHES.labels(outcome="conflict").inc()
            log.warning("refresh answer discarded: newer credentials arrived", credential_id=credential.id)
            return "conflict"
        metrics.REFRESHES.labels(outcome="success").inc()
        return "refreshed"

    async def failure(
        self, claim: Claim, error: OAuthError, secrets: Sequence[str | None], *, final: bool = False
    ) -> str:
        credential = claim.credential
        now = utcnow()
        message = scrub(error.summary, secrets)
        values: dict[str, Any] = {
            "failures": credential.failures + 1,
            "last_error_class": error.error_class,
            "last_error_message": message,
            "last_error_at": now,
            "updated_at": now,
        }
        keep_in_flight = False
        fingerprint = None
        if error.error_class == "reauth":
            if final or credential.last_error_class == "reauth":
                outcome = Outcome.REAUTH_CONFIRMED
            else:
                outcome = Outcome.REAUTH_FIRST
                confirm = self.settings.reauth_confirm_seconds
                values["refresh_due_at"] = now + dt.timedelta(seconds=random.uniform(confirm, 2 * confirm))  # noqa: S311
        elif error.error_class == "client" and credential.app == "managed":
            outcome = Outcome.CLIENT_MANAGED
            provider = self.ctx.providers.get(credential.provider)
            fingerprint = provider.managed_fingerprint if provider else None
            values["refresh_due_at"] = now + dt.timedelta(seconds=60)
        elif error.error_class == "client":
            outcome = Outcome.CLIENT_PARTNER
        elif error.error_class == "ambiguous":
            # The request left and no answer came: the token may be spent. The mark stays, and
            # the next claim finds out before sending anything (in_flight.resolve).
            outcome = Outcome.AMBIGUOUS
            keep_in_flight = True
            values["refresh_due_at"] = self._resolution_time(claim, now)
        else:
            outcome = Outcome.RETRIABLE
            values["refresh_due_at"] = now + dt.timedelta(
                seconds=backoff(credential.failures + 1, error.retry_after, self.settings.max_backoff_seconds)
            )
        values["status"] = states.next_status(outcome, credential.status)
        if outcome in states.DEAD_ENDS:
            values["refresh_due_at"] = None
        problem = states.Problem(error.code, message, fingerprint)

        async def effects(session: AsyncSession, previous: str) -> None:
            await states.apply(
                session, credential, outcome, now=now, previous=previous, problem=problem, stored=True
            )

        settlement = Settlement(
            credential.id, credential.version, credential.generation, values, keep_in_flight=keep_in_flight
        )
        if not await self.settler.settle(settlement, effects):
            metrics.REFRESHES.labels(outcome="conflict").inc()
            return "conflict"
        metrics.REFRESHES.labels(outcome=error.error_class).inc()
        log.info(
            "refresh failed",
            credential_id=credential.id,
            error_class=error.error_class,
            error=message,
            status=values["status"],
        )
        return error.error_class

    async def unresolved(self, claim: Claim, code: str, message: str) -> str:
        """Hand the credential back with its in-flight mark, to be resolved later."""
        stored = await self.settler.settle(self._unresolved(claim, code, message))
        return "unresolved" if stored else "conflict"

    def _unresolved(self, claim: Claim, code: str, message: str) -> Settlement:
        now = utcnow()
        credential = claim.credential
        values = {
            "status": states.next_status(Outcome.UNRESOLVED, credential.status),
            "refresh_due_at": self._resolution_time(claim, now),
            "last_error_class": "ambiguous",
            "last_error_message": f"{code}: {message}",
            "last_error_at": now,
            "updated_at": now,
        }
        return Settlement(
            credential.id, credential.version, credential.generation, values, keep_in_flight=True
        )

    async def release(self, claim: Claim) -> None:
        """Hand the credential back untouched: nothing was sent (an earlier mark stays)."""
        credential = claim.credential
        settlement = Settlement(
            credential.id,
            credential.version,
            credential.generation,
            {"updated_at": utcnow()},
            keep_in_flight=claim.resumed,
        )
        await self.settler.settle(settlement)

    def _resolution_time(self, claim: Claim, now: dt.datetime) -> dt.datetime:
        since = claim.credential.in_flight_since or now
        return max(
            now + dt.timedelta(seconds=1),
            since + dt.timedelta(seconds=resolve_after(self.settings.http_timeout_seconds)),
        )
