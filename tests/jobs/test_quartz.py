"""Quartz cron expressions (Stitch's ``cron_expression``): parsing, validation and next fire times.

Quartz syntax: ``sec min hour day-of-month month day-of-week [year]``, day-of-week 1-7 = SUN-SAT,
exactly one of day-of-month / day-of-week is ``?``. All fire times are UTC.

Besides hand-checked calendar facts, next fire times are cross-checked against brute-force
oracles written here from what each field *means* (they share no code with the parser).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstitch.jobs.quartz import CronError, parse
from lockstitch.kit.time import to_wire
from tests.stitch_docs import doc_example

UTC = dt.UTC
BOTH_DAYS = "Support for specifying both a day-of-week AND a day-of-month parameter is not implemented."
WEEKDAYS_AT_NOON = "0 0 12 ? * MON-FRI *"  # Stitch's documented example


def t(text: str) -> dt.datetime:
    """``"2024-06-03 12:00"`` -> an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression: str, start: dt.datetime, count: int) -> list[dt.datetime]:
    """The next ``count`` fire times after ``start``, by chaining ``next_after``."""
    cron = parse(expression)
    found: list[dt.datetime] = []
    moment = start
    for _ in range(count):
        following = cron.next_after(moment)
        assert following is not None, f"{expression!r} stopped firing after {moment}"
        found.append(following)
        moment = following
    return found


def fire_days(expression: str, start: dt.datetime, count: int) -> list[str]:
    return [fire.date().isoformat() for fire in fires(expression, start, count)]


def next_after(expression: str, moment: dt.datetime) -> dt.datetime | None:
    return parse(expression).next_after(moment)


# --- calendar facts for the oracles, written independently of the module under test ----------


def last_day(day: dt.date) -> int:
    first_of_next = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (first_of_next - dt.timedelta(days=1)).day


def quartz_weekday(day: dt.date) -> int:
    """Quartz numbering: SUN=1, MON=2, ..., SAT=7."""
    return day.isoweekday() % 7 + 1


def is_weekday(day: dt.date) -> bool:
    return day.isoweekday() <= 5


def month_days(day: dt.date) -> list[dt.date]:
    return [day.replace(day=d) for d in range(1, last_day(day) + 1)]


def nearest_weekday(day: dt.date, target: int) -> int:
    """The Monday-Friday of ``day``'s month nearest to ``target`` (clamped to the month's last day).

    Never a tie: a Saturday's Friday is 1 away and its Monday 2, a Sunday's Monday 1 and Friday 2.
    """
    target = min(target, last_day(day))
    weekdays = [d.day for d in month_days(day) if is_weekday(d)]
    return min(weekdays, key=lambda d: abs(d - target))


def last_weekday_of_month(day: dt.date) -> int:
    return max(d.day for d in month_days(day) if is_weekday(d))


def is_last_of_its_weekday(day: dt.date) -> bool:
    """No same weekday later in the month."""
    return (day + dt.timedelta(days=7)).month != day.month


def occurrence_of_its_weekday(day: dt.date) -> int:
    """1 for the month's first Monday (say), 2 for the second, ..."""
    count = 1
    while (day - dt.timedelta(days=7 * count)).month == day.month:
        count += 1
    return count


# --- the Stitch examples ----------------------------------------------------------------------


def test_stitch_doc_example_fires_on_weekdays_at_noon_utc() -> None:
    example = doc_example("schedule/schedule-object", "Cron-based schedule")
    assert example["cron_expression"] == WEEKDAYS_AT_NOON
    # Documented next_fire_time 2020-06-22T12:00:00Z is a Monday: from the Friday before, after
    # its noon fire, the weekend is skipped.
    fire = next_after(example["cron_expression"], t("2020-06-19 12:00:00"))
    assert fire is not None
    assert to_wire(fire) == example["next_fire_time"] == "2020-06-22T12:00:00Z"


def test_weekdays_at_noon_fire_monday_to_friday_only() -> None:
    # 2020-06-20 is a Saturday.
    assert fires(WEEKDAYS_AT_NOON, t("2020-06-20 00:00"), 7) == [
        t("2020-06-22 12:00"),
        t("2020-06-23 12:00"),
        t("2020-06-24 12:00"),
        t("2020-06-25 12:00"),
        t("2020-06-26 12:00"),
        t("2020-06-29 12:00"),
        t("2020-06-30 12:00"),
    ]
    # Before noon on a weekday: today; after noon: tomorrow.
    assert next_after(WEEKDAYS_AT_NOON, t("2020-06-23 11:59:59")) == t("2020-06-23 12:00")
    assert next_after(WEEKDAYS_AT_NOON, t("2020-06-23 12:00:01")) == t("2020-06-24 12:00")


def test_result_is_utc_and_whole_seconds() -> None:
    fire = next_after(WEEKDAYS_AT_NOON, t("2020-06-23 08:12:13.456789"))
    assert fire == t("2020-06-23 12:00")
    assert fire is not None
    assert fire.utcoffset() == dt.timedelta(0)
    assert fire.microsecond == 0


def test_stitch_error_example_both_day_fields() -> None:
    with pytest.raises(CronError) as caught:
        parse("* * * * * *")
    assert str(caught.value) == BOTH_DAYS


@pytest.mark.parametrize(
    "expression", ["0 0 12 * * MON", "0 0 12 1 * 2", "0 0 12 L * 6L", "0 0 12 15W * *", "0 0 0 1 1 1 2030"]
)
def test_both_day_fields_given_is_rejected(expression: str) -> None:
    with pytest.raises(CronError) as caught:
        parse(expression)
    assert str(caught.value) == BOTH_DAYS


