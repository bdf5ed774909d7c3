"""Claiming credentials for a refresh (step 1 of ``lifecycle``): their lease and the in-flight
mark, in one short transaction committed before any request leaves; and waiting for a lease
another holder has.

A holder never believes its lease lasts longer than it does: the lease's end is reckoned from
the moment the write lock is ours, the holder's own deadline from before the claim began.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

from lockstitch.context import Context
from lockstitch.kit import liveness
from lockstitch.kit.time import utcnow
from lockstitch.oauth import metrics, states
from lockstitch.oauth.app_flags import AppFlagRepository
from lockstitch.oauth.repository import Claim, CredentialRepository, Holders

FLAGS_TTL = 5.0  # seconds a worker trusts its reading of the flagged managed apps


class Claimer:
    def __init__(self, ctx: Context, worker_id: str) -> None:
        self.ctx = ctx
        self.worker_id = worker_id
        self.settings = ctx.settings.oauth
        self._skip: list[str] = []
        self._flags_read_at: float | None = None

    async def claim(
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

    async def wait_for_lease(self, credential_id: int) -> None:
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
