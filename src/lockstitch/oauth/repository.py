"""Every query of the OAuth domain: credentials and their leases, handshake states, origins,
events, audit entries, flagged apps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.models import (
    AccountOrigin,
    AuditEntry,
    ConnectionCheck,
    Event,
    OAuthAppFlag,
    OAuthCredential,
    OAuthState,
    Source,
)

# Credentials the refresher looks after; needs_reauth and invalid_client wait for a person.
REFRESHABLE = ("valid", "backing_off", "pending")


@dataclass(frozen=True)
class Claim:
    """A credential this worker holds the lease on, with what a refresh needs of its source."""

    credential: OAuthCredential
    source_type: str
    source_properties: dict[str, Any]
    source_credentials: dict[str, str]


class CredentialRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_source(self, account_id: int, source_id: int) -> OAuthCredential | None:
        return await self.session.scalar(
            select(OAuthCredential).where(
                OAuthCredential.source_id == source_id, OAuthCredential.account_id == account_id
            )
        )

    async def get(self, credential_id: int) -> OAuthCredential | None:
        return await self.session.get(OAuthCredential, credential_id)

    async def add(self, credential: OAuthCredential) -> OAuthCredential:
        self.session.add(credential)
        await self.session.flush()
        return credential

    def _claimable(self, now: dt.datetime) -> Any:
        # Free: nobody holds the lease, or its holder let it lapse (crashed or too slow).
        return or_(OAuthCredential.lease_expires_at.is_(None), OAuthCredential.lease_expires_at < now)

    def _due(self, now: dt.datetime) -> Any:
        # Due: its time has come, or a refresh was in flight when its worker died (the stored
        # refresh token may be spent: find out now rather than at the next scheduled refresh).
        return or_(OAuthCredential.refresh_due_at <= now, OAuthCredential.in_flight_since.is_not(None))

    async def claim_due(
        self,
        worker_id: str,
        now: dt.datetime,
        lease_until: dt.datetime,
        limit: int,
        skip_managed: Sequence[str],
    ) -> list[Claim]:
        """Take the lease of up to ``limit`` due credentials and mark their refresh in flight.

        On PostgreSQL the candidate rows are locked with SKIP LOCKED, so concurrent workers
        divide the due credentials between them instead of queueing on the same rows.
        """
        conditions = [
            OAuthCredential.status.in_(REFRESHABLE),
            self._due(now),
            self._claimable(now),
        ]
        if skip_managed:
            conditions.append(
                or_(OAuthCredential.app != "managed", OAuthCredential.provider.not_in(skip_managed))
            )
        candidates = (
            select(OAuthCredential.id)
            .where(*conditions)
            .order_by(OAuthCredential.refresh_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(await self.session.scalars(candidates))
        if not ids:
            return []
        return await self._take(ids, worker_id, now, lease_until, extra=self._claimable(now))

    async def claim_one(
        self,
        credential_id: int,
        worker_id: str,
        now: dt.datetime,
        lease_until: dt.datetime,
        due_before: dt.datetime,
    ) -> Claim | None:
        """Take one credential's lease if it is free and needs a refresh by ``due_before``.

        A credential backing off is only taken once its backoff (and the provider's Retry-After)
        is over, however urgently a caller wants a token.
        """
        wanted_soon = or_(
            OAuthCredential.refresh_due_at <= due_before,
            OAuthCredential.access_token_expires_at.is_(None),
            OAuthCredential.access_token_expires_at <= due_before,
        )
        needed = or_(
            OAuthCredential.in_flight_since.is_not(None),
            and_(OAuthCredential.status != "backing_off", wanted_soon),
            and_(OAuthCredential.status == "backing_off", OAuthCredential.refresh_due_at <= now),
        )
        extra = and_(self._claimable(now), OAuthCredential.status.in_(REFRESHABLE), needed)
        claims = await self._take([credential_id], worker_id, now, lease_until, extra=extra)
        return claims[0] if claims else None

    async def _take(
        self, ids: list[int], worker_id: str, now: dt.datetime, lease_until: dt.datetime, extra: Any
    ) -> list[Claim]:
        taken = list(
            await self.session.scalars(
                update(OAuthCredential)
                .where(OAuthCredential.id.in_(ids), extra)
                .values(lease_owner=worker_id, lease_expires_at=lease_until, in_flight_since=now)
                .returning(OAuthCredential.id)
            )
        )
        if not taken:
            return []
        rows = await self.session.execute(
            select(OAuthCredential, Source.type, Source.properties, Source.credentials)
            .join(Source, Source.id == OAuthCredential.source_id)
            .where(OAuthCredential.id.in_(taken))
            .execution_options(populate_existing=True)
        )
        return [Claim(r[0], r[1], r[2], r[3]) for r in rows]

    async def settle(self, credential_id: int, version: int, worker_id: str, values: dict[str, Any]) -> bool:
        """Store a refresh's outcome and release the lease, only if this worker still holds it and
        nobody stored a newer version meanwhile (compare-and-swap)."""
        result = await self.session.execute(
            update(OAuthCredential)
            .where(
                OAuthCredential.id == credential_id,
                OAuthCredential.version == version,
                OAuthCredential.lease_owner == worker_id,
            )
            .values(**values, lease_owner=None, lease_expires_at=None, in_flight_since=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def settle_many(self, rows: list[tuple[int, int, dict[str, Any]]], worker_id: str) -> set[int]:
        """``settle`` for many outcomes in two round trips instead of one per credential.

        The rows this worker may still write (same version, its lease) are read and locked
        first (row locks on PostgreSQL; SQLite's writer already holds the database), then the
        outcomes with the same columns are written with one executemany each. Returns the ids
        that were stored.
        """
        if not rows:
            return set()
        wanted = {credential_id: version for credential_id, version, _ in rows}
        current = await self.session.execute(
            select(OAuthCredential.id, OAuthCredential.version)
            .where(OAuthCredential.id.in_(wanted), OAuthCredential.lease_owner == worker_id)
            .with_for_update()
        )
        eligible = {credential_id for credential_id, version in current if wanted[credential_id] == version}
        released = {"lease_owner": None, "lease_expires_at": None, "in_flight_since": None}
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for credential_id, _, changes in rows:
            if credential_id in eligible:
                groups.setdefault(tuple(sorted(changes)), []).append(
                    {"id": credential_id, **changes, **released}
                )
        for params in groups.values():
            # ORM bulk UPDATE by primary key: one executemany per set of columns.
            await self.session.execute(update(OAuthCredential), params)
        return eligible

    async def lease_state(self, credential_id: int) -> tuple[str | None, dt.datetime | None, int] | None:
        row = (
            await self.session.execute(
                select(
                    OAuthCredential.lease_owner, OAuthCredential.lease_expires_at, OAuthCredential.version
                ).where(OAuthCredential.id == credential_id)
            )
        ).first()
        return (row[0], row[1], row[2]) if row else None

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

    async def flagged_apps(self) -> dict[str, str]:
        rows = await self.session.execute(select(OAuthAppFlag.provider, OAuthAppFlag.client_fingerprint))
        return {key: value for key, value in rows}  # noqa: C416 - a Result is not a mapping

    async def flag_app(self, provider: str, fingerprint: str, reason: str, now: dt.datetime) -> None:
        existing = await self.session.get(OAuthAppFlag, provider)
        if existing is None:
            self.session.add(
                OAuthAppFlag(provider=provider, client_fingerprint=fingerprint, reason=reason, flagged_at=now)
            )
        else:
            existing.client_fingerprint, existing.reason, existing.flagged_at = fingerprint, reason, now
        await self.session.flush()

    async def clear_app_flag(self, provider: str) -> None:
        await self.session.execute(delete(OAuthAppFlag).where(OAuthAppFlag.provider == provider))

    async def fail_pending_check(self, source: Source, message: str, now: dt.datetime) -> None:
        """A check waiting for these credentials cannot succeed: end it with the reason."""
        if not source.check_job_name:
            return
        await self.session.execute(
            update(ConnectionCheck)
            .where(ConnectionCheck.name == source.check_job_name, ConnectionCheck.state == "pending")
            .values(
                state="failed",
                start_time=now,
                completion_time=now,
                check_exit_status=1,
                discovery_error_message=message,
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


async def add_event(
    session: AsyncSession,
    account_id: int,
    source_id: int | None,
    kind: str,
    payload: dict[str, Any],
    now: dt.datetime,
) -> None:
    session.add(Event(account_id=account_id, source_id=source_id, type=kind, payload=payload, created_at=now))


async def add_audit(
    session: AsyncSession,
    *,
    account_id: int,
    api_token_id: int | None,
    action: str,
    source_id: int | None,
    client_address: str | None,
    now: dt.datetime,
) -> None:
    session.add(
        AuditEntry(
            account_id=account_id,
            api_token_id=api_token_id,
            action=action,
            source_id=source_id,
            client_address=client_address,
            created_at=now,
        )
    )
