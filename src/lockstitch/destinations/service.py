"""Destination rules: creating, updating, deleting, listing; which destination a source loads into.

Services take a session from the caller's unit of work and never commit. Every check happens
before the first write, so a rejected request changes nothing. Creating or updating a destination
queues a connection check in the same transaction (``tasks.CheckDestinations`` runs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts.auth import Principal
from lockstitch.catalog.destination_type import DestinationType
from lockstitch.catalog.property_rules import PropertyChanges
from lockstitch.context import Context
from lockstitch.destinations import credentials, errors, local
from lockstitch.destinations.properties import (
    RULES,
    missing_required,
    unsupported,
    with_defaults,
    with_generated,
)
from lockstitch.destinations.repository import DestinationRepository
from lockstitch.destinations.targets import target_config
from lockstitch.destinations.views import destination_json, provided_names
from lockstitch.jobs.check_views import check_json
from lockstitch.jobs.checks_repository import queued_check
from lockstitch.kit.ids import parse_id
from lockstitch.kit.plans import PricingTier
from lockstitch.kit.time import utcnow
from lockstitch.models import Destination

POST_KEYS = frozenset({"type", "name", "description", "properties", "ignore_unmapped_sources"})
PUT_KEYS = POST_KEYS
LIST_PARAMS = frozenset({"source_id", "destination_id"})
# The extraction runner calls ``service.target_config`` (built in ``targets``).
__all__ = [
    "create",
    "create_destination",
    "delete_destination",
    "destination_for_source",
    "get_type",
    "last_connection_check",
    "list_destinations",
    "list_types",
    "target_config",
    "update",
    "update_destination",
]
# Live destinations an account may have, by pricing tier (Stitch: a Standard plan allows one).
LIMITS: dict[str, int] = {PricingTier.STANDARD.value: 1}
MAX_NAME = 500
MAX_DESCRIPTION = 10_000


@dataclass(frozen=True)
class _Body:
    """A POST or PUT body whose keys and value types are acceptable."""

    type: str | None
    name: str | None
    description: str | None
    properties: dict[str, Any]
    ignore_unmapped_sources: bool | None
    keys: frozenset[str]


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit and "\x00" not in value


def _parse_body(body: Any, allowed: frozenset[str], message: str) -> _Body:
    if not isinstance(body, dict) or not set(body) <= allowed:
        raise errors.invalid_body(message)
    kind = body.get("type")
    name = body.get("name")
    description = body.get("description")
    properties = body.get("properties")
    ignore = body.get("ignore_unmapped_sources")
    if kind is not None and (not _text(kind, 200) or not kind):
        raise errors.invalid_body(message)
    if name is not None and (not _text(name, MAX_NAME) or not name.strip()):
        raise errors.invalid_body(message)
    if description is not None and not _text(description, MAX_DESCRIPTION):
        raise errors.invalid_body(message)
    if not isinstance(properties, dict) or (ignore is not None and not isinstance(ignore, bool)):
        raise errors.invalid_body(message)
    return _Body(kind, name, description, properties, ignore, frozenset(body))


def default_name(destination_type: str) -> str:
    """A name for a destination created without one: from its type (``postgres`` -> ``Postgres``,
    ``lockstitch.duckdb`` -> ``Duckdb``)."""
    words = destination_type.rsplit(".", 1)[-1].replace("-", " ").replace("_", " ").split()
    return " ".join(word.capitalize() for word in words) or destination_type


def _known_type(ctx: Context, name: str) -> DestinationType:
    found = ctx.catalog.destination_type(name)
    if found is None:
        raise errors.invalid_type(name)
    return found


def _checked(destination_type: DestinationType, changes: PropertyChanges, warehouse: local.Warehouse) -> None:
    """Reject what the schema cannot say: values Lockstitch cannot honour, local paths outside
    the account's warehouse folder."""
    if changes.bad:
        raise errors.invalid_properties(changes.bad)
    problem = unsupported(destination_type, changes.plain)
    if problem is not None:
        raise errors.unsupported_property(*problem)
    store = local.store_of(destination_type)
    value = changes.plain.get(store.property) if store is not None else None
    if store is not None and value is not None and warehouse.resolve(value) is None:
        raise errors.unsupported_property(store.property, local.OUTSIDE_HOME)


