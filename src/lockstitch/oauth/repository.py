"""The OAuth domain's queries: credentials and their leases (and the batches a key rotation
re-seals), handshake states, origins (flagged managed apps: ``app_flags``; events and the audit
log belong to ``sources`` and ``accounts``).

The leases' SQL (claims, the release in ``settle_many``) is ``jobs.leases``'s; what is the
credentials' own is here: which are due, the holder-liveness rule, the in-flight mark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.jobs import leases
from lockstitch.jobs.leases import OAUTH_CREDENTIALS
from lockstitch.kit.db import Repository
from lockstitch.models import AccountOrigin, OAuthCredential, OAuthState, Source
from lockstitch.oauth.states import REFRESHABLE, CredentialStatus


def _in_flight(now: dt.datetime) -> dict[str, Any]:
    """Written with a claim's lease: the refresh is in flight from now. An earlier, unresolved
    request keeps its mark: it is when that one left."""
    return {"in_flight_since": func.coalesce(OAuthCredential.in_flight_since, now)}


@dataclass(frozen=True)
class Claim:
    """A credential this worker holds the lease on, with what a refresh needs of its source.

    ``resumed``: an earlier refresh of the same refresh token was in flight when the lease was
    taken (its holder died, or its answer never came): the token may be spent, so nothing is
    sent before that is resolved (``oauth.in_flight``). ``deadline``: this process's monotonic
    clock reading by which the lease ends (read before the claim began, so never late).
    """

    credential: OAuthCredential
    source_type: str
    source_properties: dict[str, Any]
    source_credentials: dict[str, str]
    resumed: bool = False
    deadline: float = float("inf")


@dataclass(frozen=True)
class Holders:
    """Lease owners sorted by what this host knows of them (``kit.liveness``)."""

    alive_here: list[str]
    dead: list[str]


@dataclass(frozen=True)
class Settlement:
    """One refresh's outcome to store. ``answer``: the provider answered with tokens, stored as
    long as ``generation`` is current (even after the lease was lost: the provider's answer is
    the truth). Otherwise a verdict, stored only while this worker holds the lease at
    ``version``. ``keep_in_flight``: the outcome is still unknown (the mark stays)."""

    credential_id: int
    version: int
    generation: int
    values: dict[str, Any]
    answer: bool = False
    keep_in_flight: bool = False


class CredentialRepository(Repository):
    async def for_source(self, account_id: int, source_id: int) -> OAuthCredential | None:
        return await self.session.scalar(
            select(OAuthCredential).where(
                OAuthCredential.source_id == source_id, OAuthCredential.account_id == account_id
            )
        )

    async def get(self, credential_id: int) -> OAuthCredential | None:
        return await self.session.get(OAuthCredential, credential_id)

    async def batch_after(self, after_id: int, batch: int) -> list[OAuthCredential]:
        """Up to ``batch`` credentials after ``after_id`` in id order, locked for rewriting."""
        return await self.locked_batch(OAuthCredential, after_id, batch)

    async def lease_owners(self) -> list[str]:
        return await leases.owners(self.session, OAUTH_CREDENTIALS)

    def _claimable(self, now: dt.datetime, holders: Holders) -> Any:
        """Free: nobody holds the lease; or its holder is known dead (a process of this host that
        is gone); or its lease lapsed and its holder is not a process of this host that still
        runs. A live holder here is never overtaken, however slow: it finishes, or it dies."""
        taken_over: Any = OAuthCredential.lease_expires_at < now
        if holders.dead:
            taken_over = or_(taken_over, OAuthCredential.lease_owner.in_(holders.dead))
        if holders.alive_here:
            taken_over = and_(OAuthCredential.lease_owner.not_in(holders.alive_here), taken_over)
        return or_(OAuthCredential.lease_owner.is_(None), taken_over)

    async def claim_due(
        self,
        worker_id: str,
        now: dt.datetime,
        lease_until: dt.datetime,
        limit: int,
        skip_managed: Sequence[str],
        holders: Holders,
    ) -> list[Claim]:
        """Take the lease of up to ``limit`` due credentials, most overdue first, and mark their
        refresh in flight (``jobs.leases.claim_due``: concurrent workers divide the due
        credentials between them; the UPDATE repeats only the holder rule).
        """
        # Due: its time has come; or a refresh was in flight when its holder died or let the
        # lease lapse (the stored refresh token may be spent: find out now, not at the next
        # scheduled refresh). A mark its holder released unresolved waits for its own time.
        in_flight_due = and_(
            OAuthCredential.in_flight_since.is_not(None),
            or_(
                OAuthCredential.lease_owner.is_not(None),
                OAuthCredential.refresh_due_at.is_(None),
                OAuthCredential.refresh_due_at <= now,
            ),
        )
        conditions = [
            OAuthCredential.status.in_(REFRESHABLE),
            or_(OAuthCredential.refresh_due_at <= now, in_flight_due),
            self._claimable(now, holders),
        ]
        if skip_managed:
            conditions.append(
                or_(OAuthCredential.app != "managed", OAuthCredential.provider.not_in(skip_managed))
            )
        taken = await leases.claim_due(
            self.session,
            OAUTH_CREDENTIALS,
            worker_id,
            lease_until,
            where=conditions,
            order_by=[OAuthCredential.refresh_due_at],
            limit=limit,
            values=_in_flight(now),
            recheck=self._claimable(now, holders),
            columns=[OAuthCredential.in_flight_since],
        )
        return await self._claims(taken)

    async def claim_one(
        self,
        credential_id: int,
        worker_id: str,
        now: dt.datetime,
        lease_until: dt.datetime,
        due_before: dt.datetime,
        holders: Holders,
    ) -> Claim | None:
        """Take one credential's lease if it is free and needs a refresh by ``due_before``.

        A credential backing off is only taken once its backoff (and the provider's Retry-After)
        is over, however urgently a caller wants a token; so is one whose last refresh's outcome
        is still being found out.
        """
        wanted_soon = or_(
            OAuthCredential.refresh_due_at <= due_before,
            OAuthCredential.access_token_expires_at.is_(None),
            OAuthCredential.access_token_expires_at <= due_before,
        )
        waiting = or_(
            OAuthCredential.status == CredentialStatus.BACKING_OFF,
            OAuthCredential.in_flight_since.is_not(None),
        )
        abandoned = and_(
            OAuthCredential.in_flight_since.is_not(None), OAuthCredential.lease_owner.is_not(None)
        )
        needed = or_(
            abandoned,  # its holder died or let the lease lapse: claimable means resolve it now
            and_(~waiting, wanted_soon),
            and_(
                waiting, or_(OAuthCredential.refresh_due_at.is_(None), OAuthCredential.refresh_due_at <= now)
            ),
        )
        taken = await leases.claim_row(
            self.session,
            OAUTH_CREDENTIALS,
            credential_id,
            worker_id,
            lease_until,
            claimable=and_(self._claimable(now, holders), OAuthCredential.status.in_(REFRESHABLE), needed),
            values=_in_flight(now),
            columns=[OAuthCredential.in_flight_since],
        )
        claims = await self._claims(taken)
        return claims[0] if claims else None

    async def _claims(self, taken: dict[int, tuple[Any, ...]]) -> list[Claim]:
        """The credentials just leased, with their sources; ``taken`` maps each id to its
        ``in_flight_since`` read under the lock, before the claim marked it."""
        if not taken:
            return []
        rows = await self.session.execute(
            select(OAuthCredential, Source.type, Source.properties, Source.credentials)
            .join(Source, Source.id == OAuthCredential.source_id)
            .where(OAuthCredential.id.in_(taken))
            .execution_options(populate_existing=True)
        )
        return [Claim(r[0], r[1], r[2], r[3], resumed=taken[r[0].id][0] is not None) for r in rows]

    async def settle_many(self, rows: list[Settlement], worker_id: str) -> dict[int, str]:
        """Store outcomes in two round trips instead of one per credential; returns the stored
        ones' ids with the status each had just before (what the outcome changes from).

        The rows are read and locked first (row locks on PostgreSQL; SQLite's writer already
        holds the database) and each outcome's compare-and-swap decided (``Settlement``), then
        outcomes with the same columns are written with one executemany each.
        """
        if not rows:
            return {}
        current = {
            row[0]: row
            for row in await self.session.execute(
                select(
                    OAuthCredential.id,
                    OAuthCredential.version,
                    OAuthCredential.generation,
                    OAUTH_CREDENTIALS.owner,
                    OAuthCredential.status,
                )
                .where(OAuthCredential.id.in_({r.credential_id for r in rows}))
                .with_for_update()
            )
        }
        stored: dict[int, str] = {}
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            now_row = current.get(row.credential_id)
            if now_row is None:
                continue
            _, version, generation, owner, status = now_row
            if row.answer:
                if generation != row.generation:
                    continue  # new credentials arrived meanwhile: this answer is for old ones
            elif version != row.version or owner != worker_id:
                continue  # a verdict of a worker that no longer holds the credential
            released = OAUTH_CREDENTIALS.release()
            if not row.keep_in_flight:
                released["in_flight_since"] = None
            changes = {**row.values, **released, "version": version + 1}
            stored[row.credential_id] = status
            groups.setdefault(tuple(sorted(changes)), []).append({"id": row.credential_id, **changes})
        for params in groups.values():
            # ORM bulk UPDATE by primary key: one executemany per set of columns.
            await self.session.execute(update(OAuthCredential), params)
        return stored

    async def lease_state(self, credential_id: int) -> tuple[str | None, dt.datetime | None, int] | None:
        """(lease owner, lease end, version), or None when the credential is gone."""
        row = await leases.holder(self.session, OAUTH_CREDENTIALS, credential_id, OAuthCredential.version)
        return (row[0], row[1], row[2]) if row is not None else None

    async def counts_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(OAuthCredential.status, func.count()).group_by(OAuthCredential.status)
        )
        return {key: value for key, value in rows}  # noqa: C416 - a Result is not a mapping

    async def oldest_overdue(self, now: dt.datetime) -> dt.datetime | None:
        return await self.session.scalar(
            select(func.min(OAuthCredential.refresh_due_at)).where(
                OAuthCredential.status.in_(REFRESHABLE), OAuthCredential.refresh_due_at <= now
            )
        )


class StateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, state: OAuthState) -> None:
        self.session.add(state)
        await self.session.flush()

    async def take(self, state_hash: str, now: dt.datetime) -> OAuthState | None:
        """Use a state once: only the first caller of an unused, unexpired state gets it."""
        taken = await self.session.scalar(
            update(OAuthState)
            .where(
                OAuthState.state_hash == state_hash, OAuthState.used_at.is_(None), OAuthState.expires_at > now
            )
            .values(used_at=now)
            .returning(OAuthState.state_hash)
        )
        if taken is None:
            return None
        return await self.session.get(OAuthState, state_hash, populate_existing=True)

    async def with_verifier(self) -> list[OAuthState]:
        """The states holding a sealed PKCE code verifier (pending handshakes)."""
        return list(
            await self.session.scalars(select(OAuthState).where(OAuthState.code_verifier.is_not(None)))
        )

    async def purge_expired(self, before: dt.datetime) -> None:
        await self.session.execute(delete(OAuthState).where(OAuthState.expires_at < before))


class OriginRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def origins(self, account_id: int) -> list[str]:
        return list(
            await self.session.scalars(
                select(AccountOrigin.origin)
                .where(AccountOrigin.account_id == account_id)
                .order_by(AccountOrigin.origin)
            )
        )

    async def replace(self, account_id: int, origins: list[str], now: dt.datetime) -> None:
        await self.session.execute(delete(AccountOrigin).where(AccountOrigin.account_id == account_id))
        self.session.add_all(AccountOrigin(account_id=account_id, origin=o, created_at=now) for o in origins)
        await self.session.flush()

    async def add(self, account_id: int, origin: str, now: dt.datetime) -> None:
        if origin not in await self.origins(account_id):
            self.session.add(AccountOrigin(account_id=account_id, origin=origin, created_at=now))
            await self.session.flush()

    async def remove(self, account_id: int, origin: str) -> bool:
        result = await self.session.execute(
            delete(AccountOrigin).where(
                AccountOrigin.account_id == account_id, AccountOrigin.origin == origin
            )
        )
        return bool(getattr(result, "rowcount", 0))
