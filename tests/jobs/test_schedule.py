"""A source's schedule: interval (with or without anchor_time) or Quartz cron, and ``next_fire_time``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockstitch.jobs.quartz import CronError
from lockstitch.jobs.schedule import ScheduleInputs, interval_minutes, next_fire_time, schedule_json
from tests.stitch_docs import doc_example

UTC = dt.UTC
WIRE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def t(text: str) -> dt.datetime:
    """``"2024-06-03 12:00"`` -> an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def inputs(**changes: Any) -> ScheduleInputs:
    """A fully configured, active, hourly source without anchor or cron, with ``changes``."""
    base = ScheduleInputs(
        frequency_in_minutes="60",
        anchor_time=None,
        cron_expression=None,
        default_interval=None,
        fully_configured_at=t("2024-01-01 00:00"),
        active=True,
    )
    return replace(base, **changes)


# --- Stitch's examples ------------------------------------------------------------------------


def test_stitch_source_object_example() -> None:
    """The documented Source: hourly, anchored at 22:00, read at 18:07:32 -> next fire 19:00."""
    source = doc_example("sources/sources-object")
    props = source["properties"]
    assert props["anchor_time"] == "2018-11-06T22:00:00.000Z"
    schedule = inputs(
        frequency_in_minutes=props["frequency_in_minutes"],
        anchor_time=props["anchor_time"],
        cron_expression=props["cron_expression"],
        fully_configured_at=t("2018-11-06 21:20:32"),
    )
    assert schedule_json(schedule, t("2020-06-22 18:07:32")) == source["schedule"]
    assert source["schedule"] == doc_example("schedule/schedule-object", "Interval-based schedule")


def test_stitch_cron_schedule_example() -> None:
    example = doc_example("schedule/schedule-object", "Cron-based schedule")
    schedule = inputs(cron_expression=example["cron_expression"], frequency_in_minutes="60")
    # Saturday 2020-06-20: the next weekday noon is Monday the 22nd.
    assert schedule_json(schedule, t("2020-06-20 09:30:00")) == example


# --- interval schedules -----------------------------------------------------------------------


def test_anchor_in_the_past_gives_the_next_anchor_plus_k_intervals() -> None:
    schedule = inputs(anchor_time="2024-01-01T00:10:00Z", frequency_in_minutes="60")
    assert next_fire_time(schedule, t("2024-01-02 05:30")) == t("2024-01-02 06:10")
    assert next_fire_time(schedule, t("2024-01-02 05:09:59.999999")) == t("2024-01-02 05:10")
    assert next_fire_time(schedule, t("2024-03-15 23:59:59")) == t("2024-03-16 00:10")


def test_anchor_in_the_past_with_longer_intervals() -> None:
    daily = inputs(anchor_time="2023-05-05T03:00:00Z", frequency_in_minutes="1440")
    assert next_fire_time(daily, t("2024-06-03 12:00")) == t("2024-06-04 03:00")
    assert next_fire_time(daily, t("2024-06-03 02:59")) == t("2024-06-03 03:00")
    six_hourly = inputs(anchor_time="2024-01-01T01:00:00Z", frequency_in_minutes="360")
    assert next_fire_time(six_hourly, t("2024-01-10 08:00")) == t("2024-01-10 13:00")
    half_hourly = inputs(anchor_time="2024-01-01T00:20:00Z", frequency_in_minutes="30")
    assert next_fire_time(half_hourly, t("2024-01-01 10:00")) == t("2024-01-01 10:20")
    assert next_fire_time(half_hourly, t("2024-01-01 10:21")) == t("2024-01-01 10:50")


def test_now_exactly_on_a_fire_time_gives_the_following_one() -> None:
    schedule = inputs(anchor_time="2024-01-01T00:10:00Z", frequency_in_minutes="60")
    assert next_fire_time(schedule, t("2024-01-02 05:10")) == t("2024-01-02 06:10")
    # ...including the anchor itself.
    assert next_fire_time(schedule, t("2024-01-01 00:10")) == t("2024-01-01 01:10")


def test_anchor_in_the_future_is_the_next_fire_time() -> None:
    schedule = inputs(anchor_time="2030-01-01T00:00:00Z", frequency_in_minutes="60")
    assert next_fire_time(schedule, t("2024-06-03 12:00")) == t("2030-01-01 00:00")
    # Even when it is less than an interval away.
    assert next_fire_time(schedule, t("2029-12-31 23:59:59")) == t("2030-01-01 00:00")