def test_cron_error_is_a_value_error() -> None:
    assert issubclass(CronError, ValueError)


# --- structure --------------------------------------------------------------------------------


def test_both_question_marks_rejected() -> None:
    with pytest.raises(CronError, match=r"'\?' can only be specified for Day-of-Month -OR- Day-of-Week"):
        parse("0 0 12 ? * ?")


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("? 0 12 ? * *", "Second"),
        ("0 ? 12 * * ?", "Minute"),
        ("0 0 ? ? * *", "Hour"),
        ("0 0 12 ? ? MON", "Month"),
        ("0 0 12 ? * MON ?", "Year"),
    ],
)
def test_question_mark_only_in_day_fields(expression: str, field: str) -> None:
    with pytest.raises(CronError, match=rf"not {field}\."):
        parse(expression)


@pytest.mark.parametrize("expression", ["", "   ", "0", "0 0 12 ? *", "0 0 12 ?\t*"])
def test_too_few_fields(expression: str) -> None:
    with pytest.raises(CronError, match="Unexpected end of expression"):
        parse(expression)


@pytest.mark.parametrize("expression", ["0 0 12 ? * MON-FRI * 2030", "0 0 12 ? * * * * *"])
def test_too_many_fields(expression: str) -> None:
    with pytest.raises(CronError, match="more than 7 fields"):
        parse(expression)


def test_not_a_string_is_a_cron_error() -> None:
    with pytest.raises(CronError):
        parse(None)  # type: ignore[arg-type]
    with pytest.raises(CronError):
        parse(12)  # type: ignore[arg-type]


def test_overlong_expression_rejected() -> None:
    long = "0 0 12 ? * " + ",".join(["MON"] * 80)
    with pytest.raises(CronError, match="too long"):
        parse(long)


def test_six_and_seven_fields_and_any_whitespace_between_them() -> None:
    six = fires("0 0 12 ? * MON-FRI", t("2024-06-01 00:00"), 10)
    assert fires(WEEKDAYS_AT_NOON, t("2024-06-01 00:00"), 10) == six
    assert fires("  0  0\t12 ?   * MON-FRI  ", t("2024-06-01 00:00"), 10) == six


def test_expression_text_is_kept() -> None:
    assert parse(WEEKDAYS_AT_NOON).expression == WEEKDAYS_AT_NOON


# --- ranges and garbage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("60 0 12 ? * *", "Second values must be between 0 and 59"),
        ("0 60 * ? * *", "Minute values must be between 0 and 59"),
        ("0 0-60 * ? * *", "Minute values must be between 0 and 59"),
        ("0 0 24 ? * *", "Hour values must be between 0 and 23"),
        ("0 0 25 ? * *", "Hour values must be between 0 and 23"),
        ("0 0 12 0 * ?", "Day-of-Month values must be between 1 and 31"),
        ("0 0 12 32 * ?", "Day-of-Month values must be between 1 and 31"),
        ("0 0 12 1,32 * ?", "Day-of-Month values must be between 1 and 31"),
        ("0 0 12 ? 0 *", "Month values must be between 1 and 12"),
        ("0 0 12 ? 13 *", "Month values must be between 1 and 12"),
        ("0 0 12 ? * 0", "Day-of-Week values must be between 1 and 7"),
        ("0 0 12 ? * 8", "Day-of-Week values must be between 1 and 7"),
        ("0 0 12 ? * 2-8", "Day-of-Week values must be between 1 and 7"),
        ("0 0 12 ? * * 1969", "Year values must be between 1970 and 2099"),
        ("0 0 12 ? * * 2100", "Year values must be between 1970 and 2099"),
    ],
)
def test_out_of_range_values_name_the_field_and_its_range(expression: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse(expression)
    assert str(caught.value) == message


def test_field_errors_come_before_the_day_rule() -> None:
    # Quartz checks each field first; a bad minute is reported as such even when both day
    # fields are given.
    with pytest.raises(CronError, match="Minute values must be between 0 and 59"):
        parse("0 60 * * * *")
    with pytest.raises(CronError, match="Illegal characters for second field"):
        parse("a b c d e f")


@pytest.mark.parametrize(
    "expression",
    [
        "0 0 12 ? * MON-FRI extra",
        "a b c d e f",
        "a b c ? e *",
        "0 0 12 ? JANUARY *",
        "0 0 12 ? * MONDAY",
        "0 0 MON ? * *",  # names only where they mean something
        "0 0 12 ? * JAN",
        "0 0 12 ? FRI *",
        "0 0 12 JAN * ?",
        "0 0 12 1,,2 * ?",
        "0 0 12 1, * ?",
        "0 0 12 ,1 * ?",
        "0 0 12 -1 * ?",
        "0 0 12 1- * ?",
        "0 0 12 1-2-3 * ?",
        "0 0 12 ? * +1",
        "0 0 1.5 ? * *",
        "0 0 0x1 ? * *",
        "0 0 12 ? * MON-FRI 2030x",
        "0 0 12 ? * MON-FRI 2025-",
        "0 */0 * ? * *",
        "0 0/0 * ? * *",
        "0 0/x * ? * *",
        "0 0/ * ? * *",
        "0 /5 * ? * *",
        "0 0/60 * ? * *",  # an increment bigger than the field's range
        "0 0 */24 ? * *",
        "0 0 12 ? */13 *",
        "0 0 12 ? * */8",
        "0 \u00b2 * ? * *",  # superscript two: str.isdigit() says yes, int() says no
        "0 \u0661 * ? * *",  # ARABIC-INDIC DIGIT ONE is not a Quartz digit
        "0 0 \uff11\uff12 ? * *",  # fullwidth "12"
        "0 0 12 L,15 * ?",
        "0 0 12 1,15W * ?",
        "0 0 12 W * ?",
        "0 0 12 0W * ?",
        "0 0 12 32W * ?",
        "0 0 12 \u00b2W * ?",
        "0 0 12 L- * ?",
        "0 0 12 L-31 * ?",
        "0 0 12 L-x * ?",
        "0 0 12 L-\u00b2 * ?",
        "0 0 12 ? * 2#0",
        "0 0 12 ? * 2#6",
        "0 0 12 ? * 2#\u00b2",
        "0 0 12 ? * 8#1",
        "0 0 12 ? * #1",
        "0 0 12 ? * 2#",
        "0 0 12 ? * 2#1,3#1",
        "0 0 12 ? * LL",
        "0 0 12 ? * 8L",
        "0 0 12 ? * 0L",
        "0 0 0 1 1 ? 2030-2026",  # years do not wrap round
    ],
)
def test_garbage_is_rejected_with_a_cron_error(expression: str) -> None:
    # pytest.raises(CronError) fails on any other exception type (a bare ValueError would be a
    # 500 for the API, which turns CronError into a 400).
    with pytest.raises(CronError):
        parse(expression)


def test_garbage_messages_quote_the_offending_text() -> None:
    with pytest.raises(CronError, match="Illegal characters for year field: 'extra'"):
        parse("0 0 12 ? * MON-FRI extra")
    with pytest.raises(CronError, match="Illegal characters for day-of-week field: 'MONDAY'"):
        parse("0 0 12 ? * MONDAY")
    with pytest.raises(CronError, match="Start year must be less than stop year"):
        parse("0 0 0 1 1 ? 2030-2026")
    with pytest.raises(CronError, match="between 1 and 5 must follow the '#'"):
        parse("0 0 12 ? * 2#6")
    with pytest.raises(CronError, match="Offset from last day must be <= 30"):
        parse("0 0 12 L-31 * ?")


# --- the seconds rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds", ["*", "0,30", "0-1", "0/30", "*/10", "58-1", "0,0,1"], ids=lambda s: f"sec={s}"
)
def test_seconds_must_be_a_single_value(seconds: str) -> None:
    with pytest.raises(CronError, match="The seconds field must be a single value"):
        parse(f"{seconds} 0 12 ? * *")


