"""The credential state machine (``oauth.states``): the transition table says exactly which
outcome moves which status to which, and ``apply`` writes that status and carries out the
outcome's effects (unpause and one re-authorized/recovered event; system pause, one
``source.credentials_invalid`` event and the waiting check failed; the managed app flagged; a
new life's reset, lease included) and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest

from lockstitch.context import Context
from lockstitch.kit.time import utcnow
from lockstitch.models import OAuthCredential
from lockstitch.oauth import states
from lockstitch.oauth.states import CredentialStatus as S
from lockstitch.oauth.states import Outcome as O  # noqa: N817 - the table reads as a table
from tests.conftest import MakeAccount
from tests.oauth import rows

REFRESHER = (O.REAUTH_FIRST, O.REAUTH_CONFIRMED, O.CLIENT_MANAGED, O.CLIENT_PARTNER, O.RETRIABLE, O.AMBIGUOUS)
PROBLEM = states.Problem("invalid_grant", "the grant was revoked")

# The table, written out move by move: what the refresher does to the statuses it claims
# (valid, backing_off, pending), an answer from anywhere, new credentials from anywhere.
EXPECTED = {
    O.REFRESHED: dict.fromkeys(states.STORED, S.VALID),
    O.REAUTH_FIRST: {S.VALID: S.BACKING_OFF, S.BACKING_OFF: S.BACKING_OFF, S.PENDING: S.BACKING_OFF},
    O.REAUTH_CONFIRMED: {S.VALID: S.NEEDS_REAUTH, S.BACKING_OFF: S.NEEDS_REAUTH, S.PENDING: S.NEEDS_REAUTH},
    O.CLIENT_MANAGED: {S.VALID: S.VALID, S.BACKING_OFF: S.BACKING_OFF, S.PENDING: S.PENDING},
    O.CLIENT_PARTNER: {
        S.VALID: S.INVALID_CLIENT,
        S.BACKING_OFF: S.INVALID_CLIENT,
        S.PENDING: S.INVALID_CLIENT,
    },
    O.RETRIABLE: {S.VALID: S.BACKING_OFF, S.BACKING_OFF: S.BACKING_OFF, S.PENDING: S.BACKING_OFF},
    O.AMBIGUOUS: {S.VALID: S.BACKING_OFF, S.BACKING_OFF: S.BACKING_OFF, S.PENDING: S.BACKING_OFF},
    O.UNRESOLVED: {S.VALID: S.BACKING_OFF, S.BACKING_OFF: S.BACKING_OFF, S.PENDING: S.PENDING},
    O.HANDSHAKE_COMPLETED: {None: S.VALID, **dict.fromkeys(states.STORED, S.VALID)},
    O.CREDENTIALS_REPLACED: {None: S.PENDING, **dict.fromkeys(states.STORED, S.PENDING)},
    O.CREDENTIALS_INCOMPLETE: {None: S.INCOMPLETE, **dict.fromkeys(states.STORED, S.INCOMPLETE)},
}


# ------------------------------------------------------------------------------------ the table
def test_the_table_is_exactly_the_expected_moves() -> None:
    """Every outcome has its moves and no other; refreshing is shown, never stored or reached."""
    assert states.TRANSITIONS == EXPECTED
    for moves in states.TRANSITIONS.values():
        assert S.REFRESHING not in moves
        assert S.REFRESHING not in moves.values()
    assert S.REFRESHING not in states.STORED


@pytest.mark.parametrize(
    ("outcome", "status"), [(o, s) for o, moves in EXPECTED.items() for s in moves], ids=str
)
def test_next_status_follows_the_table(outcome: O, status: S | None) -> None:
    """next_status reads the table, for the enum and for the plain string a row holds."""
    assert states.next_status(outcome, status) == EXPECTED[outcome][status]
    if status is not None:
        assert states.next_status(outcome, str(status)) == EXPECTED[outcome][status]


@pytest.mark.parametrize("outcome", [*REFRESHER, O.UNRESOLVED], ids=str)
@pytest.mark.parametrize("status", [S.NEEDS_REAUTH, S.INVALID_CLIENT, S.INCOMPLETE, None], ids=str)
def test_a_verdict_has_no_move_from_a_status_the_refresher_never_claims(outcome: O, status: S | None) -> None:
    """Credentials waiting for a person are not refreshed, so no verdict moves them."""
    with pytest.raises(states.TransitionError):
        states.next_status(outcome, status)


def test_status_groups() -> None:
    """The groups other modules use are the table's statuses."""
    assert set(states.REFRESHABLE) == {S.VALID, S.BACKING_OFF, S.PENDING}
    assert set(states.DEAD) == {S.NEEDS_REAUTH, S.INVALID_CLIENT}
    assert set(states.UNAVAILABLE) == {S.NEEDS_REAUTH, S.INVALID_CLIENT, S.INCOMPLETE}
    assert states.DEAD_ENDS == {O.REAUTH_CONFIRMED: S.NEEDS_REAUTH, O.CLIENT_PARTNER: S.INVALID_CLIENT}


