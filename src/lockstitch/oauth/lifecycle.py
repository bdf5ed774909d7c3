"""The token lifecycle (ARCHITECTURE.md section 4, "Token lifecycle").

Lockstitch is the only party that refreshes a source's tokens. One refresh of one credential:

    1. claim: take the credential's lease and record the refresh as in flight, in one short
       transaction that commits *before* the request leaves (other workers skip it; a crash
       leaves the in-flight mark, so the credential never reads as healthy by mistake);
    2. send the refresh request (no transaction open, no lock held);
    3. settle: store the outcome and release the lease in one short transaction, with a
       compare-and-swap on ``version`` (a worker that lost its lease cannot overwrite newer
       tokens). A response without a refresh token keeps the old one. Outcomes that arrive
       together share the transaction; each refresh waits for the commit holding its own.

Outcomes, by ``protocol.OAuthError.error_class``:
* success: ``valid``, next refresh before expiry (``refresh_due_at``);
* ``reauth`` (invalid_grant...): a second consecutive one makes it ``needs_reauth``: the source
  is system-paused, ``source.credentials_invalid`` is emitted once, a waiting connection check
  fails with the provider's reason. (One confirmation attempt, ``reauth_confirm_seconds`` later,
  because some providers answer invalid_grant for passing trouble.)
* ``client`` (invalid_client...): a managed app is flagged, and every credential using it waits
  for the operator instead of failing one by one; a partner's own app makes its source
  ``invalid_client`` (system-paused, one event).
* ``retriable`` / ``ambiguous``: ``backing_off``, exponential backoff with jitter, never before
  the provider's Retry-After.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.kit.crypto import Keyring
from lockstitch.kit.failpoints import Failpoints
from lockstitch.kit.logging import get_logger, scrub
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential, Source
from lockstitch.oauth import metrics, sealing
from lockstitch.oauth.protocol import Client, OAuthError, TokenResponse, token_request
from lockstitch.oauth.providers import Provider
from lockstitch.oauth.repository import Claim, CredentialRepository, add_event
from lockstitch.sources import credentials as source_credentials

log = get_logger("lockstitch.oauth")

NO_EXPIRY_CHECK = dt.timedelta(days=1)  # tokens without expiry are still exercised daily


def refresh_due(now: dt.datetime, lifetime: float | None) -> dt.datetime:
    """When to refresh a token received ``now`` that lives ``lifetime`` seconds.

    Ahead of expiry by max(5 min, 10% of the lifetime), but never later than half-way, so short
    tokens (seconds, in tests) are refreshed at half-life rather than at once; minus up to 10%
    of that margin at random, so tokens issued together do not all come due together.
    """
    if lifetime is None:
        return now + NO_EXPIRY_CHECK - dt.timedelta(seconds=random.uniform(0, 3600))  # noqa: S311
    margin = min(max(300.0, 0.1 * lifetime), 0.5 * lifetime)
    margin += random.uniform(0, 0.1 * margin)  # noqa: S311 - jitter, not security
    return now + dt.timedelta(seconds=max(0.0, lifetime - margin))


def backoff(failures: int, retry_after: float | None, longest: float = 900.0) -> float:
    """Seconds to wait after ``failures`` consecutive failures: exponential with jitter
    (1, 2, 4... up to ``longest``), and never less than the provider's Retry-After."""
    ceiling = min(longest, 2.0 ** min(failures, 12))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311
    return max(delay, retry_after or 0.0)


# Refreshes being decided in this process, by (process id, credential id): later triggers join them.
_IN_FLIGHT: dict[tuple[str, int], asyncio.Future[None]] = {}


Effects = Callable[[AsyncSession], Awaitable[None]]
SETTLE_BATCH = 100
FLAGS_TTL = 5.0  # seconds a worker trusts its reading of the flagged managed apps
FORCE_WINDOW = 10 * 365 * 86400.0  # "due within ten years": refresh now, whatever the expiry