@pytest.mark.parametrize("seconds", ["30", "30-30", "30,30", "30/59"])
def test_single_second_in_any_spelling(seconds: str) -> None:
    assert fires(f"{seconds} 15 10 ? * *", t("2024-06-03 10:15:30"), 2) == [
        t("2024-06-04 10:15:30"),
        t("2024-06-05 10:15:30"),
    ]


# --- names, lists, ranges, steps --------------------------------------------------------------

MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


@pytest.mark.parametrize(("number", "name"), list(enumerate(MONTH_NAMES, start=1)))
def test_month_names_are_month_numbers(number: int, name: str) -> None:
    expected = fires(f"0 0 0 1 {number} ?", t("2024-01-01 00:00"), 3)
    assert [fire.month for fire in expected] == [number] * 3
    assert [fire.day for fire in expected] == [1] * 3
    for spelling in (name, name.lower(), name.title()):
        assert fires(f"0 0 0 1 {spelling} ?", t("2024-01-01 00:00"), 3) == expected


@pytest.mark.parametrize(("number", "name"), list(enumerate(DAY_NAMES, start=1)))
def test_day_names_are_quartz_day_numbers_sunday_first(number: int, name: str) -> None:
    expected = fires(f"0 0 0 ? * {number}", t("2024-01-01 00:00"), 3)
    assert [fire.strftime("%a").upper() for fire in expected] == [name] * 3
    for spelling in (name, name.lower(), name.title()):
        assert fires(f"0 0 0 ? * {spelling}", t("2024-01-01 00:00"), 3) == expected


def test_names_mixed_case_in_ranges_and_lists() -> None:
    start = t("2024-01-01 00:00")
    assert fires("0 0 12 ? jan-Mar mon,Wed", start, 30) == fires("0 0 12 ? 1-3 2,4", start, 30)


def test_lists() -> None:
    assert fires("0 0 8,12,18 ? * *", t("2024-06-03 09:00"), 4) == [
        t("2024-06-03 12:00"),
        t("2024-06-03 18:00"),
        t("2024-06-04 08:00"),
        t("2024-06-04 12:00"),
    ]


def test_list_order_and_duplicates_do_not_matter() -> None:
    start = t("2024-06-03 09:00")
    assert fires("0 30,0,30,15 18,8 ? * *", start, 8) == fires("0 0,15,30 8,18 ? * *", start, 8)


def test_ranges() -> None:
    assert fires("0 0 9-11 ? * *", t("2024-06-03 09:00"), 4) == [
        t("2024-06-03 10:00"),
        t("2024-06-03 11:00"),
        t("2024-06-04 09:00"),
        t("2024-06-04 10:00"),
    ]


