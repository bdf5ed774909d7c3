"""What an extraction reads before it runs and writes when it ends (through the repositories
of its tables: ``jobs.extractions_repository``, ``sources.repository``, ``streams.repository``).

The end is one transaction: the extraction's statuses, its log, the state the target confirmed
and the per-stream loads, written only if this worker still holds the extraction's lease, and
releasing it (``ExtractionRepository.end``, over ``jobs.leases.finish``: a worker that lost it,
say after a long stall, must not overwrite the outcome recorded by whoever finished the job as
failed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lockstitch.context import Context
from lockstitch.destinations.service import destination_for_source
from lockstitch.jobs.extractions_repository import ExtractionRepository, LoadRepository, SourceStateRepository
from lockstitch.kit.time import utcnow
from lockstitch.models import Destination, Extraction, ExtractionState, Source, Stream
from lockstitch.sources.repository import SourceRepository
from lockstitch.streams.repository import StreamRepository


@dataclass
class Outcome:
    records: dict[str, int]
    new_state: Any | None
    state: str = ExtractionState.FAILED
    discovery_exit_status: int | None = None
    discovery_description: str | None = None
    tap_exit_status: int | None = None
    tap_description: str | None = None
    target_exit_status: int | None = None
    target_description: str | None = None
    finished_at: dt.datetime = field(default_factory=utcnow)


def loaded_at(moment: dt.datetime) -> dt.datetime:
    """Spec 9.16: a load is never earlier than the log's last line, at whole seconds: round up."""
    if moment.microsecond == 0:
        return moment
    return moment.replace(microsecond=0) + dt.timedelta(seconds=1)


class ExtractionStore:
    def __init__(self, ctx: Context, worker_id: str, extraction: Extraction) -> None:
        self.ctx = ctx
        self.worker_id = worker_id
        self.extraction = extraction
        self.source_name = ""

    async def inputs(self) -> tuple[Source, list[Stream], Destination | None, Any | None]:
        async with self.ctx.db.read() as session:
            source = await SourceRepository(session).by_id(self.extraction.source_id)
            assert source is not None  # the extraction row cascades with its source
            streams = await StreamRepository(session).streams_of(source.id)
            destination = await destination_for_source(session, source.account_id, source.destination_id)
            saved = await SourceStateRepository(session).get(source.id)
        self.source_name = source.name
        return source, streams, destination, saved

    async def set_source_type(self, tap_name: str) -> None:
        async with self.ctx.db.unit_of_work() as session:
            await ExtractionRepository(session).write_held(
                self.extraction.id, self.worker_id, {"source_type": tap_name}
            )

    async def finish(self, outcome: Outcome, log_text: str) -> bool:
        now = outcome.finished_at
        async with self.ctx.db.unit_of_work() as session:
            values = {
                "state": outcome.state,
                "completion_time": now,
                "records": outcome.records,
                "discovery_exit_status": outcome.discovery_exit_status,
                "discovery_description": outcome.discovery_description,
                "tap_exit_status": outcome.tap_exit_status,
                "tap_description": outcome.tap_description,
                "target_exit_status": outcome.target_exit_status,
                "target_description": outcome.target_description,
            }
            if not await ExtractionRepository(session).end(
                self.extraction.id, self.worker_id, values, log_text
            ):
                return False
            if outcome.new_state is not None:
                await SourceStateRepository(session).keep(
                    self.extraction.source_id, outcome.new_state, self.extraction.job_name, now
                )
            if outcome.state != ExtractionState.CANCELLED:
                await self._record_loads(session, outcome, now)
        return True

    async def _record_loads(self, session: AsyncSession, outcome: Outcome, now: dt.datetime) -> None:
        loaded = outcome.target_exit_status == 0
        loads = LoadRepository(session)
        for stream_name, count in outcome.records.items():
            if count <= 0:
                continue
            load = await loads.for_stream(self.extraction.account_id, self.extraction.source_id, stream_name)
            load.source_name = self.source_name
            load.job_name = self.extraction.job_name
            load.updated_at = now
            load.last_batch_loaded_at = loaded_at(now) if loaded else None
            load.error_state = (
                None if loaded else _error_state(outcome.target_description or "the load failed")
            )


def _error_state(message: str) -> dict[str, Any]:
    """Stitch's error_state shape (spec 3.13), filled with what the target said."""
    return {
        "notification_data": {
            "message": message,
            "exception_message": message,
            "warehouse_error_code": None,
            "error": "LOADER_WAREHOUSE_ERROR",
            "new_column": None,
            "status": "ERROR",
            "warehouse_sql_state": None,
            "action": "load",
            "warehouse_message": message,
            "column": None,
        },
        "exception_chain": [
            {
                "class": "lockstitch.TargetFailed",
                "message": message,
                "chain_sequence_num": 0,
                "action": "load",
            }
        ],
    }
