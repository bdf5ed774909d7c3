"""Leased work: the one place rows that are work items are claimed, renewed and released.

A work item is a row (ARCHITECTURE.md section 1): a connection check, an extraction, an OAuth
credential due for a refresh. A worker holds it through two columns of the row, an owner (the
worker's id) and an expiry; ``LeaseTable`` names them for each table.

::

    free (owner NULL) --claim--> held (owner = worker, expires = now + lease)
                                   |  ^
                                   |  +-- renew: expires moves on, only while owner = worker
                                   |
            +----------------------+----------------------------+
            | finish: the outcome and the release               | the holder stops renewing
            | (owner, expires = NULL) in one UPDATE,            v
            | only while owner = worker                   lapsed (expires < now)
            v                                                   |
          released <---- recover: the table's rule ends it -----+
                         (release included), or a claim takes it again

The rules, each kept here and nowhere else:

1. **Claim = lock candidates, then take them.** ``SELECT id ... ORDER BY ... LIMIT n FOR UPDATE
   SKIP LOCKED`` and then ``UPDATE ... WHERE id IN (...) AND <claimable> SET owner, expires, ...
   RETURNING id`` in the same transaction. The claimable condition is repeated in the UPDATE
   because a row may have changed between the SELECT's snapshot and its lock; only the ids the
   UPDATE returns are held. One given row (``claim_row``) is locked without SKIP LOCKED: the
   caller wants that row and waits for its lock.
2. **Holding = owner matches.** Renewals and writes of a holder carry ``owner = worker`` in their
   WHERE clause; a worker that lost the lease (it stalled, another took over, the lapse was
   recovered) changes nothing and learns so from the result.
3. **Every end releases.** Finishing, failing a crashed item and recovering a lapsed one clear
   owner and expiry in the same statement as the outcome. So ``owner = worker`` means "still
   mine", and nothing may read the owner of an ended item as who ran it.
4. **A lapse is ``expires < now``.** What it means is the table's: a check is claimable again
   (safe to repeat), an extraction is ended as failed (never re-run behind the partner's back),
   a credential is claimable unless its holder is a live process of this host (oauth.repository).
5. **Both backends, one path.** PostgreSQL renders FOR UPDATE SKIP LOCKED, so concurrent workers
   divide the rows instead of queueing on them. SQLite renders neither: its writers take turns
   (BEGIN IMMEDIATE, ``kit.db``), which serialises claims the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import GenerativeSelect

from lockstitch.models import ConnectionCheck, Extraction, OAuthCredential

Query = TypeVar("Query", bound=GenerativeSelect)
# Rows of the RETURNING or SELECT columns a caller asked for, after the id.
Columns = tuple[Any, ...]


@dataclass(frozen=True)
class LeaseTable:
    """A table whose rows are leased: its model and its id, owner and expiry columns."""

    model: type[Any]
    id: InstrumentedAttribute[int]
    owner: InstrumentedAttribute[str | None]
    expires: InstrumentedAttribute[dt.datetime | None]

    def held_by(self, owner: str) -> Any:
        return self.owner == owner

    def lapsed(self, now: dt.datetime) -> Any:
        return self.expires < now

    def release(self) -> dict[str, Any]:
        """The values that end a lease (rule 3), for statements that write many rows at once."""
        return {self.owner.key: None, self.expires.key: None}

    def lease(self, owner: str, until: dt.datetime) -> dict[str, Any]:
        return {self.owner.key: owner, self.expires.key: until}


CONNECTION_CHECKS = LeaseTable(
    ConnectionCheck, ConnectionCheck.id, ConnectionCheck.claimed_by, ConnectionCheck.lease_expires_at
)
EXTRACTIONS = LeaseTable(Extraction, Extraction.id, Extraction.claimed_by, Extraction.lease_expires_at)
OAUTH_CREDENTIALS = LeaseTable(
    OAuthCredential, OAuthCredential.id, OAuthCredential.lease_owner, OAuthCredential.lease_expires_at
)


def release_loaded(table: LeaseTable, row: Any) -> None:
    """End the lease of a row loaded in the session (rule 3), written with its next flush: the
    row starts over (new OAuth credentials), so whoever held it holds nothing any more, and
    its writes, carrying ``owner = worker``, change nothing."""
    setattr(row, table.owner.key, None)
    setattr(row, table.expires.key, None)


def lock_or_skip(query: Query, *, of: Any = None) -> Query:
    """Lock the rows ``query`` reads, skipping rows another transaction holds (rule 5): that
    row is the other writer's business this round. SQLite renders nothing."""
    if of is None:
        return query.with_for_update(skip_locked=True)
    return query.with_for_update(of=of, skip_locked=True)


async def any_due(session: AsyncSession, table: LeaseTable, where: Iterable[Any]) -> bool:
    """A read-only look before a claim: an idle worker polling every second must not take
    SQLite's write lock (the token refresher needs it) just to find nothing."""
    return await session.scalar(select(table.id).where(*where).limit(1)) is not None


async def claim_due(
    session: AsyncSession,
    table: LeaseTable,
    owner: str,
    until: dt.datetime,
    *,
    where: Sequence[Any],
    order_by: Sequence[Any],
    limit: int,
    values: Mapping[str, Any] | None = None,
    recheck: Any = None,
    columns: Sequence[Any] = (),
) -> dict[int, Columns]:
    """Take the lease of up to ``limit`` rows matching ``where``, in ``order_by`` order (rule 1).

    ``values`` are written with the lease (a state, a start time). ``recheck`` is the condition
    repeated in the UPDATE (default: all of ``where``). ``columns`` are read with the candidates,
    before the UPDATE changes them. Returns the ids taken, each with its ``columns``.
    """
    candidates = lock_or_skip(select(table.id, *columns).where(*where).order_by(*order_by).limit(limit))
    found = {row[0]: tuple(row[1:]) for row in await session.execute(candidates)}
    if not found:
        return {}
    again = recheck if recheck is not None else and_(*where)
    return await _take(session, table, found, owner, until, again, values)


