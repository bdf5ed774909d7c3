"""Source rules: creating, updating, pausing, deleting and reading sources.

Services take a session from the caller's unit of work and never commit. Every check happens
before the first write, so a rejected request changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.accounts.auth import Principal
from lockstitch.catalog.property_rules import PropertyChanges
from lockstitch.catalog.report_card import SourceFacts, current_step
from lockstitch.catalog.source_type import SourceType
from lockstitch.context import Context
from lockstitch.destinations.repository import DestinationRepository
from lockstitch.jobs import quartz
from lockstitch.jobs.check_views import check_json
from lockstitch.jobs.checks_repository import queued_check
from lockstitch.kit import naming
from lockstitch.kit.ids import is_id, parse_id
from lockstitch.kit.plans import PricingTier, meets
from lockstitch.kit.time import parse_timestamp, utcnow
from lockstitch.models import CheckState, ConnectionCheck, Source
from lockstitch.sources import credentials, errors
from lockstitch.sources.oauth_port import CredentialOwnership, SourceAt
from lockstitch.sources.properties import RULES, touches_connection
from lockstitch.sources.repository import SourceRepository, fetch_source
from lockstitch.sources.views import facts_of, report_card, source_json

POST_KEYS = frozenset({"type", "display_name", "properties", "destination_id"})
PUT_KEYS = frozenset({"display_name", "properties", "paused_at", "destination_id"})
# Stitch reserves cron scheduling for its Advanced/Premium plans.
CRON_MIN_TIER = PricingTier.PREMIUM
# Steps after which a source has everything a connection check needs.
_CHECKABLE_STEPS = frozenset({"discover_schema", "field_selection", "fully_configured"})


def parse_source_id(raw: str) -> int:
    """A source id from a path: not one Lockstitch could have issued is the source 404."""
    source_id = parse_id(raw)
    if source_id is None:
        raise errors.not_found(raw)
    return source_id


# A body's destination_id that says nothing: the stitch-connect-client 0.6.2 model bug (spec 9.22).
_ABSENT: Any = object()


def _destination_id(body: dict[str, Any], message: str) -> Any:
    """The body's ``destination_id``: an id, None (clear it) or ``_ABSENT`` (leave it).

    Spec 9.22: an object equal to the body's ``properties`` is what stitch-connect-client 0.6.2
    sends for every create and update, so it counts as absent; any other non-integer is
    ``InvalidBody``.
    """
    if "destination_id" not in body:
        return _ABSENT
    value = body["destination_id"]
    if value is None:
        return None
    if isinstance(value, dict) and value == (body.get("properties") or {}):
        return _ABSENT
    if not is_id(value):
        raise errors.invalid_body(message)
    return value


async def _check_destination(session: AsyncSession, account_id: int, destination_id: Any) -> None:
    """A destination_id must name a live destination of the caller's account (spec 9.22); the
    message is the same for another account's id and for none, so ids do not leak."""
    if (
        isinstance(destination_id, int)
        and await DestinationRepository(session).live(account_id, destination_id) is None
    ):
        raise errors.unknown_destination(destination_id)