# ------------------------------------------------------------------------------------ apply
async def _apply(
    ctx: Context,
    credential_id: int,
    outcome: O,
    *,
    stored: bool = False,
    previous: str | None = None,
    problem: states.Problem | None = None,
) -> None:
    async with ctx.db.unit_of_work() as session:
        credential = await session.get(OAuthCredential, credential_id)
        assert credential is not None
        await states.apply(
            session, credential, outcome, now=utcnow(), previous=previous, problem=problem, stored=stored
        )


async def _setup(
    ctx: Context, make_account: MakeAccount, status: S, *, paused: bool = False, **columns: object
) -> tuple[int, int]:
    who = await make_account()
    source_id = await rows.add_source(ctx, who.id, paused=paused, check=True)
    return source_id, await rows.add_credential(ctx, who.id, source_id, status=status, **columns)


@pytest.mark.parametrize(
    ("previous", "event"),
    [
        (S.PENDING, "source.reauthorized"),
        (S.NEEDS_REAUTH, "source.credentials_recovered"),
        (S.INVALID_CLIENT, "source.credentials_recovered"),
    ],
    ids=str,
)
async def test_refreshed_after_pending_or_dead_unpauses_and_says_so_once(
    ctx: Context, make_account: MakeAccount, previous: S, event: str
) -> None:
    """Credentials that work again unpause a source paused for them, with one event."""
    source_id, credential_id = await _setup(ctx, make_account, previous, paused=True)
    await _apply(ctx, credential_id, O.REFRESHED, stored=True, previous=previous)
    source = await rows.source_of(ctx, source_id)
    assert source.system_paused_at is None
    assert source.system_pause_reason is None
    assert [(e.type, e.payload) for e in await rows.events_of(ctx, source_id)] == [
        (event, {"source_id": source_id})
    ]
    # stored: the refresher wrote the status with its swap; apply only ran the effects.
    assert (await rows.credential_of(ctx, credential_id)).status == previous


@pytest.mark.parametrize("previous", [S.VALID, S.BACKING_OFF], ids=str)
async def test_refreshed_from_a_working_status_changes_nothing_else(
    ctx: Context, make_account: MakeAccount, previous: S
) -> None:
    """An ordinary refresh neither unpauses nor announces anything."""
    source_id, credential_id = await _setup(ctx, make_account, previous, paused=True)
    await _apply(ctx, credential_id, O.REFRESHED)
    assert (await rows.credential_of(ctx, credential_id)).status == S.VALID
    assert (await rows.source_of(ctx, source_id)).system_pause_reason == "credentials"
    assert await rows.events_of(ctx, source_id) == []


async def test_refreshed_leaves_a_source_paused_for_another_reason(
    ctx: Context, make_account: MakeAccount
) -> None:
    """Only a pause for the credentials is the credentials' to lift."""
    who = await make_account()
    source_id = await rows.add_source(ctx, who.id)
    credential_id = await rows.add_credential(ctx, who.id, source_id, status=S.PENDING)
    await _apply(ctx, credential_id, O.REFRESHED)
    assert (await rows.source_of(ctx, source_id)).system_paused_at is None
    assert await rows.events_of(ctx, source_id) == []