def test_wrapping_day_of_week_range() -> None:
    # FRI-MON: Friday, Saturday, Sunday, Monday. 2024-06-03 is a Monday.
    assert fire_days("0 0 12 ? * FRI-MON", t("2024-06-03 12:00"), 5) == [
        "2024-06-07",
        "2024-06-08",
        "2024-06-09",
        "2024-06-10",
        "2024-06-14",
    ]


def test_wrapping_hour_range() -> None:
    assert [f.hour for f in fires("0 0 22-2 ? * *", t("2024-06-03 12:00"), 6)] == [22, 23, 0, 1, 2, 22]


def test_wrapping_month_range() -> None:
    assert fire_days("0 0 0 1 NOV-FEB ?", t("2024-03-01 00:00"), 5) == [
        "2024-11-01",
        "2024-12-01",
        "2025-01-01",
        "2025-02-01",
        "2025-11-01",
    ]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ("0/15", [0, 15, 30, 45]),
        ("*/15", [0, 15, 30, 45]),
        ("5/20", [5, 25, 45]),
        ("10-50/20", [10, 30, 50]),
        ("10-50/7", [10, 17, 24, 31, 38, 45]),
        ("50-10/10", [0, 10, 50]),  # wrapping range with a step: 50, 0, 10
        ("59/30", [59]),
        ("*/59", [0, 59]),
        ("0/15,7", [0, 7, 15, 30, 45]),
    ],
)
def test_minute_steps(minutes: str, expected: list[int]) -> None:
    hour = fires(f"0 {minutes} 3 ? * *", t("2024-06-03 00:00"), len(expected) + 1)
    assert [fire.minute for fire in hour[:-1]] == expected
    assert {fire.hour for fire in hour[:-1]} == {3}
    assert hour[-1] == t("2024-06-04 03:00") + dt.timedelta(minutes=expected[0])


def test_step_on_one_based_fields_counts_from_one() -> None:
    assert [f.day for f in fires("0 0 0 */10 * ?", t("2024-01-01 00:00"), 4)] == [11, 21, 31, 1]
    assert [f.month for f in fires("0 0 0 1 */4 ?", t("2024-01-01 00:00"), 3)] == [5, 9, 1]
    assert [f.hour for f in fires("0 0 */6 ? * *", t("2024-06-03 00:00"), 4)] == [6, 12, 18, 0]
    assert [f.hour for f in fires("0 0 22-4/3 ? * *", t("2024-06-03 12:00"), 4)] == [22, 1, 4, 22]
    assert [f.month for f in fires("0 0 0 1 FEB/5 ?", t("2024-01-01 00:00"), 3)] == [2, 7, 12]
    # MON/2: Monday, Wednesday, Friday.
    days = [f.strftime("%a") for f in fires("0 0 0 ? * MON/2", t("2024-06-02 00:00"), 4)]
    assert days == ["Mon", "Wed", "Fri", "Mon"]


# --- day-of-month specials ----------------------------------------------------------------------


def test_last_day_of_month() -> None:
    assert fire_days("0 0 0 L * ?", t("2023-12-31 00:00"), 5) == [
        "2024-01-31",
        "2024-02-29",  # leap year
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
    ]
    assert fire_days("0 0 0 l 2 ?", t("2023-01-01 00:00"), 2) == ["2023-02-28", "2024-02-29"]


def test_offset_from_last_day() -> None:
    assert fire_days("0 0 0 L-3 * ?", t("2024-01-01 00:00"), 4) == [
        "2024-01-28",
        "2024-02-26",
        "2024-03-28",
        "2024-04-27",
    ]
    assert fire_days("0 0 0 L-3 2 ?", t("2023-01-01 00:00"), 2) == ["2023-02-25", "2024-02-26"]
    assert fire_days("0 0 0 L-0 * ?", t("2024-01-01 00:00"), 2) == ["2024-01-31", "2024-02-29"]


def test_last_weekday_of_month() -> None:
    assert fire_days("0 0 0 LW * ?", t("2024-01-01 00:00"), 8) == [
        "2024-01-31",  # Wednesday
        "2024-02-29",  # Thursday
        "2024-03-29",  # 31st is a Sunday -> Friday
        "2024-04-30",
        "2024-05-31",
        "2024-06-28",  # 30th is a Sunday -> Friday
        "2024-07-31",
        "2024-08-30",  # 31st is a Saturday -> Friday
    ]


def test_nearest_weekday_mid_month() -> None:
    assert fire_days("0 0 0 15W * ?", t("2024-05-01 00:00"), 5) == [
        "2024-05-15",  # Wednesday: itself
        "2024-06-14",  # Saturday -> Friday
        "2024-07-15",
        "2024-08-15",
        "2024-09-16",  # Sunday -> Monday
    ]


def test_nearest_weekday_does_not_leave_the_month() -> None:
    # 2024-06-01 is a Saturday: not Friday May 31st but Monday the 3rd.
    assert next_after("0 0 0 1W * ?", t("2024-05-15 00:00")) == t("2024-06-03 00:00")
    # 2024-09-01 is a Sunday: Monday the 2nd.
    assert next_after("0 0 0 1W * ?", t("2024-08-15 00:00")) == t("2024-09-02 00:00")
    # 2024-03-31 is a Sunday: not Monday April 1st but Friday the 29th.
    assert next_after("0 0 0 31W * ?", t("2024-03-15 00:00")) == t("2024-03-29 00:00")
    # 2024-06-30 (the last day) is a Sunday: Friday the 28th.
    assert next_after("0 0 0 30W * ?", t("2024-06-15 00:00")) == t("2024-06-28 00:00")
    # 2024-08-31 (the last day) is a Saturday: Friday the 30th.
    assert next_after("0 0 0 31w * ?", t("2024-08-15 00:00")) == t("2024-08-30 00:00")