def _apply(ctx: Context, destination: Destination, changes: PropertyChanges) -> None:
    properties = changes.applied_to(destination.properties)
    destination.properties = properties
    if changes.secrets:
        sealed = dict(destination.credentials)
        for name, secret in changes.secrets.items():
            if secret is None:
                sealed.pop(name, None)
            else:
                sealed[name] = credentials.seal(ctx.keyring, destination, name, secret)
        destination.credentials = sealed


async def _queue_check(repo: DestinationRepository, destination: Destination) -> None:
    """A new connection check for the destination, in the caller's transaction."""
    await repo.drop_pending_checks(destination.id)
    check = await repo.add(queued_check(destination, utcnow()))
    destination.check_job_name = check.name


async def create_destination(
    session: AsyncSession, ctx: Context, who: Principal, body: Any
) -> dict[str, Any]:
    return destination_json(*await create(session, ctx, who, body, errors.POST_BODY))


async def create(
    session: AsyncSession, ctx: Context, who: Principal, body: Any, message: str
) -> tuple[Destination, DestinationType]:
    """The one create rule of both APIs (v4 and ``v3_service``); a malformed body answers
    ``message``, the error text of the caller's API."""
    parsed = _parse_body(body, POST_KEYS, message)
    if parsed.type is None:
        raise errors.invalid_body(message)
    destination_type = _known_type(ctx, parsed.type)
    if not destination_type.details.access_for(who.pricing_tier):
        raise errors.type_access_denied(destination_type.type)
    changes = RULES.review(destination_type.properties, parsed.properties, {}, frozenset())
    _checked(destination_type, changes, local.Warehouse.of(ctx.settings, who.account_id))
    changes.plain = with_defaults(destination_type, changes.plain)
    changes.secrets = with_generated(destination_type, changes.secrets)
    provided = frozenset(n for n, v in {**changes.plain, **changes.secrets}.items() if v is not None)
    missing = missing_required(destination_type, provided)
    if missing:
        raise errors.missing_properties(missing)

    repo = DestinationRepository(session)
    limit = LIMITS.get(who.pricing_tier)
    if limit is not None:
        await repo.lock_account(who.account_id)
        if await repo.count_live(who.account_id) >= limit:
            raise errors.at_limit()

    now = utcnow()
    destination = Destination(
        account_id=who.account_id,
        type=destination_type.type,
        name=parsed.name if parsed.name is not None else default_name(destination_type.type),
        display_name=None,
        description=parsed.description,
        properties={},
        credentials={},
        ignore_unmapped_sources=bool(parsed.ignore_unmapped_sources),
        created_at=now,
        updated_at=now,
    )
    await repo.add(destination)  # flush: the id is part of the credentials' associated data
    _apply(ctx, destination, changes)
    await _queue_check(repo, destination)
    await session.flush()
    return destination, destination_type


async def update_destination(
    session: AsyncSession, ctx: Context, who: Principal, raw_id: str, body: Any
) -> dict[str, Any]:
    return destination_json(*await update(session, ctx, who, raw_id, body, errors.PUT_BODY))