@pytest.mark.parametrize(("outcome", "dead"), list(states.DEAD_ENDS.items()), ids=str)
@pytest.mark.parametrize("previous", states.REFRESHABLE, ids=str)
async def test_a_dead_end_pauses_announces_and_fails_the_waiting_check(
    ctx: Context, make_account: MakeAccount, outcome: O, dead: S, previous: S
) -> None:
    """Needs a person: the status says so, the source is system-paused, one event names the
    status and the error, and the pending connection check fails with the reason."""
    source_id, credential_id = await _setup(ctx, make_account, previous)
    await _apply(ctx, credential_id, outcome, problem=PROBLEM)
    assert (await rows.credential_of(ctx, credential_id)).status == dead
    source = await rows.source_of(ctx, source_id)
    assert source.system_paused_at is not None
    assert source.system_pause_reason == "credentials"
    events = await rows.events_of(ctx, source_id)
    assert [(e.type, e.payload) for e in events] == [
        (
            "source.credentials_invalid",
            {"source_id": source_id, "status": str(dead), "error": PROBLEM.code, "message": PROBLEM.message},
        )
    ]
    check = await rows.check_of(ctx, source_id)
    assert check.state == "failed"
    assert check.discovery_error_message == f"OAuth token refresh failed ({dead}): {PROBLEM.message}"


async def test_a_dead_end_keeps_an_earlier_pause_time(ctx: Context, make_account: MakeAccount) -> None:
    """A source paused already keeps the moment it was paused."""
    source_id, credential_id = await _setup(ctx, make_account, S.BACKING_OFF, paused=True)
    before = (await rows.source_of(ctx, source_id)).system_paused_at
    await _apply(ctx, credential_id, O.REAUTH_CONFIRMED, problem=PROBLEM)
    assert (await rows.source_of(ctx, source_id)).system_paused_at == before


@pytest.mark.parametrize("fingerprint", ["f" * 64, None], ids=["fingerprint", "none"])
async def test_client_managed_flags_the_app_and_leaves_the_status(
    ctx: Context, make_account: MakeAccount, fingerprint: str | None
) -> None:
    """The operator's app was rejected: it is flagged for the client configured now (when
    there is one), the credential keeps its status, the source is not paused."""
    source_id, credential_id = await _setup(ctx, make_account, S.VALID, app="managed")
    await _apply(
        ctx, credential_id, O.CLIENT_MANAGED, problem=states.Problem("invalid_client", "no", fingerprint)
    )
    assert (await rows.credential_of(ctx, credential_id)).status == S.VALID
    flagged = [(f.provider, f.client_fingerprint, f.reason) for f in await rows.flags(ctx)]
    assert flagged == ([("oauth2", fingerprint, "no")] if fingerprint else [])
    assert (await rows.source_of(ctx, source_id)).system_paused_at is None
    assert await rows.events_of(ctx, source_id) == []


@pytest.mark.parametrize("outcome", [O.REAUTH_FIRST, O.RETRIABLE, O.AMBIGUOUS, O.UNRESOLVED], ids=str)
async def test_waiting_outcomes_have_no_effect_on_the_source(
    ctx: Context, make_account: MakeAccount, outcome: O
) -> None:
    """Backing off (or waiting to find out) pauses nothing, announces nothing, fails no check."""
    source_id, credential_id = await _setup(ctx, make_account, S.VALID)
    await _apply(ctx, credential_id, outcome, problem=PROBLEM)
    assert (await rows.credential_of(ctx, credential_id)).status == S.BACKING_OFF
    assert (await rows.source_of(ctx, source_id)).system_paused_at is None
    assert await rows.events_of(ctx, source_id) == []
    assert (await rows.check_of(ctx, source_id)).state == "pending"


def _held(now: dt.datetime) -> dict[str, object]:
    return {
        "lease_owner": "host:1:2",
        "lease_expires_at": now + dt.timedelta(minutes=1),
        "in_flight_since": now,
        "failures": 4,
        "last_error_class": "reauth",
        "last_error_message": "invalid_grant",
    }