def test_nearest_weekday_to_a_day_the_month_lacks_uses_its_last_day() -> None:
    # 31W in June 2024: the month ends on Sunday the 30th -> Friday the 28th; it still fires.
    assert next_after("0 0 0 31W 6 ?", t("2024-01-01 00:00")) == t("2024-06-28 00:00")
    # 30W in February 2026: the 28th is a Saturday -> Friday the 27th.
    assert next_after("0 0 0 30W 2 ?", t("2026-01-01 00:00")) == t("2026-02-27 00:00")


# --- day-of-week specials -----------------------------------------------------------------------


def test_last_friday_of_month() -> None:
    assert fire_days("0 0 0 ? * 6L", t("2024-01-01 00:00"), 5) == [
        "2024-01-26",
        "2024-02-23",
        "2024-03-29",
        "2024-04-26",
        "2024-05-31",
    ]
    assert fire_days("0 0 0 ? * 6l", t("2024-01-01 00:00"), 5) == fire_days(
        "0 0 0 ? * 6L", t("2024-01-01 00:00"), 5
    )


def test_l_alone_in_day_of_week_is_saturday() -> None:
    days = [f.strftime("%a %d") for f in fires("0 15 10 ? * L", t("2024-06-03 00:00"), 3)]
    assert days == ["Sat 08", "Sat 15", "Sat 22"]


def test_second_monday() -> None:
    assert fire_days("0 0 0 ? * 2#2", t("2024-01-01 00:00"), 4) == [
        "2024-01-08",
        "2024-02-12",
        "2024-03-11",
        "2024-04-08",
    ]
    assert fire_days("0 0 0 ? * mon#2", t("2024-01-01 00:00"), 4) == fire_days(
        "0 0 0 ? * 2#2", t("2024-01-01 00:00"), 4
    )


def test_fifth_friday_skips_months_without_one() -> None:
    assert fire_days("0 0 0 ? * 6#5", t("2024-01-01 00:00"), 4) == [
        "2024-03-29",
        "2024-05-31",
        "2024-08-30",
        "2024-11-29",
    ]


def test_first_sunday() -> None:
    assert fire_days("0 0 0 ? * 1#1", t("2024-01-01 00:00"), 3) == ["2024-01-07", "2024-02-04", "2024-03-03"]


# --- years and the end of time ------------------------------------------------------------------


def test_past_year_never_fires() -> None:
    assert next_after("0 0 12 ? * * 2020", t("2024-06-03 00:00")) is None
    assert next_after("0 0 12 ? * MON-FRI 2020-2023", t("2024-06-03 00:00")) is None


def test_future_year_fires_then_and_only_then() -> None:
    assert next_after("0 0 12 1 1 ? 2030", t("2024-06-03 00:00")) == t("2030-01-01 12:00")
    assert next_after("0 0 12 1 1 ? 2030", t("2030-01-01 12:00")) is None
    assert fire_days("0 0 12 1 1 ? 2026,2028", t("2024-06-03 00:00"), 2) == ["2026-01-01", "2028-01-01"]
    assert next_after("0 0 12 1 1 ? 2026,2028", t("2028-01-01 12:00")) is None


def test_year_range_and_star() -> None:
    assert fire_days("0 0 0 1 1 ? 2025-2027", t("2024-06-03 00:00"), 3) == [
        "2025-01-01",
        "2026-01-01",
        "2027-01-01",
    ]
    assert next_after("0 0 0 1 1 ? 2025-2027", t("2027-01-01 00:00")) is None
    start = t("2024-06-03 00:00")
    assert fires("0 0 0 1 1 ? *", start, 3) == fires("0 0 0 1 1 ?", start, 3)


def test_current_year_in_the_year_field_fires_this_year() -> None:
    assert next_after("0 0 12 ? * * 2024", t("2024-12-31 11:00")) == t("2024-12-31 12:00")
    assert next_after("0 0 12 ? * * 2024", t("2024-12-31 12:00")) is None


def test_feb_29_fires_only_in_leap_years() -> None:
    assert fire_days("0 0 0 29 2 ?", t("2024-03-01 00:00"), 3) == ["2028-02-29", "2032-02-29", "2036-02-29"]
    assert next_after("0 0 0 29 2 ?", t("2024-02-28 23:59:59")) == t("2024-02-29 00:00")
    # 2096 is the last leap year Quartz can reach (2100 is past its limit, and not a leap year).
    assert next_after("0 0 0 29 2 ?", t("2096-02-29 00:00")) is None


def test_days_a_month_never_has_never_fire() -> None:
    assert next_after("0 0 0 30 2 ?", t("2024-01-01 00:00")) is None
    assert next_after("0 0 0 31 4,6,9,11 ?", t("2024-01-01 00:00")) is None


def test_nothing_after_2099() -> None:
    assert next_after("0 0 12 ? * *", t("2099-12-31 00:00")) == t("2099-12-31 12:00")
    assert next_after("0 0 12 ? * *", t("2099-12-31 12:00")) is None
    assert next_after("0 0 0 31 12 ? 2099", t("2024-01-01 00:00")) == t("2099-12-31 00:00")


# --- "strictly after" -----------------------------------------------------------------------