class CredentialsUnavailable(Exception):  # noqa: N818 - a state, raised to the endpoint
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class VendedToken:
    access_token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class TapCredentials:
    """What a tap run gets of a source's OAuth credentials: values under the type's property
    names (client id and secret, refresh token) plus ``access_token`` valid for the run, and the
    list of every secret in play (to scrub the tap's messages)."""

    values: dict[str, str]
    expires_at: dt.datetime

    @property
    def secrets(self) -> list[str]:
        return list(self.values.values())


class TokenEngine:
    def __init__(self, ctx: Context, worker_id: str) -> None:
        self.ctx = ctx
        self.worker_id = worker_id
        self.settings = ctx.settings.oauth
        self.failpoints = Failpoints(ctx.settings.crash_at)
        self._to_settle: list[
            tuple[OAuthCredential, dict[str, Any], Effects | None, asyncio.Future[bool]]
        ] = []
        self._settling: asyncio.Task[None] | None = None
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
                claims = await self._claim_batch(free)
                exhausted = len(claims) < free
                claimed += len(claims)
                running.update(asyncio.create_task(self._refresh(c)) for c in claims)
            if not running:
                return claimed
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None:
                    # The credential keeps its lease and in-flight mark: it reads "refreshing" and
                    # is taken up again when the lease lapses.
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
            now = utcnow()
            async with self.ctx.db.unit_of_work() as session:
                claim = await CredentialRepository(session).claim_one(
                    credential_id,
                    self.worker_id,
                    now,
                    self._lease_until(now),
                    now + dt.timedelta(seconds=within),
                )
            if claim is not None:
                return await self._refresh(claim)
            await self._wait_for_lease(credential_id)
            return "not_needed"
        finally:
            del _IN_FLIGHT[key]
            done.set_result(None)

    async def access_token(self, account_id: int, source_id: int, min_valid: float | None) -> VendedToken:
        """An access token of the source valid for at least ``min_valid`` seconds (default: a
        minute, or half the token's lifetime when shorter). Never hands out an expired token."""
        for _ in range(3):
            async with self.ctx.db.read() as session:
                credential = await CredentialRepository(session).for_source(account_id, source_id)
                flagged = await CredentialRepository(session).flagged_apps()
            if credential is None:
                raise CredentialsUnavailable("none", "this source has no OAuth credentials")
            status = self.visible_status(credential, flagged)
            if status in ("needs_reauth", "invalid_client", "incomplete"):
                raise CredentialsUnavailable(status, f"the source's credentials are {status}")
            wanted = self._min_valid(credential, min_valid)
            now = utcnow()
            expires = credential.access_token_expires_at
            if credential.access_token and (expires is None or (expires - now).total_seconds() > wanted):
                token = sealing.unseal(self.ctx.keyring, credential, "access_token")
                return VendedToken(token, expires or now + NO_EXPIRY_CHECK)
            await self.refresh_if_due(credential.id, within=wanted)
        raise CredentialsUnavailable(status, "no fresh access token could be obtained; try again later")

    async def tap_credentials(self, account_id: int, source_id: int, min_valid: float) -> TapCredentials:
        """Credentials for a tap run of ``min_valid`` seconds: a fresh access token (refreshed
        first if it would expire during the run, as far as the provider's token lifetime
        allows; longer runs get tokens through ``runner.token_relay``) and the client and
        refresh token under the type's property names, for taps that take them."""
        vended = await self.access_token(account_id, source_id, min_valid)
        async with self.ctx.db.read() as session:
            credential = await CredentialRepository(session).for_source(account_id, source_id)
            source = await session.get(Source, source_id)
        if credential is None or source is None:
            raise CredentialsUnavailable("none", "this source has no OAuth credentials")
        source_type = self.ctx.catalog.source_type(source.type)
        oauth = source_type.definition.oauth if source_type else None
        values = {"access_token": vended.access_token}
        provider = self.ctx.providers.get(credential.provider)
        if oauth is not None and provider is not None:
            claim = Claim(credential, source.type, source.properties, source.credentials)
            try:
                client, refresh_token = self._client_and_token(claim, provider)
            except OAuthError as exc:
                raise CredentialsUnavailable("incomplete", exc.summary) from None
            values[oauth.client_id] = client.client_id
            values[oauth.client_secret] = client.client_secret
            values[oauth.refresh_token] = refresh_token
        return TapCredentials(values, vended.expires_at)

    async def confirm_rejected(self, account_id: int, source_id: int) -> str:
        """A tap was refused with the access token Lockstitch handed it: ask the provider
        whether the grant still stands by refreshing now. A grant revoked at the provider
        ends as ``needs_reauth`` (after the usual second strike); returns the status then."""
        async with self.ctx.db.read() as session:
            credential = await CredentialRepository(session).for_source(account_id, source_id)
        if credential is None:
            return "none"
        deadline = (
            time.monotonic()
            + 2 * self.settings.reauth_confirm_seconds
            + 2 * self.settings.http_timeout_seconds
        )
        while True:
            outcome = await self.refresh_if_due(credential.id, within=FORCE_WINDOW)
            async with self.ctx.db.read() as session:
                current = await CredentialRepository(session).get(credential.id)
                flagged = await CredentialRepository(session).flagged_apps()
            assert current is not None
            status = self.visible_status(current, flagged)
            if outcome != "reauth" or status == "needs_reauth" or time.monotonic() > deadline:
                return status
            # First strike: the rule wants a second refusal after a pause before giving up.
            wait = (current.refresh_due_at - utcnow()).total_seconds() if current.refresh_due_at else 0.0
            await asyncio.sleep(max(0.0, wait) + 0.05)

    # ----------------------------------------------------------------------------- one refresh
    async def _claim_batch(self, limit: int) -> list[Claim]:
        now = utcnow()
        async with self.ctx.db.unit_of_work() as session:
            repo = CredentialRepository(session)
            if self._flags_read_at is None or time.monotonic() - self._flags_read_at > FLAGS_TTL:
                # Flags change when a provider rejects an app: rare, so read them now and then.
                self._skip = self._flagged_managed(await repo.flagged_apps())
                self._flags_read_at = time.monotonic()
            claims = await repo.claim_due(self.worker_id, now, self._lease_until(now), limit, self._skip)
        for claim in claims:
            due = claim.credential.refresh_due_at
            if due is not None:
                metrics.REFRESH_LAG.observe(max(0.0, (now - due).total_seconds()))
        return claims

    async def _refresh(self, claim: Claim) -> str:
        credential = claim.credential
        provider = self.ctx.providers.get(credential.provider)
        source_type = self.ctx.catalog.source_type(claim.source_type)
        try:
            client, refresh_token = self._client_and_token(claim, provider)
            assert provider is not None
            form = self._refresh_form(claim, provider, source_type, refresh_token)
            token_url, trusted = token_endpoint(claim, provider, source_type)
        except OAuthError as exc:
            return await self._settle_failure(claim, exc, [])
        self.failpoints.hit("before_request")
        try:
            response = await token_request(
                self.ctx.http,
                token_url,
                client,
                form,
                timeout=self.settings.http_timeout_seconds,
                trusted=trusted,
            )
        except OAuthError as exc:
            self.failpoints.hit("after_response")
            return await self._settle_failure(
                claim, exc, [refresh_token, client.client_secret, client.client_id]
            )
        self.failpoints.hit("after_response")
        outcome = await self._settle_success(claim, provider, source_type, refresh_token, response)
        self.failpoints.hit("after_commit")
        return outcome

    def _client_and_token(self, claim: Claim, provider: Provider | None) -> tuple[Client, str]:
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
            "status": "valid",
            "failures": 0,
            "last_error_class": None,
            "last_error_message": None,
            "version": credential.version + 1,
            "updated_at": now,
        }
        if response.refresh_token and response.refresh_token != old_refresh_token:
            values["refresh_token"] = sealing.seal(
                self.ctx.keyring, credential, "refresh_token", response.refresh_token
            )
        effects = None
        if provider.spec.token_fields or credential.status == "pending":

            async def effects(session: AsyncSession) -> None:
                source = await session.get(Source, credential.source_id, with_for_update=True)
                if source is None:
                    return
                apply_token_fields(
                    self.ctx.keyring, source_type, source, response.raw, provider.spec.token_fields, now
                )
                if credential.status == "pending" and source.system_pause_reason == "credentials":
                    source.system_paused_at = None
                    source.system_pause_reason = None
                    source.updated_at = now
                    await add_event(
                        session,
                        source.account_id,
                        source.id,
                        "source.reauthorized",
                        {"source_id": source.id},
                        now,
                    )

        if not await self._settle(credential, values, effects):
            metrics.REFRESHES.labels(outcome="conflict").inc()
            log.warning("refresh result discarded: lease lost", credential_id=credential.id)
            return "conflict"
        metrics.REFRESHES.labels(outcome="success").inc()
        return "refreshed"

    async def _settle_failure(self, claim: Claim, error: OAuthError, secrets: list[str | None]) -> str:
        credential = claim.credential
        now = utcnow()
        message = scrub(error.summary, secrets)
        values: dict[str, Any] = {
            "failures": credential.failures + 1,
            "last_error_class": error.error_class,
            "last_error_message": message,
            "last_error_at": now,
            "updated_at": now,
            "version": credential.version + 1,
        }
        dead_status: str | None = None
        if error.error_class == "reauth":
            if credential.last_error_class == "reauth":
                dead_status = "needs_reauth"
            else:
                values["status"] = "backing_off"
                confirm = self.settings.reauth_confirm_seconds
                values["refresh_due_at"] = now + dt.timedelta(seconds=random.uniform(confirm, 2 * confirm))  # noqa: S311
        elif error.error_class == "client" and credential.app == "managed":
            values["refresh_due_at"] = now + dt.timedelta(seconds=60)
        elif error.error_class == "client":
            dead_status = "invalid_client"
        else:
            values["status"] = "backing_off"
            values["refresh_due_at"] = now + dt.timedelta(
                seconds=backoff(credential.failures + 1, error.retry_after, self.settings.max_backoff_seconds)
            )
        if dead_status is not None:
            values["status"] = dead_status
            values["refresh_due_at"] = None

        async def effects(session: AsyncSession) -> None:
            repo = CredentialRepository(session)
            if error.error_class == "client" and credential.app == "managed":
                provider = self.ctx.providers.get(credential.provider)
                fingerprint = provider.managed_fingerprint if provider else None
                if fingerprint:
                    await repo.flag_app(credential.provider, fingerprint, message, now)
                    log.error(
                        "managed OAuth app rejected by provider", provider=credential.provider, error=message
                    )
            if dead_status is not None:
                await self._report_dead(session, repo, credential, dead_status, error.code, message, now)

        if not await self._settle(credential, values, effects):
            metrics.REFRESHES.labels(outcome="conflict").inc()
            return "conflict"
        metrics.REFRESHES.labels(outcome=error.error_class).inc()
        log.info(
            "refresh failed",
            credential_id=credential.id,
            error_class=error.error_class,
            error=message,
            status=values.get("status", credential.status),
        )
        return error.error_class

    async def _settle(
        self, credential: OAuthCredential, values: dict[str, Any], effects: Effects | None
    ) -> bool:
        """Store one outcome (compare-and-swap, lease released) with its side effects.

        Outcomes arriving together share one transaction: under load a worker settles dozens of
        refreshes per commit instead of one. Each waits for the commit that holds its outcome,
        so nothing reads as done before it is stored.
        """
        settled: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._to_settle.append((credential, values, effects, settled))
        if self._settling is None or self._settling.done():
            self._settling = asyncio.create_task(self._settle_batches())
        return await settled

    async def _settle_batches(self) -> None:
        while self._to_settle:
            await asyncio.sleep(0)  # let outcomes that are ready join this batch
            batch, self._to_settle = self._to_settle[:SETTLE_BATCH], self._to_settle[SETTLE_BATCH:]
            try:
                async with self.ctx.db.unit_of_work() as session:
                    results = await self._store(CredentialRepository(session), batch)
                    for stored, (_, _, effects, _) in zip(results, batch, strict=True):
                        if stored and effects is not None:
                            await effects(session)
            except Exception as exc:  # noqa: BLE001 - every waiter learns the batch failed
                for *_, settled in batch:
                    if not settled.done():
                        settled.set_exception(exc)
                continue
            for stored, (*_, settled) in zip(results, batch, strict=True):
                if not settled.done():
                    settled.set_result(stored)

    async def _store(
        self, repo: CredentialRepository, batch: list[tuple[OAuthCredential, dict[str, Any], Any, Any]]
    ) -> list[bool]:
        rows = [(credential.id, credential.version, values) for credential, values, _, _ in batch]
        stored = await repo.settle_many(rows, self.worker_id)
        return [credential.id in stored for credential, *_ in batch]

    async def _report_dead(
        self,
        session: AsyncSession,
        repo: CredentialRepository,
        credential: OAuthCredential,
        status: str,
        code: str,
        message: str,
        now: dt.datetime,
    ) -> None:
        source = await session.get(Source, credential.source_id, with_for_update=True)
        if source is None:
            return
        if source.system_paused_at is None:
            source.system_paused_at = now
            source.system_pause_reason = "credentials"
            source.updated_at = now
        await add_event(
            session,
            source.account_id,
            source.id,
            "source.credentials_invalid",
            {"source_id": source.id, "status": status, "error": code, "message": message},
            now,
        )
        await repo.fail_pending_check(source, f"OAuth token refresh failed ({status}): {message}", now)

    # ----------------------------------------------------------------------------- helpers
    def _lease_until(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self.settings.lease_seconds)

    def _flagged_managed(self, flagged: dict[str, str]) -> list[str]:
        """Providers whose managed app is flagged *for the credentials configured now*: a flag
        raised for an older client secret no longer holds once the operator changed it."""
        skip = []
        for provider_name, fingerprint in flagged.items():
            provider = self.ctx.providers.get(provider_name)
            if provider is not None and provider.managed_fingerprint == fingerprint:
                skip.append(provider_name)
        return skip

    def visible_status(self, credential: OAuthCredential, flagged: dict[str, str]) -> str:
        """The status a person should see: an interrupted or running refresh is not "valid"
        (the stored refresh token may be spent), and a flagged managed app is invalid_client."""
        if credential.app == "managed" and credential.provider in self._flagged_managed(flagged):
            return "invalid_client"
        if credential.in_flight_since is not None and credential.status in (
            "valid",
            "backing_off",
            "pending",
        ):
            return "refreshing"
        return credential.status

    @staticmethod
    def _min_valid(credential: OAuthCredential, requested: float | None) -> float:
        """How long the handed-out token must stay valid: what was asked (default a minute),
        but never more than half the provider's token lifetime: no token outlives that, and a
        caller needing longer (a tap run) must come back for a fresh one."""
        wanted = 60.0 if requested is None else requested
        if credential.access_token_expires_at and credential.last_refreshed_at:
            lifetime = (credential.access_token_expires_at - credential.last_refreshed_at).total_seconds()
            return min(wanted, lifetime / 2)
        return wanted

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


def apply_token_fields(
    keyring: Keyring,
    source_type: SourceType | None,
    source: Source,
    fields: dict[str, Any],
    mapping: dict[str, str],
    now: dt.datetime,
) -> None:
    """Copy provider fields (Salesforce ``instance_url``, QuickBooks ``realmId``...) onto the
    source as properties: plain if the card says so, sealed if it is a credential."""
    if not mapping or source_type is None:
        return
    properties = dict(source.properties)
    sealed = dict(source.credentials)
    changed = False
    for field, name in mapping.items():
        value = fields.get(field)
        spec = source_type.properties.get(name)
        if not isinstance(value, str) or not value or spec is None:
            continue
        if spec.definition.is_credential:
            sealed[name] = source_credentials.seal(keyring, source, name, value)
            changed = True
        elif properties.get(name) != value:
            properties[name] = value
            changed = True
    if changed:
        source.properties = properties
        source.credentials = sealed
        source.updated_at = now