async def create_source(
    session: AsyncSession, ctx: Context, who: Principal, body: Any, *, ownership: CredentialOwnership
) -> dict[str, Any]:
    if not isinstance(body, dict) or not set(body) <= POST_KEYS:
        raise errors.invalid_body(errors.POST_BODY)
    source_type_name = body.get("type")
    display_name = body.get("display_name")
    incoming = body.get("properties", {})
    if not isinstance(source_type_name, str) or not source_type_name:
        raise errors.invalid_body(errors.POST_BODY)
    if not isinstance(display_name, str) or not display_name.strip():
        raise errors.invalid_body(errors.POST_BODY)
    if incoming is None:
        incoming = {}
    if not isinstance(incoming, dict):
        raise errors.invalid_body(errors.POST_BODY)
    destination_id = _destination_id(body, errors.POST_BODY)

    source_type = ctx.catalog.source_type(source_type_name)
    if source_type is None:
        raise errors.invalid_type(source_type_name)
    if not source_type.access_for(who.pricing_tier):
        raise errors.type_access_denied(source_type.type)

    repo = SourceRepository(session)
    name = await _checked_new_name(repo, who.account_id, display_name)
    await _check_destination(session, who.account_id, destination_id)
    changes = RULES.review(source_type.properties, incoming, {}, frozenset())
    if changes.bad:
        raise errors.invalid_properties(changes.bad, source_type.renderer.card(SourceFacts()))
    _check_cron(changes, who)

    now = utcnow()
    source = Source(
        account_id=who.account_id,
        type=source_type.type,
        name=name,
        display_name=display_name,
        properties={},
        credentials={},
        destination_id=None if destination_id is _ABSENT else destination_id,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            await repo.add(source)  # flush: the id is part of the credentials' associated data
    except IntegrityError:  # a concurrent create took the same name between check and insert
        raise errors.derived_name_not_unique(display_name, name) from None
    source.properties = {**source_type.system_values(who.account_id, source.id)}
    provides = await apply_changes(session, ctx, ownership, source, source_type, changes, [])
    check_state = await queue_check_if_due(
        repo, source, source_type, None, provides, touches_connection(changes)
    )
    await session.flush()
    return source_json(source, source_type, check_state, provides, now)


async def update_source(
    session: AsyncSession,
    ctx: Context,
    who: Principal,
    raw_id: str,
    body: Any,
    *,
    ownership: CredentialOwnership,
) -> dict[str, Any]:
    source_id = parse_source_id(raw_id)
    if not isinstance(body, dict) or not set(body) <= PUT_KEYS:
        raise errors.invalid_body(errors.PUT_BODY)
    incoming = body.get("properties", {})
    if incoming is None:
        incoming = {}
    if not isinstance(incoming, dict):
        raise errors.invalid_body(errors.PUT_BODY)
    destination_id = _destination_id(body, errors.PUT_BODY)
    paused_at = body.get("paused_at")
    if paused_at is not None:
        try:
            paused_at = parse_timestamp(paused_at)
        except (TypeError, ValueError):
            raise errors.invalid_body("paused_at must be an ISO-8601 timestamp or null") from None

    repo = SourceRepository(session)
    found = await repo.get(who.account_id, source_id, for_update=True)
    if found is None:
        raise errors.not_found(raw_id)
    source, check_state, provides = found
    if source.deleted_at is not None:
        raise errors.deleted(source.id)
    source_type = ctx.catalog.source_type(source.type)
    if source_type is None:
        raise errors.invalid_type(source.type)
    await _check_destination(session, who.account_id, destination_id)

    if "display_name" in body:
        new_display = body["display_name"]
        if not naming.is_acceptable_display_name(new_display) or not naming.derive_name(new_display):
            raise errors.invalid_display_name(new_display)
        if new_display != source.display_name and await repo.live_display_name_taken(
            who.account_id, new_display, except_id=source.id
        ):
            raise errors.name_not_unique(new_display)
        source.display_name = new_display

    changes = RULES.review(
        source_type.properties,
        incoming,
        source.properties,
        frozenset(source.credentials) | frozenset(provides),
    )
    if changes.bad:
        raise errors.invalid_properties(changes.bad, report_card(source, source_type, check_state, provides))
    at = SourceAt(session, ctx.keyring, source, source_type, utcnow())
    refused = await ownership.endpoint_change_refused(at, changes.plain, changes.secrets)
    if refused is not None:
        raise errors.managed_endpoint(refused, report_card(source, source_type, check_state, provides))
    _check_cron(changes, who)

    provides = await apply_changes(session, ctx, ownership, source, source_type, changes, provides)
    if "paused_at" in body:
        source.paused_at = paused_at
    if destination_id is not _ABSENT:
        source.destination_id = destination_id
    check_state = await queue_check_if_due(
        repo, source, source_type, check_state, provides, touches_connection(changes)
    )
    source.updated_at = utcnow()
    await session.flush()
    return source_json(source, source_type, check_state, provides, source.updated_at)


async def delete_source(session: AsyncSession, ctx: Context, who: Principal, raw_id: str) -> dict[str, Any]:
    source_id = parse_source_id(raw_id)
    repo = SourceRepository(session)
    found = await repo.get(who.account_id, source_id, for_update=True)
    if found is None:
        raise errors.not_found(raw_id)
    source, check_state, provides = found
    now = utcnow()
    if source.deleted_at is None:  # deleting twice answers the same deleted source
        source.deleted_at = now
        source.updated_at = now
        await session.flush()
    return source_json(source, ctx.catalog.source_type(source.type), check_state, provides, now)


async def get_source(ctx: Context, who: Principal, raw_id: str) -> dict[str, Any]:
    found = await fetch_source(ctx.db, who.account_id, parse_source_id(raw_id))
    if found is None:
        raise errors.not_found(raw_id)
    source, check_state, provides = found
    return source_json(source, ctx.catalog.source_type(source.type), check_state, provides, utcnow())


async def list_sources(session: AsyncSession, ctx: Context, who: Principal) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        source_json(
            row.source, ctx.catalog.source_type(row.source.type), row.check_state, row.oauth_provides, now
        )
        for row in await SourceRepository(session).list_for(who.account_id)
    ]