def test_moment_exactly_on_a_fire_time_returns_the_following_one() -> None:
    assert next_after(WEEKDAYS_AT_NOON, t("2024-06-03 12:00")) == t("2024-06-04 12:00")
    assert next_after(WEEKDAYS_AT_NOON, t("2024-06-07 12:00")) == t("2024-06-10 12:00")  # Friday
    assert next_after("0 */5 * ? * *", t("2024-06-03 12:05")) == t("2024-06-03 12:10")


def test_microseconds_around_a_fire_time() -> None:
    assert next_after(WEEKDAYS_AT_NOON, t("2024-06-03 11:59:59.999999")) == t("2024-06-03 12:00")
    assert next_after(WEEKDAYS_AT_NOON, t("2024-06-03 12:00:00.000001")) == t("2024-06-04 12:00")
    assert next_after("30 0 12 ? * *", t("2024-06-03 12:00:29.999999")) == t("2024-06-03 12:00:30")
    assert next_after("30 0 12 ? * *", t("2024-06-03 12:00:30.5")) == t("2024-06-04 12:00:30")


def test_second_by_second_before_a_fire() -> None:
    cron = parse("30 15 10 ? * *")
    fire = t("2024-06-03 10:15:30")
    moment = fire - dt.timedelta(minutes=2)
    while moment < fire:
        assert cron.next_after(moment) == fire, moment
        moment += dt.timedelta(milliseconds=250)
    assert cron.next_after(fire) == fire + dt.timedelta(days=1)


def test_day_month_and_year_boundaries() -> None:
    assert next_after("59 59 23 ? * *", t("2024-06-03 23:59:59")) == t("2024-06-04 23:59:59")
    assert next_after("0 0 0 ? * *", t("2024-06-30 23:59:59")) == t("2024-07-01 00:00")
    assert next_after("0 0 0 1 1 ?", t("2024-12-31 23:59:59.999999")) == t("2025-01-01 00:00")
    assert next_after("0 30 0 ? * *", t("2024-12-31 23:59")) == t("2025-01-01 00:30")


def test_other_time_zones_are_converted_to_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    minus_five = dt.timezone(dt.timedelta(hours=-5))
    # 13:30+02:00 is 11:30 UTC: today's noon UTC is still ahead.
    fire = next_after(WEEKDAYS_AT_NOON, dt.datetime(2024, 6, 3, 13, 30, tzinfo=plus_two))
    assert fire == t("2024-06-03 12:00")
    assert fire is not None
    assert fire.utcoffset() == dt.timedelta(0)
    # 08:00-05:00 is 13:00 UTC: tomorrow.
    assert next_after(WEEKDAYS_AT_NOON, dt.datetime(2024, 6, 3, 8, 0, tzinfo=minus_five)) == t(
        "2024-06-04 12:00"
    )
    # Sunday 22:00-05:00 is Monday 03:00 UTC: Monday noon.
    assert next_after(WEEKDAYS_AT_NOON, dt.datetime(2024, 6, 2, 22, 0, tzinfo=minus_five)) == t(
        "2024-06-03 12:00"
    )


# --- brute-force oracle, fixed expressions ------------------------------------------------------


@dataclass(frozen=True)
class Case:
    expression: str
    second: int  # the single second every fire happens at
    day_ok: Callable[[dt.date], bool]
    time_ok: Callable[[int, int], bool]  # (hour, minute)
    start: str
    days: int


def any_day(day: dt.date) -> bool:
    return True


def at_midnight(hour: int, minute: int) -> bool:
    return hour == minute == 0