async def start_oldest(
    session: AsyncSession,
    table: LeaseTable,
    owner: str,
    now: dt.datetime,
    until: dt.datetime,
    *,
    where: Sequence[Any],
    limit: int,
    values: Mapping[str, Any],
) -> list[int]:
    """Start up to ``limit`` queued jobs matching ``where``, oldest first (``created_at``, then
    id, so none waits behind younger ones): take their lease and write ``values`` (their running
    state) with ``start_time = now``. Returns the ids taken."""
    order = [table.model.created_at, table.id]
    values = {**values, "start_time": now}
    return list(
        await claim_due(session, table, owner, until, where=where, order_by=order, limit=limit, values=values)
    )


async def claim_row(
    session: AsyncSession,
    table: LeaseTable,
    row_id: int,
    owner: str,
    until: dt.datetime,
    *,
    claimable: Any,
    values: Mapping[str, Any] | None = None,
    columns: Sequence[Any] = (),
) -> dict[int, Columns]:
    """Take one named row's lease if ``claimable`` holds once its lock is ours (rule 1)."""
    locked = select(table.id, *columns).where(table.id == row_id).with_for_update()
    found = {row[0]: tuple(row[1:]) for row in await session.execute(locked)}
    if not found:
        return {}
    return await _take(session, table, found, owner, until, claimable, values)


async def _take(
    session: AsyncSession,
    table: LeaseTable,
    found: dict[int, Columns],
    owner: str,
    until: dt.datetime,
    claimable: Any,
    values: Mapping[str, Any] | None,
) -> dict[int, Columns]:
    taken = await session.scalars(
        update(table.model)
        .where(table.id.in_(found), claimable)
        .values({**(values or {}), **table.lease(owner, until)})
        .returning(table.id)
    )
    return {row_id: found[row_id] for row_id in taken}


class Held(TypedDict, total=False):
    """What a write made only while the lease is held may add: conditions (``where``) and the
    columns read in the same round trip (``returning``)."""

    where: Iterable[Any]
    returning: Sequence[Any]


async def renew(
    session: AsyncSession,
    table: LeaseTable,
    row_id: int,
    owner: str,
    until: dt.datetime,
    **held: Unpack[Held],
) -> Columns | None:
    """Move the lease's end to ``until`` while ``owner`` holds it (rule 2); None when it does
    not. ``returning``: columns read in the same round trip (an extraction's cancel request)."""
    return await write_held(session, table, row_id, owner, {table.expires.key: until}, **held)


async def write_held(
    session: AsyncSession,
    table: LeaseTable,
    row_id: int,
    owner: str,
    values: Mapping[str, Any],
    *,
    where: Iterable[Any] = (),
    returning: Sequence[Any] = (),
) -> Columns | None:
    """Write ``values`` to a row only while ``owner`` holds its lease (rule 2); None when the
    lease is not (or no longer) ``owner``'s, else the ``returning`` columns."""
    row = (
        await session.execute(
            update(table.model)
            .where(table.id == row_id, table.held_by(owner), *where)
            .values(dict(values))
            .returning(table.id, *returning)
            .execution_options(synchronize_session=False)
        )
    ).first()
    return tuple(row[1:]) if row is not None else None


async def finish(
    session: AsyncSession,
    table: LeaseTable,
    row_id: int,
    owner: str,
    values: Mapping[str, Any],
    **held: Unpack[Held],
) -> Columns | None:
    """Record an item's outcome and release its lease, only while ``owner`` holds it (rules 2
    and 3): a worker whose lease lapsed must not overwrite the outcome of whoever took over."""
    return await write_held(session, table, row_id, owner, {**values, **table.release()}, **held)


async def recover_lapsed(
    session: AsyncSession,
    table: LeaseTable,
    now: dt.datetime,
    values: Mapping[str, Any],
    *,
    where: Iterable[Any] = (),
    returning: Sequence[Any] = (),
) -> list[Columns]:
    """End every row whose lease lapsed (rule 4) with ``values`` and the release (rule 3).
    Rows another worker is ending right now are skipped (rule 5). Returns ``returning`` of each."""
    conditions = [table.lapsed(now), *where]
    lapsed = list(await session.scalars(lock_or_skip(select(table.id).where(*conditions))))
    if not lapsed:
        return []
    ended = await session.execute(
        update(table.model)
        .where(table.id.in_(lapsed), *conditions)
        .values({**values, **table.release()})
        .returning(table.id, *returning)
        .execution_options(synchronize_session=False)
    )
    return [tuple(row[1:]) for row in ended]


async def owners(session: AsyncSession, table: LeaseTable) -> list[str]:
    """Every worker id holding a lease in ``table`` now (read-only)."""
    found = await session.scalars(select(table.owner).where(table.owner.is_not(None)).distinct())
    return [owner for owner in found if owner]


async def holder(session: AsyncSession, table: LeaseTable, row_id: int, *columns: Any) -> Columns | None:
    """(owner, expiry, *columns) of one row, or None when it is gone (read-only)."""
    row = (
        await session.execute(select(table.owner, table.expires, *columns).where(table.id == row_id))
    ).first()
    return tuple(row) if row is not None else None