@pytest.mark.parametrize(
    ("outcome", "status", "events"),
    [
        (O.HANDSHAKE_COMPLETED, S.VALID, ["source.reauthorized"]),
        (O.CREDENTIALS_REPLACED, S.PENDING, []),
        (O.CREDENTIALS_INCOMPLETE, S.INCOMPLETE, []),
    ],
    ids=str,
)
async def test_new_credentials_start_a_new_life(
    ctx: Context, make_account: MakeAccount, outcome: O, status: S, events: list[str]
) -> None:
    """Whatever the old credentials were doing no longer applies: lease released, in-flight
    mark and error counters cleared, version and generation moved on (an old refresh's swap
    fails on them). A completed handshake also lifts a credentials pause and says the source
    was re-authorized; partner credentials leave that to the refresh that validates them."""
    source_id, credential_id = await _setup(ctx, make_account, S.NEEDS_REAUTH, paused=True, **_held(utcnow()))
    await _apply(ctx, credential_id, outcome)
    credential = await rows.credential_of(ctx, credential_id)
    assert credential.status == status
    assert (credential.lease_owner, credential.lease_expires_at, credential.in_flight_since) == (
        None,
        None,
        None,
    )
    assert (credential.failures, credential.last_error_class, credential.last_error_message) == (
        0,
        None,
        None,
    )
    assert (credential.version, credential.generation) == (4, 3)
    assert [e.type for e in await rows.events_of(ctx, source_id)] == events
    paused = (await rows.source_of(ctx, source_id)).system_pause_reason == "credentials"
    assert paused == (outcome is not O.HANDSHAKE_COMPLETED)


async def test_replaced_credentials_leave_the_pause_to_their_first_refresh(
    ctx: Context, make_account: MakeAccount
) -> None:
    """New partner credentials are not yet known to work: the source stays paused until the
    refresh that validates them (refreshed from pending) lifts it."""
    source_id, credential_id = await _setup(ctx, make_account, S.NEEDS_REAUTH, paused=True)
    await _apply(ctx, credential_id, O.CREDENTIALS_REPLACED)
    await _apply(ctx, credential_id, O.REFRESHED)
    assert (await rows.source_of(ctx, source_id)).system_paused_at is None
    assert [e.type for e in await rows.events_of(ctx, source_id)] == ["source.reauthorized"]


async def test_a_new_credential_has_its_status_from_the_table(
    ctx: Context, make_account: MakeAccount
) -> None:
    """A credential not stored yet (no status) takes the new life's status."""
    who = await make_account()
    source_id = await rows.add_source(ctx, who.id)
    now = utcnow()
    async with ctx.db.unit_of_work() as session:
        credential = OAuthCredential(
            account_id=who.id, source_id=source_id, provider="oauth2", app="managed", provides=[],
            version=0, failures=0, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(credential)
        await states.apply(session, credential, O.HANDSHAKE_COMPLETED, now=now)
        await session.flush()
        credential_id = credential.id
    stored = await rows.credential_of(ctx, credential_id)
    assert (stored.status, stored.version, stored.generation) == (S.VALID, 1, 1)


def test_visible_status_never_shows_an_interrupted_refresh_as_valid(ctx: Context) -> None:
    """A refreshable credential with an in-flight mark reads refreshing; a dead one keeps its
    status; a managed app flagged for another client is not shown invalid."""
    now = utcnow()
    for status in states.REFRESHABLE:
        marked = OAuthCredential(app="source", provider="oauth2", status=status, in_flight_since=now)
        assert states.visible_status(ctx.providers, marked, {}) == S.REFRESHING
    dead = OAuthCredential(app="source", provider="oauth2", status=S.NEEDS_REAUTH, in_flight_since=now)
    assert states.visible_status(ctx.providers, dead, {}) == S.NEEDS_REAUTH
    managed = OAuthCredential(app="managed", provider="oauth2", status=S.VALID, in_flight_since=None)
    assert states.visible_status(ctx.providers, managed, {"oauth2": "an older client"}) == S.VALID