CASES = [
    Case(WEEKDAYS_AT_NOON, 0, is_weekday, lambda h, m: (h, m) == (12, 0), "2024-01-01 00:00", 70),
    Case("30 */5 * ? * *", 30, any_day, lambda h, m: m % 5 == 0, "2024-02-28 20:00", 3),
    Case(
        "0 0/15 9-17 ? * 2-6",
        0,
        is_weekday,
        lambda h, m: 9 <= h <= 17 and m in (0, 15, 30, 45),
        "2024-06-01 00:00",
        15,
    ),
    Case(
        "0 10-50/20 22-2 ? * *",
        0,
        any_day,
        lambda h, m: h in (22, 23, 0, 1, 2) and m in (10, 30, 50),
        "2024-06-01 00:00",
        5,
    ),
    Case(
        "0 0 12 ? * FRI-MON",
        0,
        lambda d: d.isoweekday() in (5, 6, 7, 1),
        lambda h, m: (h, m) == (12, 0),
        "2024-06-01 00:00",
        40,
    ),
    Case(
        "0 0 0 1 NOV-FEB ?",
        0,
        lambda d: d.day == 1 and d.month in (11, 12, 1, 2),
        at_midnight,
        "2023-06-01 00:00",
        1200,
    ),
    Case("0 0 0 L * ?", 0, lambda d: d.day == last_day(d), at_midnight, "2023-01-01 00:00", 1500),
    Case("0 0 0 L-3 * ?", 0, lambda d: d.day == last_day(d) - 3, at_midnight, "2023-01-01 00:00", 1500),
    Case(
        "0 0 0 LW * ?", 0, lambda d: d.day == last_weekday_of_month(d), at_midnight, "2023-01-01 00:00", 1500
    ),
    Case(
        "0 0 0 15W * ?", 0, lambda d: d.day == nearest_weekday(d, 15), at_midnight, "2023-01-01 00:00", 1500
    ),
    Case("0 0 0 1W * ?", 0, lambda d: d.day == nearest_weekday(d, 1), at_midnight, "2023-01-01 00:00", 1500),
    Case(
        "0 0 0 31W * ?", 0, lambda d: d.day == nearest_weekday(d, 31), at_midnight, "2023-01-01 00:00", 1500
    ),
    Case(
        "0 0 0 ? * 6L",
        0,
        lambda d: quartz_weekday(d) == 6 and is_last_of_its_weekday(d),
        at_midnight,
        "2023-01-01 00:00",
        1500,
    ),
    Case(
        "0 0 0 ? * 2#2",
        0,
        lambda d: quartz_weekday(d) == 2 and 8 <= d.day <= 14,
        at_midnight,
        "2023-01-01 00:00",
        1500,
    ),
    Case(
        "0 0 0 ? * 6#5",
        0,
        lambda d: quartz_weekday(d) == 6 and occurrence_of_its_weekday(d) == 5,
        at_midnight,
        "2023-01-01 00:00",
        1500,
    ),
    Case("0 0 0 29 2 ?", 0, lambda d: (d.month, d.day) == (2, 29), at_midnight, "2023-01-01 00:00", 5000),
    Case("0 0 0 */10 * ?", 0, lambda d: d.day in (1, 11, 21, 31), at_midnight, "2024-01-01 00:00", 400),
    Case(
        "0 15 10 ? * L",
        0,
        lambda d: d.isoweekday() == 6,
        lambda h, m: (h, m) == (10, 15),
        "2024-01-01 00:00",
        100,
    ),
    Case(
        "0 0 6,18 ? * SUN,wed",
        0,
        lambda d: d.isoweekday() in (7, 3),
        lambda h, m: m == 0 and h in (6, 18),
        "2024-01-01 00:00",
        60,
    ),
    Case(
        "59 59 23 L 12 ? 2024-2026",
        59,
        lambda d: 2024 <= d.year <= 2026 and (d.month, d.day) == (12, 31),
        lambda h, m: (h, m) == (23, 59),
        "2023-01-01 00:00",
        2000,
    ),
    Case("0 0 0 28-3 * ?", 0, lambda d: d.day >= 28 or d.day <= 3, at_midnight, "2024-01-01 00:00", 120),
    Case(
        "0 0 6 ? JAN,jul 1",
        0,
        lambda d: d.month in (1, 7) and d.isoweekday() == 7,
        lambda h, m: (h, m) == (6, 0),
        "2024-01-01 00:00",
        800,
    ),
    Case(
        "0 45 1/7 ? * 3-5 2025",
        0,
        lambda d: d.year == 2025 and d.isoweekday() in (2, 3, 4),
        lambda h, m: m == 45 and h in (1, 8, 15, 22),
        "2024-12-20 00:00",
        30,
    ),
]