async def update(
    session: AsyncSession, ctx: Context, who: Principal, raw_id: str, body: Any, message: str
) -> tuple[Destination, DestinationType]:
    """The one update rule of both APIs; a malformed body answers ``message``."""
    destination_id = parse_id(raw_id)
    parsed = _parse_body(body, PUT_KEYS, message)
    repo = DestinationRepository(session)
    destination = await repo.get(who.account_id, destination_id, for_update=True) if destination_id else None
    if destination is None or destination.deleted_at is not None:
        raise errors.invalid_id()
    if parsed.type is not None and parsed.type != destination.type:
        raise errors.type_change()
    destination_type = ctx.catalog.destination_type(destination.type)
    if destination_type is None:
        raise errors.invalid_type(destination.type)

    changes = RULES.review(
        destination_type.properties,
        parsed.properties,
        destination.properties,
        frozenset(destination.credentials),
    )
    _checked(destination_type, changes, local.Warehouse.of(ctx.settings, who.account_id))
    provided = (provided_names(destination) | {n for n, v in changes.plain.items() if v is not None}) | {
        n for n, v in changes.secrets.items() if v is not None
    }
    missing = missing_required(destination_type, frozenset(provided))
    if missing:
        raise errors.missing_properties(missing)

    _apply(ctx, destination, changes)
    if parsed.name is not None:
        destination.name = parsed.name
    if "description" in parsed.keys:
        destination.description = parsed.description
    if parsed.ignore_unmapped_sources is not None:
        destination.ignore_unmapped_sources = parsed.ignore_unmapped_sources
    await _queue_check(repo, destination)
    destination.updated_at = utcnow()
    await session.flush()
    return destination, destination_type


async def delete_destination(session: AsyncSession, who: Principal, raw_id: str) -> dict[str, Any]:
    if not raw_id.isascii() or not raw_id.isdigit():
        raise errors.not_found()
    destination_id = parse_id(raw_id)
    repo = DestinationRepository(session)
    destination = await repo.get(who.account_id, destination_id, for_update=True) if destination_id else None
    if destination is None or destination.deleted_at is not None:
        raise errors.not_found_for_delete(raw_id, who.account_id)
    now = utcnow()
    destination.deleted_at = now
    destination.updated_at = now
    # A check still queued stays: the worker ends it as failed ("the destination was deleted"),
    # so last-connection-check keeps answering for the deleted destination.
    await session.flush()
    return {}


async def list_destinations(
    session: AsyncSession, ctx: Context, who: Principal, params: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every destination of the account, deleted ones included (as sources are listed), oldest
    first. ``destination_id`` narrows to one; ``source_id`` to the one that source loads into."""
    if not set(params) <= LIST_PARAMS:
        raise errors.list_params()
    ids = {key: parse_id(value) for key, value in params.items()}
    if None in ids.values():
        raise errors.list_params()
    repo = DestinationRepository(session)
    destination_id = ids.get("destination_id")
    source_id = ids.get("source_id")
    if source_id is not None:
        exists, mapped = await repo.source_destination(who.account_id, source_id)
        target = await destination_for_source(session, who.account_id, mapped) if exists else None
        if target is None or destination_id not in (None, target.id):
            return []
        destination_id = target.id
    return [
        destination_json(d, ctx.catalog.destination_type(d.type))
        for d in await repo.list_for(who.account_id, destination_id)
    ]


async def last_connection_check(session: AsyncSession, who: Principal, raw_id: str) -> dict[str, Any]:
    destination_id = parse_id(raw_id)
    repo = DestinationRepository(session)
    destination = await repo.get(who.account_id, destination_id) if destination_id else None
    if destination is None:
        raise errors.invalid_id()
    name = destination.check_job_name
    check = await repo.check(who.account_id, name) if name else None
    if check is None:
        raise errors.no_connection_check(destination.id)
    return check_json(check)


def list_types(ctx: Context, who: Principal) -> list[dict[str, Any]]:
    return [t.type_card(who.pricing_tier) for t in ctx.catalog.destination_types()]


def get_type(ctx: Context, who: Principal, name: str) -> dict[str, Any]:
    found = ctx.catalog.destination_type(name)
    if found is None:
        raise errors.unknown_type(name)
    return found.type_card(who.pricing_tier)


async def destination_for_source(
    session: AsyncSession, account_id: int, destination_id: int | None
) -> Destination | None:
    """Where a source loads: the destination its ``destination_id`` names, if that is a live
    destination of the account; else the account's default (the oldest live destination that
    does not ignore unmapped sources); else None (replication waits for a destination)."""
    repo = DestinationRepository(session)
    if destination_id is not None:
        named = await repo.live(account_id, destination_id)
        if named is not None:
            return named
    return await repo.default_for(account_id)
