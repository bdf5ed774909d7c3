"""Connection check + discovery of one source (spec 3.11), run by a worker.

    claim (lease) -> plugin ready? (install on first use) -> tap config (OAuth: fresh token)
      -> tap --discover (time limit) -> [tap --test] -> values the tap rewrote in its config
      (``writes_back``) stored on the source -> store streams, check succeeded
    any step failing -> check failed with a message a person can act on (secrets scrubbed)

The source's step follows from the check's state (``catalog.report_card``): succeeded moves it
to ``field_selection``; failed leaves it at ``discover_schema``. Only the source's current check
(``source.check_job_name``) may store streams: a check overtaken by a newer PUT still records its
own outcome but leaves the catalog alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockstitch.catalog.models import TapDef
from lockstitch.catalog.source_type import SourceType
from lockstitch.catalog.tap_config import ConfigError
from lockstitch.context import Context
from lockstitch.jobs.checks_repository import CheckRepository
from lockstitch.kit.logging import get_logger, scrub
from lockstitch.kit.time import utcnow
from lockstitch.models import CheckState, ConnectionCheck, Source
from lockstitch.oauth.lifecycle import TokenEngine
from lockstitch.oauth.states import CredentialStatus
from lockstitch.oauth.vending import CredentialsUnavailable
from lockstitch.runner.connection import tap_connection
from lockstitch.runner.discovered import normalize
from lockstitch.runner.messages import error_message
from lockstitch.runner.plugins import PluginInstallError, Plugins
from lockstitch.runner.process import Finished, run_plugin
from lockstitch.runner.workspace import Workspace, workspace
from lockstitch.runner.write_back import write_back
from lockstitch.streams.service import store_discovered_catalog

log = get_logger("lockstitch.runner.checks")
# A tap refused with the token Lockstitch handed it: worth asking the provider about the grant.
_REJECTED = re.compile(r"\b(401|403)\b|unauthori[sz]ed|invalid[_ ]token|forbidden|expired", re.IGNORECASE)
_LOG_LINES = 400


class CheckFailedError(Exception):
    """Ends a check as failed; ``values`` are the Connection Check fields to record."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        # Failures before discovery ran (install, credentials, config) still put their reason
        # where clients read a check's error: discovery_error_message.
        self.values = {"check_exit_status": 1, "discovery_error_message": message, **values}
        self.message = message


