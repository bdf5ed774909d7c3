"""The token lifecycle (ARCHITECTURE.md section 4, "Token lifecycle").

Lockstitch is the only party that refreshes a source's tokens. One refresh of one credential:

    1. claim (``claims``): take the credential's lease and mark the refresh in flight, in one
       short transaction that commits *before* the request leaves (a crash leaves the mark, so
       the credential never reads as healthy by mistake);
    2. if an earlier refresh of the same token never got its outcome stored, find out whether
       the token was spent before anything is sent (``in_flight``);
    3. send (``refresh_request``: what and where), only while the lease has the request's whole
       deadline and a margin left, with a hard deadline (``timing``);
    4. settle (``outcomes``, batched by ``settle``): store the outcome and release the lease:
       the provider's answer whenever it arrives, as long as no newer refresh token is stored;
       a verdict only while the lease is still this worker's.

The guarantees, independent of how slow the CPU, the database or the provider is:

* a refresh token is never in flight from two places at once: a holder on this host that is
  still running is never overtaken (``kit.liveness``), one that died is taken over at once, and
  one elsewhere only after its lease lapsed, which its own request cannot outlast;
* whatever the provider answered is stored, late or not, unless newer credentials arrived;
* an outcome that stayed unknown is resolved without a blind resend (``in_flight``).

What each outcome does to the credential's status and its source is ``states``'s table;
``TokenEngine`` is the facade the rest of Lockstitch calls (triggers, vending).
"""

from __future__ import annotations

import asyncio
import time

from lockstitch.context import Context
from lockstitch.kit.deadline import within
from lockstitch.kit.failpoints import Failpoints
from lockstitch.kit.logging import get_logger
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth import in_flight, states, vending
from lockstitch.oauth.claims import Claimer
from lockstitch.oauth.outcomes import Outcomes
from lockstitch.oauth.protocol import OAuthError, token_request
from lockstitch.oauth.refresh_request import client_and_token, refresh_form, token_endpoint
from lockstitch.oauth.repository import Claim
from lockstitch.oauth.settle import Settler

log = get_logger("lockstitch.oauth")

# Refreshes being decided in this process, by (process id, credential id): later triggers join them.
_IN_FLIGHT: dict[tuple[str, int], asyncio.Future[None]] = {}
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
        self.claimer = Claimer(ctx, worker_id)
        self.outcomes = Outcomes(ctx, Settler(ctx, worker_id))

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
                claims = await self.claimer.claim(free)
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
                claims = await self.claimer.claim(1, credential_id=credential_id, within=within)
                if not claims:
                    await self.claimer.wait_for_lease(credential_id)
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

    # ----------------------------------------------------------------------------- one refresh
    async def _refresh(self, claim: Claim) -> str:
        try:
            return await self._refresh_claimed(claim)
        except Exception:
            # A bug, not a provider's answer: hand the credential back with its mark (whether a
            # request left is unknown), or a live holder here would keep it until it exits.
            await self.outcomes.unresolved(claim, "internal_error", "the refresh failed")
            raise

    async def _refresh_claimed(self, claim: Claim) -> str:
        credential = claim.credential
        provider = self.ctx.providers.get(credential.provider)
        source_type = self.ctx.catalog.source_type(claim.source_type)
        try:
            client, refresh_token = client_and_token(self.ctx, claim, provider)
            assert provider is not None
            form = refresh_form(self.ctx, claim, provider, source_type, refresh_token)
            token_url, trusted = token_endpoint(claim, provider, source_type)
        except OAuthError as exc:
            return await self.outcomes.failure(claim, exc, [])
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
                return await self.outcomes.unresolved(
                    claim, "outcome_pending", "finding out whether it was used"
                )
            if verdict in _FINAL:
                code, message = _FINAL[verdict]
                return await self.outcomes.failure(
                    claim, OAuthError("reauth", code, message), secrets, final=True
                )
        if time.monotonic() > claim.deadline - timeout - self.settings.send_margin:
            # The claim took too long to become ours: a request now could outlive the lease.
            await self.outcomes.release(claim)
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
            return await self.outcomes.failure(
                claim, OAuthError("ambiguous", "no_response", "deadline"), secrets
            )
        except OAuthError as exc:
            self.failpoints.hit("after_response")
            return await self.outcomes.failure(claim, exc, secrets)
        self.failpoints.hit("after_response")
        outcome = await self.outcomes.success(claim, provider, source_type, refresh_token, response)
        self.failpoints.hit("after_commit")
        return outcome

    def visible_status(self, credential: OAuthCredential, flagged: dict[str, str]) -> str:
        return states.visible_status(self.ctx.providers, credential, flagged)