def test_anchor_time_with_an_offset_is_read_as_utc() -> None:
    schedule = inputs(anchor_time="2030-01-01T02:00:00+02:00")
    assert next_fire_time(schedule, t("2024-06-03 12:00")) == t("2030-01-01 00:00")
    past = inputs(anchor_time="2024-01-01T00:10:00-05:00", frequency_in_minutes="60")  # 05:10 UTC
    assert next_fire_time(past, t("2024-01-02 05:30")) == t("2024-01-02 06:10")


def test_without_anchor_the_interval_counts_from_fully_configured() -> None:
    schedule = inputs(fully_configured_at=t("2024-05-01 08:20"), frequency_in_minutes="30")
    assert next_fire_time(schedule, t("2024-05-01 08:20")) == t("2024-05-01 08:50")
    assert next_fire_time(schedule, t("2024-05-01 09:00")) == t("2024-05-01 09:20")
    assert next_fire_time(schedule, t("2024-05-03 17:49:59")) == t("2024-05-03 17:50")


def test_anchor_time_wins_over_fully_configured_at() -> None:
    schedule = inputs(anchor_time="2024-01-01T00:45:00Z", fully_configured_at=t("2024-01-01 00:20"))
    assert next_fire_time(schedule, t("2024-01-01 03:00")) == t("2024-01-01 03:45")


def test_every_minute() -> None:
    schedule = inputs(frequency_in_minutes="1", fully_configured_at=t("2024-01-01 00:00:30"))
    assert next_fire_time(schedule, t("2024-06-03 12:00:10")) == t("2024-06-03 12:00:30")
    assert next_fire_time(schedule, t("2024-06-03 12:00:30")) == t("2024-06-03 12:01:30")


@pytest.mark.parametrize(
    ("frequency", "default", "expected"),
    [
        ("30", 360, 30),  # set: the default does not matter
        ("1440", None, 1440),
        (None, 360, 360),  # unset: the source type's default
        ("", 720, 720),
        (None, None, 60),  # no default either: hourly
        ("", None, 60),
    ],
)
def test_interval_minutes(frequency: str | None, default: int | None, expected: int) -> None:
    schedule = inputs(frequency_in_minutes=frequency, default_interval=default)
    assert interval_minutes(schedule) == expected
    body = schedule_json(schedule, t("2024-06-03 12:00"))
    assert body is not None
    assert body["interval"] == float(expected)
    assert isinstance(body["interval"], float)


def test_default_interval_drives_next_fire_time() -> None:
    schedule = inputs(
        frequency_in_minutes=None, default_interval=360, fully_configured_at=t("2024-06-03 01:00")
    )
    assert next_fire_time(schedule, t("2024-06-03 08:00")) == t("2024-06-03 13:00")
    assert next_fire_time(replace(schedule, default_interval=None), t("2024-06-03 08:00")) == t(
        "2024-06-03 09:00"
    )


# --- cron ---------------------------------------------------------------------------------------


def test_cron_wins_over_frequency_and_anchor() -> None:
    schedule = inputs(
        cron_expression="0 0 12 ? * MON-FRI *",
        frequency_in_minutes="1",
        anchor_time="2024-01-01T00:07:00Z",
    )
    assert next_fire_time(schedule, t("2024-06-07 12:00")) == t("2024-06-10 12:00")  # Fri -> Mon
    assert schedule_json(schedule, t("2024-06-07 12:00")) == {
        "type": "cron",
        "cron_expression": "0 0 12 ? * MON-FRI *",
        "next_fire_time": "2024-06-10T12:00:00Z",
    }


def test_cron_that_never_fires_again_has_no_schedule() -> None:
    schedule = inputs(cron_expression="0 0 12 ? * * 2020")
    assert next_fire_time(schedule, t("2024-06-03 12:00")) is None
    assert schedule_json(schedule, t("2024-06-03 12:00")) is None


def test_invalid_cron_is_a_cron_error_not_an_interval() -> None:
    with pytest.raises(CronError):
        next_fire_time(inputs(cron_expression="* * * * * *"), t("2024-06-03 12:00"))


def test_empty_cron_expression_means_interval() -> None:
    body = schedule_json(inputs(cron_expression=""), t("2024-06-03 12:30"))
    assert body is not None
    assert body["type"] == "interval"