@dataclass
class CheckRun:
    ctx: Context
    worker_id: str
    check: ConnectionCheck
    source: Source
    plugins: Plugins
    lines: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        if len(self.lines) < _LOG_LINES:
            self.lines.append(f"{utcnow():%Y-%m-%d %H:%M:%S}Z {scrub(line, self.secrets)}")

    async def run(self) -> None:
        try:
            catalog, test = await self._check()
        except CheckFailedError as failed:
            self.note(f"check failed: {failed.message}")
            log.info("connection check failed", check=self.check.name, reason=failed.message)
            await self._record(CheckState.FAILED, failed.values)
            return
        self.note(f"discovered {len(catalog['streams'])} streams")
        await self._record(
            CheckState.SUCCEEDED,
            {"check_exit_status": 0, "discovery_exit_status": 0, "tap_exit_status": test},
            catalog,
        )
        log.info("connection check succeeded", check=self.check.name, streams=len(catalog["streams"]))

    # ------------------------------------------------------------------------------- the steps
    async def _check(self) -> tuple[dict[str, Any], int | None]:
        source_type, tap = self._tap()
        runner = self.ctx.settings.runner
        try:
            # The connection first: a host the outbound policy refuses ends the check before a
            # plugin is installed or started.
            async with tap_connection(
                self.ctx,
                self.worker_id,
                self.source,
                source_type,
                tap,
                runner.check_timeout_seconds,
                self.secrets,
            ) as connection:
                executable = await self._plugin(tap)
                return await self._discover(source_type, tap, executable, connection.config, connection.env)
        except CredentialsUnavailable as exc:
            raise CheckFailedError(f"the source's OAuth credentials cannot be used: {exc.message}") from None
        except ConfigError as exc:
            raise CheckFailedError(str(exc)) from None

    async def _discover(
        self,
        source_type: SourceType,
        tap: TapDef,
        executable: str,
        tap_config: dict[str, Any],
        env: dict[str, str],
    ) -> tuple[dict[str, Any], int | None]:
        with workspace(self.ctx.settings.home / "tmp", prefix="check-") as ws:
            config = ws.write_json("config.json", tap_config)
            try:
                return await self._run_tap(source_type, tap, executable, ws, config, env)
            finally:
                # Discovery may have rotated a token too, whether or not the check succeeds.
                await write_back(
                    self.ctx, self.source, source_type, tap, tap_config, ws, "config.json", self.secrets
                )

    async def _run_tap(
        self,
        source_type: SourceType,
        tap: TapDef,
        executable: str,
        ws: Workspace,
        config: Path,
        env: dict[str, str],
    ) -> tuple[dict[str, Any], int | None]:
        runner = self.ctx.settings.runner
        self.note(f"running {tap.executable} --discover")
        finished = await run_plugin(
            [executable, "--config", config, "--discover"],
            workdir=ws.path,
            time_limit=runner.check_timeout_seconds,
            on_stderr=self.note,
            env=env,
        )
        if finished.exit_code != 0 or finished.timed_out:
            message = await self._discovery_failure(source_type, finished)
            # Stitch's failed checks carry the discovery's status and message, and a null
            # check status (the check itself never ran).
            raise CheckFailedError(
                message,
                check_exit_status=None,
                discovery_exit_status=finished.exit_code if not finished.timed_out else 124,
                discovery_error_message=message,
            )
        catalog = normalize(_catalog_of(finished.stdout))
        test = None
        if tap.sdk and tap.test_connection:
            test = await self._test(executable, ws.write_json("catalog.json", catalog), config, ws.path, env)
        return catalog, test

    def _tap(self) -> tuple[SourceType, TapDef]:
        if self.source.deleted_at is not None:
            raise CheckFailedError("the source is deleted")
        source_type = self.ctx.catalog.source_type(self.source.type)
        if source_type is None:
            raise CheckFailedError(f"source type {self.source.type} is no longer in the catalogue")
        tap = source_type.definition.tap
        if tap is None:
            raise CheckFailedError(f"source type {self.source.type} names no tap")
        return source_type, tap

    async def _plugin(self, tap: TapDef) -> str:
        # A missing plugin is installed on first use; pip's progress goes into the check's log.
        try:
            return str(await self.plugins.ensure(tap, log=self.note))
        except PluginInstallError as exc:
            raise CheckFailedError(f"the tap could not be installed: {exc}") from None

    async def _discovery_failure(self, source_type: SourceType, finished: Finished) -> str:
        if finished.timed_out:
            limit = self.ctx.settings.runner.check_timeout_seconds
            return f"discovery did not finish within {limit:g} seconds"
        message = error_message(
            finished.stderr_tail, self.secrets, f"discovery exited with status {finished.exit_code}"
        )
        if source_type.definition.oauth is not None and _REJECTED.search(message):
            engine = TokenEngine(self.ctx, self.worker_id)
            status = await engine.confirm_rejected(self.source.account_id, self.source.id)
            if status == CredentialStatus.NEEDS_REAUTH:
                return f"the provider revoked the source's OAuth grant; it needs re-authorization ({message})"
        return message

    async def _test(
        self, executable: str, catalog: Any, config: Any, workdir: Any, env: dict[str, str]
    ) -> int:
        self.note("running --test (one record per stream)")
        finished = await run_plugin(
            [executable, "--config", config, "--catalog", catalog, "--test"],
            workdir=workdir,
            time_limit=self.ctx.settings.runner.check_timeout_seconds,
            on_stderr=self.note,
            env=env,
        )
        if finished.exit_code != 0 or finished.timed_out:
            message = error_message(
                finished.stderr_tail, self.secrets, f"--test exited with {finished.exit_code}"
            )
            raise CheckFailedError(
                message,
                discovery_exit_status=0,
                tap_exit_status=finished.exit_code,
                tap_error_message=message,
            )
        return 0

    # ---------------------------------------------------------------------------- the outcome
    async def _record(
        self, state: str, values: dict[str, Any], catalog: dict[str, Any] | None = None
    ) -> None:
        now = utcnow()
        async with self.ctx.db.unit_of_work() as session:
            repo = CheckRepository(session)
            source = await repo.lock_source(self.source.id)
            recorded = await repo.finish(
                self.check.id,
                self.worker_id,
                {**values, "state": state, "completion_time": now, "log": "\n".join(self.lines)},
            )
            if (
                recorded
                and catalog is not None
                and source is not None
                and source.check_job_name == self.check.name
            ):
                await store_discovered_catalog(session, source, catalog, now)


def _catalog_of(stdout: bytes) -> dict[str, Any]:
    """The catalog a tap printed. Some taps log to stdout before it: take the last JSON document."""
    text = stdout.decode("utf-8", "replace").strip()
    start = text.find("{")
    while start != -1:
        try:
            catalog = json.loads(text[start:])
        except json.JSONDecodeError:
            start = text.find("\n{", start + 1)
            start = start + 1 if start != -1 else -1
            continue
        if isinstance(catalog, dict) and isinstance(catalog.get("streams"), list):
            return catalog
        break
    raise CheckFailedError(
        "discovery printed no catalog (expected a JSON object with a streams list)",
        check_exit_status=None,
        discovery_exit_status=1,
        discovery_error_message="discovery printed no catalog",
    )
