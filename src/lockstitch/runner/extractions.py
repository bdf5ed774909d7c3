"""One extraction (spec 2.7, 3.12): ``tap | target`` for a source, its log, state and loads.

    claim (lease) -> plugins ready -> catalog from the selection -> tap config (OAuth: token
    relay) + target config (the destination; schema = the source's name) + last confirmed state
    -> tap | target (time limit, cancellable) -> records per stream, the target's last STATE
    -> the values the tap rewrote in its config (``writes_back``) stored on the source
    -> store state, loads, the extraction's statuses and its log, in one transaction

The catalog comes from the source's last successful discovery (its connection check): taps are
not re-discovered on every run, so ``discovery_exit_status`` is that discovery's 0. Only state
the target printed is kept (its records are loaded): a failed or killed run resumes from the
last confirmed state and may repeat rows, never skip them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockstitch.catalog import s3_access
from lockstitch.catalog.models import TapDef, TargetDef
from lockstitch.catalog.source_type import SourceType
from lockstitch.catalog.tap_config import ConfigError
from lockstitch.context import Context
from lockstitch.destinations.service import target_config
from lockstitch.jobs import joblog
from lockstitch.kit.crypto import DecryptionError
from lockstitch.kit.logging import get_logger
from lockstitch.kit.time import utcnow
from lockstitch.models import Destination, Extraction, ExtractionState, Source
from lockstitch.oauth.vending import CredentialsUnavailable
from lockstitch.runner.connection import tap_connection
from lockstitch.runner.extraction_store import ExtractionStore, Outcome
from lockstitch.runner.messages import error_message
from lockstitch.runner.pipeline import PipeResult, run_pipe
from lockstitch.runner.plugins import PluginInstallError, Plugins
from lockstitch.runner.workspace import workspace
from lockstitch.runner.write_back import write_back
from lockstitch.streams.selection import is_selected, singer_catalog

log = get_logger("lockstitch.runner.extractions")
TERMINATED = "Terminated"


class RunFailedError(Exception):
    """The run could not start; ``outcome`` says what to record."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.tap_description or outcome.target_description or "failed")
        self.outcome = outcome