def brute_force(case: Case, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every fire time in (start, end): each day of the window, each minute of a matching day."""
    found = []
    day = start.date()
    while day <= end.date():
        if case.day_ok(day):
            for minute_of_day in range(24 * 60):
                hour, minute = divmod(minute_of_day, 60)
                if case.time_ok(hour, minute):
                    moment = dt.datetime.combine(day, dt.time(hour, minute, case.second), tzinfo=UTC)
                    if start < moment < end:
                        found.append(moment)
        day += dt.timedelta(days=1)
    return found


@pytest.mark.parametrize("case", CASES, ids=[case.expression for case in CASES])
def test_next_after_matches_brute_force(case: Case) -> None:
    start = t(case.start)
    end = start + dt.timedelta(days=case.days)
    expected = brute_force(case, start, end)
    assert len(expected) >= 2, "the window should hold a few fires"
    cron = parse(case.expression)

    chained = []
    moment = start
    while (following := cron.next_after(moment)) is not None and following < end:
        chained.append(following)
        moment = following
    assert chained == expected

    # Just before each fire -> that fire; half a second after it -> the following one.
    for fire, following_fire in zip(expected, [*expected[1:], None], strict=True):
        assert cron.next_after(fire - dt.timedelta(microseconds=1)) == fire
        if following_fire is not None:
            assert cron.next_after(fire + dt.timedelta(milliseconds=500)) == following_fire


# --- brute-force oracle, generated expressions --------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """A generated expression and, computed separately, what each of its fields means."""

    text: str
    second: int
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None
    day_ok: Callable[[dt.date], bool]


Part = tuple[str, frozenset[int]]


ALL_KINDS = ("value", "range", "star-step", "value-step", "range-step")


@st.composite
def field_part(
    draw: st.DrawFn,
    low: int,
    high: int,
    names: list[str] | None = None,
    *,
    wrap: bool = True,
    kinds: tuple[str, ...] = ALL_KINDS,
) -> Part:
    """One list element: a value, a range (maybe wrapping), or a stepped ``*``/value/range.

    ``low``-``high`` must be the field's whole range unless ``kinds`` leaves out the forms that
    run to the field's end (``*/n``, ``a/n``).
    """

    def render(value: int) -> str:
        if names and draw(st.booleans()):
            name = names[value - low]
            return draw(st.sampled_from([name, name.lower(), name.title()]))
        return str(value)

    def span(a: int, b: int) -> list[int]:
        return list(range(a, b + 1)) if a <= b else list(range(a, high + 1)) + list(range(low, b + 1))

    a = draw(st.integers(low, high))
    b = draw(st.integers(a if not wrap else low, high))
    kind = draw(st.sampled_from(kinds))
    step = draw(st.integers(1, min(high, high - low + 1)))
    if kind == "value":
        return render(a), frozenset({a})
    if kind == "range":
        return f"{render(a)}-{render(b)}", frozenset(span(a, b))
    if kind == "star-step":
        return f"*/{step}", frozenset(range(low, high + 1, step))
    if kind == "value-step":
        return f"{render(a)}/{step}", frozenset(range(a, high + 1, step))
    return f"{render(a)}-{render(b)}/{step}", frozenset(span(a, b)[::step])


@st.composite
def field(draw: st.DrawFn, low: int, high: int, names: list[str] | None = None) -> Part:
    if draw(st.integers(0, 5)) == 0:
        return "*", frozenset(range(low, high + 1))
    parts = draw(st.lists(field_part(low, high, names), min_size=1, max_size=3))
    return ",".join(text for text, _ in parts), frozenset().union(*(values for _, values in parts))


def random_case(draw: st.DrawFn, text: str) -> str:
    return draw(st.sampled_from([text, text.lower()]))


@st.composite
def day_fields(draw: st.DrawFn) -> tuple[str, str, Callable[[dt.date], bool]]:
    """(day-of-month, day-of-week, what days they select)."""
    kind = draw(st.sampled_from(["dom", "L", "L-n", "LW", "nW", "dow", "dowL", "nL", "n#k"]))
    if kind == "dom":
        text, values = draw(field(1, 31))
        return text, "?", lambda d: d.day in values
    if kind == "L":
        return random_case(draw, "L"), "?", lambda d: d.day == last_day(d)
    if kind == "L-n":
        offset = draw(st.integers(0, 27))
        return random_case(draw, f"L-{offset}"), "?", lambda d: d.day == last_day(d) - offset
    if kind == "LW":
        return random_case(draw, "LW"), "?", lambda d: d.day == last_weekday_of_month(d)
    if kind == "nW":
        target = draw(st.integers(1, 31))
        return random_case(draw, f"{target}W"), "?", lambda d: d.day == nearest_weekday(d, target)
    if kind == "dow":
        text, values = draw(field(1, 7, DAY_NAMES))
        return "?", text, lambda d: quartz_weekday(d) in values
    if kind == "dowL":
        return "?", random_case(draw, "L"), lambda d: quartz_weekday(d) == 7
    weekday = draw(st.integers(1, 7))
    if kind == "nL":
        return "?", f"{weekday}L", lambda d: quartz_weekday(d) == weekday and is_last_of_its_weekday(d)
    nth = draw(st.integers(1, 5))
    name = draw(st.sampled_from([str(weekday), DAY_NAMES[weekday - 1]]))
    return (
        "?",
        f"{name}#{nth}",
        lambda d: quartz_weekday(d) == weekday and occurrence_of_its_weekday(d) == nth,
    )


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    second = draw(st.integers(0, 59))
    minute_text, minutes = draw(field(0, 59))
    hour_text, hours = draw(field(0, 23))
    dom, dow, day_ok = draw(day_fields())
    month_text, months = draw(field(1, 12, MONTH_NAMES))
    fields = [str(second), minute_text, hour_text, dom, month_text, dow]
    years: frozenset[int] | None = None
    year_kind = draw(st.sampled_from(["none", "star", "some"]))
    if year_kind == "star":
        fields.append("*")
    elif year_kind == "some":
        # Years near the moments drawn; years do not wrap, and "*/n", "a/n" would run to 2099.
        year_part = field_part(2018, 2040, wrap=False, kinds=("value", "range", "range-step"))
        parts = draw(st.lists(year_part, min_size=1, max_size=3))
        fields.append(",".join(text for text, _ in parts))
        years = frozenset().union(*(values for _, values in parts))
    separators = draw(st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=6, max_size=6))
    text = fields[0] + "".join(sep + part for sep, part in zip(separators, fields[1:], strict=False))
    return Spec(
        text=text,
        second=second,
        minutes=minutes,
        hours=hours,
        months=months,
        years=years,
        day_ok=day_ok,
    )


def oracle_next(spec: Spec, moment: dt.datetime) -> dt.datetime | None:
    """Walk the days from ``moment`` to Quartz's last year; the first matching time after it."""
    moment = moment.astimezone(UTC)
    times = sorted(dt.time(h, m, spec.second) for h in spec.hours for m in spec.minutes)
    day = moment.date()
    while day.year <= 2099:
        if spec.years is not None and day.year > max(spec.years):
            return None
        if day.month in spec.months and (spec.years is None or day.year in spec.years) and spec.day_ok(day):
            for time in times:
                candidate = dt.datetime.combine(day, time, tzinfo=UTC)
                if candidate > moment:
                    return candidate
        day += dt.timedelta(days=1)
    return None


moments = st.datetimes(
    min_value=dt.datetime(2018, 1, 1),
    max_value=dt.datetime(2040, 12, 31),
    timezones=st.sampled_from(
        [UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8))]
    ),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), moment=moments)
def test_generated_expressions_match_the_oracle(spec: Spec, moment: dt.datetime) -> None:
    cron = parse(spec.text)
    expected = oracle_next(spec, moment)
    found = cron.next_after(moment)
    assert found == expected, spec.text
    if found is not None:
        assert found > moment
        assert found.microsecond == 0
        assert found.utcoffset() == dt.timedelta(0)
        # Chaining: the fire after that one agrees as well.
        assert cron.next_after(found) == oracle_next(spec, found), spec.text