# --- no schedule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"active": False},
        {"active": False, "cron_expression": "0 0 12 ? * MON-FRI *"},
        {"active": False, "anchor_time": "2030-01-01T00:00:00Z"},
        {"fully_configured_at": None},
        {"fully_configured_at": None, "cron_expression": "0 0 12 ? * MON-FRI *"},
        {"fully_configured_at": None, "anchor_time": "2024-01-01T00:00:00Z"},
    ],
    ids=[
        "paused",
        "paused-cron",
        "paused-anchor",
        "unconfigured",
        "unconfigured-cron",
        "unconfigured-anchor",
    ],
)
def test_inactive_or_not_fully_configured_has_no_schedule(changes: dict[str, Any]) -> None:
    schedule = inputs(**changes)
    assert next_fire_time(schedule, t("2024-06-03 12:00")) is None
    assert schedule_json(schedule, t("2024-06-03 12:00")) is None
    # The same source, active and configured, does have one.
    configured = replace(schedule, active=True, fully_configured_at=t("2024-01-01 00:00"))
    assert schedule_json(configured, t("2024-06-03 12:00")) is not None


# --- the JSON ------------------------------------------------------------------------------------


def test_interval_json_shape() -> None:
    body = schedule_json(inputs(anchor_time="2024-01-01T00:10:00Z"), t("2024-01-02 05:30"))
    assert body == {
        "type": "interval",
        "unit": "minute",
        "interval": 60.0,
        "next_fire_time": "2024-01-02T06:10:00Z",
    }
    assert list(body) == ["type", "unit", "interval", "next_fire_time"]


def test_cron_json_shape() -> None:
    body = schedule_json(inputs(cron_expression="0 30 6 ? * SUN"), t("2024-06-03 12:00"))
    assert body == {
        "type": "cron",
        "cron_expression": "0 30 6 ? * SUN",
        "next_fire_time": "2024-06-09T06:30:00Z",
    }
    assert list(body) == ["type", "cron_expression", "next_fire_time"]


def test_now_in_another_time_zone() -> None:
    now = dt.datetime(2024, 1, 2, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 05:30 UTC
    body = schedule_json(inputs(anchor_time="2024-01-01T00:10:00Z"), now)
    assert body is not None
    assert body["next_fire_time"] == "2024-01-02T06:10:00Z"
    cron = schedule_json(inputs(cron_expression="0 0 6 ? * *"), now)
    assert cron is not None
    assert cron["next_fire_time"] == "2024-01-02T06:00:00Z"


def test_fractional_fully_configured_at_fires_on_whole_seconds() -> None:
    # fully_configured_at keeps microseconds; fire times (and the wire) are whole seconds, and
    # the reported next fire is never earlier than the request.
    schedule = inputs(fully_configured_at=dt.datetime(2024, 1, 1, 12, 0, 0, 700000, tzinfo=UTC))
    now = dt.datetime(2024, 1, 1, 13, 0, 0, 300000, tzinfo=UTC)
    fire = next_fire_time(schedule, now)
    assert fire is not None
    assert fire.microsecond == 0
    assert fire > now
    assert fire == t("2024-01-01 14:00")
    body = schedule_json(schedule, now)
    assert body is not None
    assert body["next_fire_time"] == "2024-01-01T14:00:00Z"
    assert next_fire_time(schedule, t("2024-01-01 12:59:59.9")) == t("2024-01-01 13:00")


def test_fractional_anchor_time() -> None:
    schedule = inputs(anchor_time="2024-01-01T00:10:00.900Z")
    assert next_fire_time(schedule, t("2024-01-02 05:30")) == t("2024-01-02 06:10")
    future = inputs(anchor_time="2030-01-01T00:00:00.250Z")
    assert next_fire_time(future, t("2024-06-03 12:00")) == t("2030-01-01 00:00")


FREQUENCIES = ["1", "30", "60", "360", "720", "1440"]
instants = st.datetimes(
    min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    anchor=instants,
    now=instants,
    frequency=st.sampled_from(FREQUENCIES),
    use_anchor_time=st.booleans(),
)
def test_interval_next_fire_is_the_first_grid_point_after_now(
    anchor: dt.datetime, now: dt.datetime, frequency: str, use_anchor_time: bool
) -> None:
    if use_anchor_time:
        schedule = inputs(anchor_time=anchor.isoformat(), frequency_in_minutes=frequency)
    else:
        schedule = inputs(fully_configured_at=anchor, frequency_in_minutes=frequency)
    period = dt.timedelta(minutes=int(frequency))
    grid_start = anchor.replace(microsecond=0)

    fire = next_fire_time(schedule, now)
    assert fire is not None
    # On the grid anchor + k * interval (k >= 0), strictly after now, and the first such point.
    assert fire >= grid_start
    assert (fire - grid_start) % period == dt.timedelta(0)
    assert fire > now
    assert fire == grid_start or fire - period <= now
    assert fire.microsecond == 0

    body = schedule_json(schedule, now)
    assert body is not None
    assert WIRE.match(body["next_fire_time"])
    assert body["next_fire_time"] == fire.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["interval"] == float(frequency)