@dataclass
class ExtractionRun:
    ctx: Context
    worker_id: str
    extraction: Extraction
    plugins: Plugins
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    log: joblog.JobLog = field(default_factory=joblog.JobLog)

    async def run(self) -> Outcome:
        store = ExtractionStore(self.ctx, self.worker_id, self.extraction)
        self.log.line("main", "INFO", f"Starting extraction {self.extraction.job_name}")
        try:
            outcome = await self._run(store)
        except RunFailedError as failed:
            outcome = failed.outcome
        self.log.line(
            "main",
            "INFO",
            joblog.exit_line(
                outcome.discovery_exit_status, outcome.tap_exit_status, outcome.target_exit_status
            ),
        )
        outcome.finished_at = utcnow()
        await store.finish(outcome, self.log.text())
        log.info(
            "extraction finished",
            job=self.extraction.job_name,
            state=outcome.state,
            records=sum(outcome.records.values()),
        )
        return outcome

    async def _run(self, store: ExtractionStore) -> Outcome:
        source, streams, destination, state = await store.inputs()
        source_type, tap = self._tap(source)
        target, target_protocol = self._target(destination)
        assert destination is not None  # _target refused a missing one
        tap_exe = await self._plugin(tap, "tap")
        target_exe = await self._plugin(target, "target")
        await store.set_source_type(tap.executable)
        try:
            target_settings = await target_config(self.ctx, destination, source.name)
        except (ConfigError, DecryptionError) as exc:
            raise RunFailedError(
                _failed(target_description=f"the destination cannot be used: {exc}")
            ) from None
        target_env = s3_access.environment(self.ctx.settings.s3, target_protocol)
        self.log.secrets += s3_access.secrets(self.ctx.settings.s3, target_protocol)
        limit = self.ctx.settings.runner.extraction_timeout_seconds
        catalog = singer_catalog(streams)
        # Taps name streams in their messages by catalog "stream" or by tap_stream_id; both
        # mean the stream whose stream_name the log and the loads use (spec 9.13).
        names = {key: s.stream_name for s in streams for key in (s.tap_stream_id, _message_stream(s))}
        selected = [s.stream_name for s in streams if is_selected(s)]
        try:
            async with tap_connection(
                self.ctx, self.worker_id, source, source_type, tap, limit, self.log.secrets
            ) as connection:
                with workspace(self.ctx.settings.home / "tmp", prefix="run-") as ws:
                    tap_argv: list[str | Path] = [
                        tap_exe,
                        "--config",
                        ws.write_json("tap.json", connection.config),
                    ]
                    tap_argv += [tap.catalog_flag, ws.write_json("catalog.json", catalog)]
                    if state is not None:
                        tap_argv += ["--state", ws.write_json("state.json", state)]
                    target_argv: list[str | Path] = [
                        target_exe,
                        "--config",
                        ws.write_json("target.json", target_settings),
                    ]
                    self.log.line("main", "INFO", f"Running {tap.executable} | {target.executable}")
                    try:
                        result = await run_pipe(
                            tap_argv,
                            target_argv,
                            workdir=ws.path,
                            time_limit=limit,
                            on_tap_line=lambda line: self.log.line("tap", "INFO", line),
                            on_target_line=lambda line: self.log.line("target", "INFO", line),
                            cancelled=self.cancelled,
                            tap_env=connection.env,
                            target_env=target_env,
                        )
                    finally:
                        # Whatever the run's outcome: a token the tap rotated is live now.
                        await write_back(
                            self.ctx,
                            source,
                            source_type,
                            tap,
                            connection.config,
                            ws,
                            "tap.json",
                            self.log.secrets,
                        )
        except CredentialsUnavailable as exc:
            raise RunFailedError(
                _failed(tap_description=f"the source's OAuth credentials cannot be used: {exc.message}")
            ) from None
        except ConfigError as exc:
            raise RunFailedError(_failed(tap_description=str(exc))) from None
        return self._outcome(result, names, selected, state)

    def _outcome(
        self, result: PipeResult, names: dict[str, str], selected: list[str], state: Any | None
    ) -> Outcome:
        # Spec 9.13: a line for every selected stream, 0 when it emitted nothing, so a client
        # counting one line per selected stream is not left waiting (no load is recorded for 0).
        records: dict[str, int] = dict.fromkeys(selected, 0)
        for message_stream, count in result.records.items():
            name = names.get(message_stream, message_stream)
            records[name] = records.get(name, 0) + count
        for name, count in sorted(records.items()):
            self.log.line("tap", "INFO", f'replicated {count} records from "{name}" endpoint')
        outcome = Outcome(
            records=records, new_state=result.last_state if result.last_state != state else None
        )
        outcome.discovery_exit_status = 0
        if result.cancelled:
            outcome.state = ExtractionState.CANCELLED
            outcome.tap_exit_status, outcome.target_exit_status = result.tap_exit, result.target_exit
            outcome.tap_description = outcome.target_description = TERMINATED
            return outcome
        outcome.tap_exit_status = result.tap_exit
        outcome.target_exit_status = result.target_exit
        if result.timed_out:
            limit = self.ctx.settings.runner.extraction_timeout_seconds
            outcome.tap_description = f"the run did not finish within {limit:g} seconds"
        elif result.tap_exit != 0 and result.tap_stopped_for_target:
            outcome.tap_description = "stopped: the target exited before taking all records"
        elif result.tap_exit != 0:
            outcome.tap_description = error_message(
                result.tap_tail, self.log.secrets, f"the tap exited with {result.tap_exit}"
            )
        if result.target_exit != 0:
            outcome.target_description = error_message(
                result.target_tail, self.log.secrets, f"the target exited with {result.target_exit}"
            )
        outcome.state = (
            ExtractionState.SUCCEEDED
            if result.tap_exit == 0 and result.target_exit == 0 and not result.timed_out
            else ExtractionState.FAILED
        )
        return outcome

    def _tap(self, source: Source) -> tuple[SourceType, TapDef]:
        source_type = self.ctx.catalog.source_type(source.type)
        if source_type is None or source_type.definition.tap is None:
            raise RunFailedError(
                _failed(tap_description=f"source type {source.type} names no tap in the catalogue")
            )
        return source_type, source_type.definition.tap

    def _target(self, destination: Destination | None) -> tuple[TargetDef, str]:
        if destination is None:
            raise RunFailedError(
                _failed(target_description="no destination: create one with POST /v4/destinations")
            )
        destination_type = self.ctx.catalog.destination_type(destination.type)
        if destination_type is None or destination_type.definition.target is None:
            raise RunFailedError(
                _failed(target_description=f"destination type {destination.type} has no target")
            )
        return destination_type.definition.target, destination_type.details.protocol

    async def _plugin(self, plugin: TapDef | TargetDef, role: str) -> str:
        try:
            return str(
                await self.plugins.ensure(plugin, log=lambda line: self.log.line("main", "INFO", line))
            )
        except PluginInstallError as exc:
            key = "tap_description" if role == "tap" else "target_description"
            raise RunFailedError(_failed(**{key: f"the {role} could not be installed: {exc}"})) from None


def _failed(**descriptions: str) -> Outcome:
    outcome = Outcome(records={}, new_state=None, state=ExtractionState.FAILED)
    outcome.tap_description = descriptions.get("tap_description")
    outcome.target_description = descriptions.get("target_description")
    # The step that failed gets status 1; steps that never ran stay null.
    outcome.tap_exit_status = 1 if outcome.tap_description else None
    outcome.target_exit_status = 1 if outcome.target_description else None
    return outcome


def _message_stream(stream: Any) -> str:
    """The stream name the tap uses in its messages (SDK SQL taps: "<schema>-<table>")."""
    entry = stream.catalog_entry or {}
    value = entry.get("stream")
    return value if isinstance(value, str) and value else str(stream.tap_stream_id)