async def last_connection_check(session: AsyncSession, who: Principal, raw_id: str) -> dict[str, Any]:
    return check_json(await _last_check(session, who, raw_id))


async def last_connection_check_log(session: AsyncSession, who: Principal, raw_id: str) -> str:
    """The check's own log (plugin installation, the tap's stderr, scrubbed): an extension."""
    check = await _last_check(session, who, raw_id)
    return check.log or ""


async def _last_check(session: AsyncSession, who: Principal, raw_id: str) -> ConnectionCheck:
    repo = SourceRepository(session)
    found = await repo.get(who.account_id, parse_source_id(raw_id))
    if found is None:
        raise errors.not_found(raw_id)
    source = found.source
    check = await repo.check(who.account_id, source.check_job_name) if source.check_job_name else None
    if check is None:
        raise errors.no_connection_check(source.id)
    return check


async def _checked_new_name(repo: SourceRepository, account_id: int, display_name: str) -> str:
    if not naming.is_acceptable_display_name(display_name):
        raise errors.invalid_display_name(display_name)
    name = naming.derive_name(display_name)
    if not name:
        raise errors.derived_name_empty(display_name)
    if not naming.is_valid_name(name):
        raise errors.name_rules()
    if await repo.live_display_name_taken(account_id, display_name):
        raise errors.name_not_unique(display_name)
    if await repo.live_name_taken(account_id, name):
        raise errors.derived_name_not_unique(display_name, name)
    return name


def _check_cron(changes: PropertyChanges, who: Principal) -> None:
    expression = changes.plain.get("cron_expression")
    if expression is None:
        return
    if not meets(who.pricing_tier, CRON_MIN_TIER):
        raise errors.cron_access_denied()
    try:
        cron = quartz.parse(expression)
    except quartz.CronError as exc:
        raise errors.invalid_cron(expression, str(exc)) from None
    if cron.next_after(utcnow()) is None:
        raise errors.invalid_cron(expression, "it never fires after now.")


async def apply_changes(
    session: AsyncSession,
    ctx: Context,
    ownership: CredentialOwnership,
    source: Source,
    source_type: SourceType,
    changes: PropertyChanges,
    oauth_provides: list[str],
) -> list[str]:
    """Write reviewed changes onto a source: plain values, the default frequency, sealed
    credentials; OAuth client credentials and refresh tokens go to its OAuthCredential, which
    Lockstitch then owns (``ownership``: ``oauth.ownership``, see ``sources.oauth_port``).
    Returns what the OAuth credentials provide."""
    properties = changes.applied_to(source.properties)
    # Stitch: "If frequency_in_minutes is not set, the source default is used, so it is never null."
    default = source_type.details.default_scheduling_interval
    if (
        "frequency_in_minutes" in source_type.properties
        and not properties.get("frequency_in_minutes")
        and default
    ):
        properties["frequency_in_minutes"] = str(default)
    source.properties = properties

    secrets = dict(changes.secrets)
    oauth_values = ownership.split(source_type, secrets)
    if secrets:
        sealed = dict(source.credentials)
        for name, value in secrets.items():
            if value is None:
                sealed.pop(name, None)
            else:
                sealed[name] = credentials.seal(ctx.keyring, source, name, value)
        source.credentials = sealed
    if oauth_values:
        credential = await ownership.adopt(
            SourceAt(session, ctx.keyring, source, source_type, utcnow()), oauth_values
        )
        return list(credential.provides)
    oauth = source_type.definition.oauth
    if oauth is not None and oauth.token_url_property in changes.plain:
        revalidated = await ownership.endpoint_changed(
            SourceAt(session, ctx.keyring, source, source_type, utcnow())
        )
        if revalidated is not None:
            return revalidated
    return oauth_provides


async def queue_check_if_due(
    repo: SourceRepository,
    source: Source,
    source_type: SourceType,
    check_state: str | None,
    oauth_provides: list[str],
    connection_changed: bool,
) -> str | None:
    """Queue a connection check (same transaction) once form and OAuth steps are complete.

    A new check is due when none was queued yet, or when a change could alter what the tap
    connects to. A check still waiting in the queue is not duplicated: it reads the source's
    properties when a worker picks it up. Returns the state of the source's current check.
    """
    if "discover_schema" not in source_type.step_types:
        return check_state
    _, step = current_step(source_type.definition.steps, facts_of(source, check_state, oauth_provides))
    if step not in _CHECKABLE_STEPS:
        return check_state
    if source.check_job_name and (check_state == CheckState.PENDING or not connection_changed):
        return check_state
    check = await repo.add(queued_check(source, utcnow()))
    source.check_job_name = check.name
    return CheckState.PENDING
