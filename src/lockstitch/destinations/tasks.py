"""Work the destinations domain hands the worker: run queued destination connection checks.

    claim (lease, one short transaction) -> probe (no transaction open) -> finish (if the lease
    is still ours, one short transaction)

``CheckDestinations`` is an inline ``jobs.leased_runner.LeasedRunner``: a probe answers within
seconds, so ``run_once`` claims one check and returns when it is recorded. A check whose worker
died keeps ``running`` until its lease lapses; the next worker takes it again (a destination
check is cheap and has no side effects). The outcome is recorded the way a client reads a
Connection Check (spec 3.11, which describes only source checks): ``check_exit_status`` 0 or 1,
and since a destination check exercises the target side, the same code in
``target_exit_status`` with the reason in ``target_error_message``. Discovery and tap fields
stay null: there is no tap.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from lockstitch.context import Context
from lockstitch.destinations import credentials, local, s3, s3_probe
from lockstitch.destinations.probes import Outcome, probe
from lockstitch.jobs.check_runner import CheckRunner
from lockstitch.jobs.checks_repository import CheckRepository
from lockstitch.kit.crypto import DecryptionError
from lockstitch.kit.logging import get_logger
from lockstitch.kit.time import utcnow
from lockstitch.models import CheckState, ConnectionCheck, Destination

log = get_logger("lockstitch.destinations")
# A reachability probe answers within seconds or not at all; a worker must not wait longer.
PROBE_TIMEOUT_SECONDS = 10.0
CheckItem = tuple[ConnectionCheck, Destination]


class CheckDestinations(CheckRunner[Destination]):
    name = "destinations.check"
    subject = "destination"
    model = Destination
    noun = "destination check"
    inline = True

    def concurrency(self, ctx: Context) -> int:
        return 1

    def _probe_seconds(self, ctx: Context) -> float:
        return min(PROBE_TIMEOUT_SECONDS, ctx.settings.runner.check_timeout_seconds)

    def lease_seconds(self, ctx: Context) -> float:
        # Long enough that a probe ends well within it, renewed or not.
        return max(float(ctx.settings.runner.lease_seconds), self._probe_seconds(ctx) * 3)

    def work(self, ctx: Context, worker_id: str, item: CheckItem) -> Coroutine[Any, Any, object]:
        return self._check(ctx, worker_id, item)

    async def crashed(self, ctx: Context, worker_id: str, item: CheckItem, exc: Exception) -> None:
        await self._finish(
            ctx, item[0], worker_id, Outcome(False, f"the check could not run ({type(exc).__name__})")
        )

    def describe(self, item: CheckItem) -> dict[str, Any]:
        return {"check": item[0].name}

    async def _check(self, ctx: Context, worker_id: str, item: CheckItem) -> None:
        check, destination = item
        try:
            outcome = await self._probe(ctx, destination, self._probe_seconds(ctx))
        except Exception as exc:  # a check must end, whatever broke; the log has the traceback
            log.exception("destination check failed unexpectedly", check=check.name)
            outcome = Outcome(False, f"the check could not run ({type(exc).__name__})")
        await self._finish(ctx, check, worker_id, outcome)

    async def _probe(self, ctx: Context, destination: Destination, seconds: float) -> Outcome:
        if destination.deleted_at is not None:
            return Outcome(False, "the destination was deleted")
        destination_type = ctx.catalog.destination_type(destination.type)
        if destination_type is None:
            return Outcome(False, f"destination type {destination.type} is no longer in the catalogue")
        try:
            secrets = credentials.unseal_all(ctx.keyring, destination)
        except DecryptionError:
            return Outcome(False, "a stored credential cannot be decrypted; set it again")
        if destination_type.details.protocol == s3.PROTOCOL and "s3_bucket" in destination_type.properties:
            # A bucket to probe (data.world shares Stitch's s3 protocol but has none: it gets
            # its API probe). The operator's S3 identity and the process's HTTP client.
            return await s3_probe.probe(ctx.http, ctx.settings.s3, destination.properties, secrets, seconds)
        warehouse = local.Warehouse.of(ctx.settings, destination.account_id)
        return await probe(
            destination_type, destination.properties, secrets, warehouse, ctx.outbound, seconds
        )

    async def _finish(self, ctx: Context, check: ConnectionCheck, worker_id: str, outcome: Outcome) -> None:
        status = 0 if outcome.ok else 1
        values: dict[str, Any] = {
            "state": CheckState.SUCCEEDED if outcome.ok else CheckState.FAILED,
            "completion_time": utcnow(),
            "check_exit_status": status,
            "target_exit_status": status,
            "target_error_message": outcome.message,
            "log": "\n".join(outcome.log + ([outcome.message] if outcome.message else [])) or None,
        }
        async with ctx.db.unit_of_work() as session:
            stored = await CheckRepository(session).finish(check.id, worker_id, values)
        if not stored:  # the lease lapsed and another worker took the check over
            log.warning("destination check outcome dropped: lease lost", check=check.name)
        else:
            log.info("destination check finished", check=check.name, succeeded=outcome.ok)
