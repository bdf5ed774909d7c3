"""The token lifecycle (ARCHITECTURE.md section 4, "Token lifecycle").

Lockstitch is the only party that refreshes a source's tokens. One refresh of one credential:

    1. claim: take the credential's lease and mark the refresh in flight, in one short
       transaction that commits *before* the request leaves (a crash leaves the mark, so the
       credential never reads as healthy by mistake);
    2. if an earlier refresh of the same token never got its outcome stored, find out whether
       the token was spent before anything is sent (``in_flight``);
    3. send, only while the lease has the request's whole deadline and a margin left, with a
       hard deadline (``timing``);
    4. settle: store the outcome and release the lease (``settle``): the provider's answer
       whenever it arrives, as long as no newer refresh token is stored; a verdict only while
       the lease is still this worker's.

The guarantees, independent of how slow the CPU, the database or the provider is:

* a refresh token is never in flight from two places at once: a holder on this host that is
  still running is never overtaken (``kit.liveness``), one that died is taken over at once, and
  one elsewhere only after its lease lapsed, which its own request cannot outlast;
* whatever the provider answered is stored, late or not, unless newer credentials arrived;
* an outcome that stayed unknown is resolved without a blind resend (``in_flight``).

Outcomes, by ``protocol.OAuthError.error_class``: success -> ``valid``; ``reauth``
(invalid_grant...) twice in a row -> ``needs_reauth`` (the source is system-paused, one
``source.credentials_invalid`` event, a waiting connection check fails); ``client`` -> a managed
app is flagged (every credential using it waits for the operator), a partner's own app makes
its source ``invalid_client``; ``retriable`` -> ``backing_off`` with exponential backoff, never
before the provider's Retry-After; ``ambiguous`` -> the in-flight mark stays, to be resolved.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.catalog.providers import Client, Provider
from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.kit import liveness
from lockstitch.kit.deadline import within
from lockstitch.kit.failpoints import Failpoints
from lockstitch.kit.logging import get_logger, scrub
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth import in_flight, metrics, sealing, states, vending
from lockstitch.oauth.app_flags import AppFlagRepository
from lockstitch.oauth.protocol import OAuthError, TokenResponse, token_request
from lockstitch.oauth.repository import Claim, CredentialRepository, Holders, Settlement
from lockstitch.oauth.settle import Settler, apply_token_fields
from lockstitch.oauth.states import Outcome
from lockstitch.oauth.timing import backoff, refresh_due, resolve_after
from lockstitch.sources.repository import SourceRepository

log = get_logger("lockstitch.oauth")

# Refreshes being decided in this process, by (process id, credential id): later triggers join them.
_IN_FLIGHT: dict[tuple[str, int], asyncio.Future[None]] = {}
FLAGS_TTL = 5.0  # seconds a worker trusts its reading of the flagged managed apps
# Verdicts of the in-flight resolution that need a person at once (no confirming second try:
# that would be the resend the resolution avoided).
_FINAL = {
    "spent": ("refresh_token_spent", in_flight.SPENT),
    "unknown": ("refresh_outcome_unknown", in_flight.UNKNOWN),
}


class TokenEngine:
    def __init__(self, ctx: Context, worker_id: str) -> None:
        self.ctx = ctx
        self.worker_id = worker_id
        self.settings = ctx.settings.oauth
        self.failpoints = Failpoints(ctx.settings.crash_at)
        self.settler = Settler(ctx, worker_id)
        self._skip: list[str] = []
        self._flags_read_at: float | None = None

    # ----------------------------------------------------------------------------- triggers
    async def refresh_due(self) -> int:
        """Refresh every credential that is due, ``refresh_concurrency`` at a time, claiming more
        as slots free up. Returns how many were claimed."""
        limit = max(1, self.settings.refresh_concurrency)
        running: set[asyncio.Task[str]] = set()
        claimed = 0
        exhausted = False
        while True:
            free = limit - len(running)
            if not exhausted and free >= max(1, limit // 4):
                claims = await self._claim(free)
                exhausted = len(claims) < free
                claimed += len(claims)
                running.update(asyncio.create_task(self._refresh(c)) for c in claims)
            if not running:
                return claimed
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None:
                    log.error("refresh crashed", exc_info=task.exception())

    async def refresh_if_due(self, credential_id: int, *, within: float = 0.0) -> str:
        """Refresh one credential if it needs it within ``within`` seconds, or wait for whoever is
        refreshing it: concurrent triggers, in any process, cause at most one request.

        Triggers in this process join the refresh already running here (no database round trip);
        across processes the lease decides, and the others wait for it to be released.
        """
        key = (self.ctx.process_id, credential_id)
        running = _IN_FLIGHT.get(key)
        if running is not None:
            await asyncio.shield(running)
            return "joined"
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        _IN_FLIGHT[key] = done
        try:
            # A claim that took too long to become ours is handed back unsent ("deferred"): on a
            # busy machine that is a matter of speed, not of the credential, so a caller who wants
            # a token asks again, for as long as it would have waited for another holder.
            give_up = time.monotonic() + self.settings.lease_seconds
            while True:
                claims = await self._claim(1, credential_id=credential_id, within=within)
                if not claims:
                    await self._wait_for_lease(credential_id)
                    return "not_needed"
                outcome = await self._refresh(claims[0])
                if outcome != "deferred" or time.monotonic() > give_up:
                    return outcome
        finally:
            del _IN_FLIGHT[key]
            done.set_result(None)

    async def access_token(
        self, account_id: int, source_id: int, min_valid: float | None
    ) -> vending.VendedToken:
        return await vending.access_token(self, account_id, source_id, min_valid)

    async def tap_credentials(
        self, account_id: int, source_id: int, min_valid: float
    ) -> vending.TapCredentials:
        return await vending.tap_credentials(self, account_id, source_id, min_valid)

    async def confirm_rejected(self, account_id: int, source_id: int) -> str:
        return await vending.confirm_rejected(self, account_id, source_id)

    # ----------------------------------------------------------------------------- claims
    async def _claim(
        self, limit: int, *, credential_id: int | None = None, within: float = 0.0
    ) -> list[Claim]:
        """Due credentials (or the one named), leased to this worker. The lease's end is taken
        from the moment the write lock is ours, and the holder's own deadline from before the
        claim began, so a holder never believes its lease lasts longer than it does."""
        started = time.monotonic()
        async with self.ctx.db.unit_of_work() as session:
            await session.connection()  # BEGIN (IMMEDIATE on SQLite): from here the lock is ours
            now = utcnow()
            lease_until = now + dt.timedelta(seconds=self.settings.lease_seconds)
            repo = CredentialRepository(session)
            holders = Holders(*liveness.sort_owners(await repo.lease_owners()))
            if credential_id is not None:
                due_before = now + dt.timedelta(seconds=within)
                one = await repo.claim_one(
                    credential_id, self.worker_id, now, lease_until, due_before, holders
                )
                claims = [one] if one is not None else []
            else:
                if self._flags_read_at is None or time.monotonic() - self._flags_read_at > FLAGS_TTL:
                    # Flags change when a provider rejects an app: rare, so read them now and then.
                    self._skip = states.flagged_managed(
                        self.ctx.providers, await AppFlagRepository(session).flagged()
                    )
                    self._flags_read_at = time.monotonic()
                claims = await repo.claim_due(self.worker_id, now, lease_until, limit, self._skip, holders)
        for claim in claims:
            due = claim.credential.refresh_due_at
            if due is not None and credential_id is None:
                metrics.REFRESH_LAG.observe(max(0.0, (now - due).total_seconds()))
        deadline = started + self.settings.lease_seconds
        return [dataclasses.replace(c, deadline=deadline) for c in claims]

    # ----------------------------------------------------------------------------- one refresh
    async def _refresh(self, claim: Claim) -> str:
        try:
            return await self._refresh_claimed(claim)
        except Exception:
            # A bug, not a provider's answer: hand the credential back with its mark (whether a
            # request left is unknown), or a live holder here would keep it until it exits.
            await self.settler.settle(self._unresolved(claim, "internal_error", "the refresh failed"))
            raise

    async def _refresh_claimed(self, claim: Claim) -> str:
        credential = claim.credential
        provider = self.ctx.providers.get(credential.provider)
        source_type = self.ctx.catalog.source_type(claim.source_type)
        try:
            client, refresh_token = self.client_and_token(claim, provider)
            assert provider is not None
            form = self._refresh_form(claim, provider, source_type, refresh_token)
            token_url, trusted = token_endpoint(claim, provider, source_type)
        except OAuthError as exc:
            return await self._settle_failure(claim, exc, [])
        secrets = [refresh_token, client.client_secret, client.client_id]
        timeout = self.settings.http_timeout_seconds
        if claim.resumed:
            assert credential.in_flight_since is not None
            verdict = await in_flight.resolve(
                self.ctx.http,
                provider.spec,
                client,
                refresh_token,
                in_flight_since=credential.in_flight_since,
                now=utcnow(),
                timeout=timeout,
                operator_endpoint=trusted,
            )
            if verdict == "later":
                return await self._settle_unresolved(
                    claim, "outcome_pending", "finding out whether it was used"
                )
            if verdict in _FINAL:
                code, message = _FINAL[verdict]
                return await self._settle_failure(
                    claim, OAuthError("reauth", code, message), secrets, final=True
                )
        if time.monotonic() > claim.deadline - timeout - self.settings.send_margin:
            # The claim took too long to become ours: a request now could outlive the lease.
            await self.settler.settle(self._released(claim))
            return "deferred"
        self.failpoints.hit("before_request")
        try:
            # The whole request, counting only time this process could wait (kit.deadline): an
            # answer that arrived while the process stood still is read, not thrown away.
            response = await within(
                token_request(self.ctx.http, token_url, client, form, timeout=None, trusted=trusted), timeout
            )
        except TimeoutError:
            self.failpoints.hit("after_response")
            return await self._settle_failure(
                claim, OAuthError("ambiguous", "no_response", "deadline"), secrets
            )
        except OAuthError as exc:
            self.failpoints.hit("after_response")
            return await self._settle_failure(claim, exc, secrets)
        self.failpoints.hit("after_response")
        outcome = await self._settle_success(claim, provider, source_type, refresh_token, response)
        self.failpoints.hit("after_commit")
        return outcome

    def client_and_token(self, claim: Claim, provider: Provider | None) -> tuple[Client, str]:
        credential = claim.credential
        if provider is None:
            raise OAuthError("client", "unknown_provider", f"no OAuth provider {credential.provider!r}")
        if credential.app == "managed":
            if provider.managed is None:
                raise OAuthError(
                    "client", "unconfigured", f"no managed app is configured for {provider.name}"
                )
            client = provider.managed
        else:
            client = provider.client(
                sealing.unseal(self.ctx.keyring, credential, "client_id"),
                sealing.unseal(self.ctx.keyring, credential, "client_secret"),
                _source_choice(claim, self.ctx.catalog.source_type(claim.source_type)),
            )
        return client, sealing.unseal(self.ctx.keyring, credential, "refresh_token")

    def _refresh_form(
        self, claim: Claim, provider: Provider, source_type: SourceType | None, refresh_token: str
    ) -> dict[str, str]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **provider.spec.refresh_params}
        oauth = source_type.definition.oauth if source_type else None
        if oauth is not None and oauth.redirect_uri:
            # Providers such as HubSpot want the redirect URI the grant was made with.
            if claim.credential.app == "managed":
                form["redirect_uri"] = self.ctx.settings.oauth_callback_url
            elif oauth.redirect_uri in claim.source_credentials:
                form["redirect_uri"] = sealing.unseal_source_credential(
                    self.ctx.keyring, claim.credential, oauth.redirect_uri, claim.source_credentials
                )
        return form

    # ----------------------------------------------------------------------------- outcomes
    async def _settle_success(
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

    async def _settle_failure(
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

    async def _settle_unresolved(self, claim: Claim, code: str, message: str) -> str:
        stored = await self.settler.settle(self._unresolved(claim, code, message))
        return "unresolved" if stored else "conflict"

    def _unresolved(self, claim: Claim, code: str, message: str) -> Settlement:
        """Hand the credential back with its in-flight mark, to be resolved later."""
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

    def _released(self, claim: Claim) -> Settlement:
        """Hand the credential back untouched: nothing was sent (an earlier mark stays)."""
        credential = claim.credential
        return Settlement(
            credential.id,
            credential.version,
            credential.generation,
            {"updated_at": utcnow()},
            keep_in_flight=claim.resumed,
        )

    def _resolution_time(self, claim: Claim, now: dt.datetime) -> dt.datetime:
        since = claim.credential.in_flight_since or now
        return max(
            now + dt.timedelta(seconds=1),
            since + dt.timedelta(seconds=resolve_after(self.settings.http_timeout_seconds)),
        )

    # ----------------------------------------------------------------------------- helpers
    def visible_status(self, credential: OAuthCredential, flagged: dict[str, str]) -> str:
        return states.visible_status(self.ctx.providers, credential, flagged)

    async def _wait_for_lease(self, credential_id: int) -> None:
        """Wait (bounded by the lease) until nobody holds the credential's lease, polling less
        often the longer it takes (a refresh usually takes a fraction of a second)."""
        deadline = time.monotonic() + self.settings.lease_seconds + 1
        pause = 0.02
        while time.monotonic() < deadline:
            async with self.ctx.db.read() as session:
                state = await CredentialRepository(session).lease_state(credential_id)
            if state is None or state[0] is None or (state[1] is not None and state[1] <= utcnow()):
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)


def token_endpoint(claim: Claim, provider: Provider, source_type: SourceType | None) -> tuple[str, bool]:
    """Where a refresh goes, and whether the operator said so (trusted) or a partner did.

    The managed app's credentials go only to the provider's endpoint (packaged, or the
    operator's override): a partner's ``token_url`` property never receives them. A partner's
    own client may name its token endpoint on the source (``token_url_property``); that URL is
    partner input, so the outbound policy decides whether Lockstitch may reach it.
    """
    oauth = source_type.definition.oauth if source_type else None
    if claim.credential.app != "managed" and oauth is not None and oauth.token_url_property:
        url = claim.source_properties.get(oauth.token_url_property)
        if isinstance(url, str) and url:
            return url, False
    return provider.spec.token_url, True


def _source_choice(claim: Claim, source_type: SourceType | None) -> str | None:
    """The client authentication a partner chose on the source, when its type lets them."""
    oauth = source_type.definition.oauth if source_type else None
    if oauth is None or not oauth.client_auth_property:
        return None
    value = claim.source_properties.get(oauth.client_auth_property)
    return value if value in ("basic", "body") else None
