"""A source's replication schedule: the Stitch ``schedule`` object and its ``next_fire_time``.

Precedence (Stitch's): ``cron_expression`` wins over ``frequency_in_minutes``; ``anchor_time``
pins interval fires to ``anchor + k * interval``. Without an anchor, the interval counts from the
moment the source became fully configured. No schedule (``null``) until the source is fully
configured, and while it is paused, system-paused or deleted.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Protocol

from lockstitch.catalog.source_type import SourceType
from lockstitch.jobs import quartz
from lockstitch.kit.time import parse_timestamp, to_wire


@dataclass(frozen=True)
class ScheduleInputs:
    frequency_in_minutes: str | None
    anchor_time: str | None
    cron_expression: str | None
    default_interval: int | None
    fully_configured_at: dt.datetime | None
    active: bool  # not paused, not system-paused, not deleted


class Stoppable(Protocol):
    """The times that stop a source (or a destination): paused, system-paused, deleted."""

    @property
    def paused_at(self) -> dt.datetime | None: ...
    @property
    def system_paused_at(self) -> dt.datetime | None: ...
    @property
    def deleted_at(self) -> dt.datetime | None: ...


class Scheduled(Stoppable, Protocol):
    """What a schedule reads of a source: an ORM ``Source`` or a ``sources.repository`` record."""

    @property
    def properties(self) -> dict[str, Any]: ...
    @property
    def fully_configured_at(self) -> dt.datetime | None: ...


def schedule_inputs(source: Scheduled, source_type: SourceType | None) -> ScheduleInputs:
    """The schedule facts of a source, read by both the Source object (``sources.views``) and the
    scheduler, so the two cannot disagree about when a source runs."""
    props = source.properties
    return ScheduleInputs(
        frequency_in_minutes=props.get("frequency_in_minutes"),
        anchor_time=props.get("anchor_time"),
        cron_expression=props.get("cron_expression"),
        default_interval=source_type.details.default_scheduling_interval if source_type else None,
        fully_configured_at=source.fully_configured_at,
        active=source.paused_at is None and source.system_paused_at is None and source.deleted_at is None,
    )


def interval_minutes(inputs: ScheduleInputs) -> int:
    if inputs.frequency_in_minutes:
        return int(inputs.frequency_in_minutes)
    return inputs.default_interval or 60


def next_fire_time(inputs: ScheduleInputs, now: dt.datetime) -> dt.datetime | None:
    if not inputs.active or inputs.fully_configured_at is None:
        return None
    if inputs.cron_expression:
        return quartz.parse(inputs.cron_expression).next_after(now)
    period = dt.timedelta(minutes=interval_minutes(inputs))
    anchor = parse_timestamp(inputs.anchor_time) if inputs.anchor_time else inputs.fully_configured_at
    # Fire on whole seconds, like cron schedules and like the wire format: with a fractional
    # anchor (fully_configured_at keeps microseconds) the truncated wire value of the next fire
    # could be earlier than the request itself (fire 13:00:00.7 shown as 13:00:00Z at 13:00:00.3).
    anchor = anchor.replace(microsecond=0)
    if anchor > now:
        return anchor
    steps = math.floor((now - anchor) / period) + 1
    return anchor + steps * period


def schedule_json(inputs: ScheduleInputs, now: dt.datetime) -> dict[str, Any] | None:
    fire = next_fire_time(inputs, now)
    if fire is None:
        return None
    if inputs.cron_expression:
        return {"type": "cron", "cron_expression": inputs.cron_expression, "next_fire_time": to_wire(fire)}
    return {
        "type": "interval",
        "unit": "minute",
        "interval": float(interval_minutes(inputs)),
        "next_fire_time": to_wire(fire),
    }
