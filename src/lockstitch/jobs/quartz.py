"""Quartz cron expressions, which Stitch uses for ``cron_expression``.

Quartz is not Unix cron: it has a seconds field, an optional year, day-of-week 1-7 meaning
SUN-SAT, and exactly one of day-of-month / day-of-week must be ``?``. Rather than translate to a
Unix-cron library and inherit its different edge cases, this module parses Quartz itself and
finds the next fire time by walking days (at most until the year 2099, Quartz's limit).

    sec  min  hour  day-of-month  month  day-of-week  [year]
    0    0    12    ?             *      MON-FRI      *

Supported: ``*``, ``?``, lists, ranges (also wrapping, ``FRI-MON``), steps (``0/15``, ``*/5``),
month and day names, ``L``, ``L-n``, ``LW``, ``nW`` (day-of-month), ``nL``, ``n#k`` (day-of-week).
The seconds field must be a single value: a replication schedule firing several times a minute
is a mistake, not a plan.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from lockstitch.kit.time import UTC

MONTHS = {
    name: i
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
MAX_YEAR = 2099
_MAX_LENGTH = 200


class CronError(ValueError):
    """The expression is not valid Quartz; the message says why (Quartz's wording where it has one)."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_SECONDS = _Field("Second", 0, 59)
_MINUTES = _Field("Minute", 0, 59)
_HOURS = _Field("Hour", 0, 23)
_DOM = _Field("Day-of-Month", 1, 31)
_MONTH = _Field("Month", 1, 12, MONTHS)
_DOW = _Field("Day-of-Week", 1, 7, DAYS)
_YEAR = _Field("Year", 1970, MAX_YEAR)


def _is_number(text: str) -> bool:
    # ASCII digits only: str.isdigit() also accepts "²" (which int() then rejects with a bare
    # ValueError, not a CronError) and other scripts' digits (Arabic-Indic, fullwidth), which
    # int() reads but Quartz does not.
    return text.isascii() and text.isdigit()


def _value(text: str, field: _Field) -> int:
    upper = text.upper()
    if field.names and upper in field.names:
        return field.names[upper]
    if not _is_number(text):
        raise CronError(f"Illegal characters for {field.name.lower()} field: {text!r}")
    number = int(text)
    if not field.low <= number <= field.high:
        raise CronError(f"{field.name} values must be between {field.low} and {field.high}")
    return number


def _values(spec: str, field: _Field) -> frozenset[int]:
    """A list of ``*``, ``a``, ``a-b``, with an optional ``/step``."""
    result: set[int] = set()
    for part in spec.split(","):
        if not part:
            raise CronError(f"Empty element in {field.name.lower()} field")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not _is_number(step_text) or int(step_text) == 0:
                raise CronError(
                    f"Increment after '/' in {field.name.lower()} field must be a positive number"
                )
            step = int(step_text)
            if step > field.high:
                raise CronError(f"Increment {step} is larger than the {field.name.lower()} range")
        if base == "*":
            start, end = field.low, field.high
        elif "-" in base:
            left, _, right = base.partition("-")
            start, end = _value(left, field), _value(right, field)
            if field is _YEAR and end < start:
                # Years do not cycle: wrapping "2030-2026" round to 1970 would make a typo fire
                # from 2030 to 2099. Quartz rejects it too.
                raise CronError("Start year must be less than stop year")
        else:
            start = _value(base, field)
            end = field.high if slash else start
        span = (end - start) % (field.high - field.low + 1)  # ranges may wrap (FRI-MON, 22-2)
        for offset in range(0, span + 1, step):
            result.add(field.low + (start - field.low + offset) % (field.high - field.low + 1))
    return frozenset(result)


@dataclass(frozen=True)
class QuartzCron:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None
    dom: frozenset[int] | None  # plain day-of-month set, or None when a special form / '?'
    dom_special: str | None  # "L", "L-3", "LW", "15W"
    dow: frozenset[int] | None
    dow_special: tuple[int, int] | None  # (day, k) for n#k, (day, 0) for nL

    def fires_on(self, day: dt.date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        if self.dom is not None:
            return day.day in self.dom
        if self.dom_special is not None:
            return day.day == _special_dom(self.dom_special, day.year, day.month, last)
        quartz_dow = (day.weekday() + 1) % 7 + 1  # Python Mon=0 -> Quartz MON=2, SUN=1
        if self.dow is not None:
            return quartz_dow in self.dow
        assert self.dow_special is not None
        wanted, nth = self.dow_special
        if quartz_dow != wanted:
            return False
        return day.day + 7 > last if nth == 0 else (day.day - 1) // 7 + 1 == nth

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first fire time strictly after ``moment`` (UTC), or None if it never fires again."""
        moment = moment.astimezone(UTC).replace(microsecond=0)
        day = moment.date()
        first = True
        while day.year <= MAX_YEAR:
            if self.years is not None and day.year > max(self.years):
                return None
            if self.fires_on(day):
                floor = moment.time() if first else None
                found = self._first_time(floor)
                if found is not None:
                    return dt.datetime.combine(day, found, tzinfo=UTC)
            day += dt.timedelta(days=1)
            first = False
        return None

    def _first_time(self, after: dt.time | None) -> dt.time | None:
        for hour in sorted(self.hours):
            if after is not None and hour < after.hour:
                continue
            for minute in sorted(self.minutes):
                for second in sorted(self.seconds):
                    candidate = dt.time(hour, minute, second)
                    if after is None or candidate > after:
                        return candidate
        return None


def _special_dom(spec: str, year: int, month: int, last: int) -> int:
    if spec == "L":
        return last
    if spec == "LW":
        day = last
        while calendar.weekday(year, month, day) >= 5:
            day -= 1
        return day
    if spec.startswith("L-"):
        return max(1, last - int(spec[2:]))
    wanted = min(int(spec[:-1]), last)  # "15W": the weekday nearest the 15th, same month
    weekday = calendar.weekday(year, month, wanted)
    if weekday == 5:  # Saturday -> Friday, or Monday if Friday is last month
        return wanted - 1 if wanted > 1 else wanted + 2
    if weekday == 6:  # Sunday -> Monday, or Friday if Monday is next month
        return wanted + 1 if wanted < last else wanted - 2
    return wanted


def _parse_dom(spec: str) -> tuple[frozenset[int] | None, str | None]:
    upper = spec.upper()
    if upper in ("L", "LW"):
        return None, upper
    if upper.startswith("L-"):
        offset = upper[2:]
        if not _is_number(offset) or not 0 <= int(offset) <= 30:
            raise CronError("Offset from last day must be <= 30")
        return None, upper
    if upper.endswith("W"):
        day = upper[:-1]
        if not _is_number(day) or not 1 <= int(day) <= 31:
            raise CronError("The 'W' option needs a day of the month from 1 to 31")
        return None, upper
    return _values(spec, _DOM), None


def _parse_dow(spec: str) -> tuple[frozenset[int] | None, tuple[int, int] | None]:
    upper = spec.upper()
    if upper == "L":
        return frozenset({7}), None
    if "#" in upper:
        day_text, _, nth = upper.partition("#")
        if not _is_number(nth) or not 1 <= int(nth) <= 5:
            raise CronError("A numeric value between 1 and 5 must follow the '#' option")
        return None, (_value(day_text, _DOW), int(nth))
    if upper.endswith("L") and len(upper) > 1:
        return None, (_value(upper[:-1], _DOW), 0)
    return _values(spec, _DOW), None


def parse(expression: str) -> QuartzCron:
    if not isinstance(expression, str) or not expression.strip():
        raise CronError("Unexpected end of expression.")
    if len(expression) > _MAX_LENGTH:
        raise CronError("Expression is too long.")
    fields = expression.split()
    if len(fields) < 6:
        raise CronError("Unexpected end of expression.")
    if len(fields) > 7:
        raise CronError("Expression has more than 7 fields.")
    sec, minute, hour, dom, month, dow = fields[:6]
    year = fields[6] if len(fields) == 7 else None
    if dom == "?" and dow == "?":
        raise CronError("'?' can only be specified for Day-of-Month -OR- Day-of-Week.")
    for text, name in ((sec, "Second"), (minute, "Minute"), (hour, "Hour"), (month, "Month"), (year, "Year")):
        if text == "?":
            raise CronError(f"'?' can only be specified for Day-of-Month or Day-of-Week, not {name}.")
    # Every field's syntax and range first, as Quartz does: "0 60 * * * *" is about the minute,
    # not about day-of-month AND day-of-week. Then the day rule (Stitch's message for
    # "* * * * * *"), and only then our own single-second rule.
    seconds = _values(sec, _SECONDS)
    minutes = _values(minute, _MINUTES)
    hours = _values(hour, _HOURS)
    dom_set, dom_special = _parse_dom(dom) if dom != "?" else (None, None)
    months = _values(month, _MONTH)
    dow_set, dow_special = _parse_dow(dow) if dow != "?" else (None, None)
    years = _values(year, _YEAR) if year not in (None, "*") else None
    if dom != "?" and dow != "?":
        raise CronError(
            "Support for specifying both a day-of-week AND a day-of-month parameter is not implemented."
        )
    if len(seconds) != 1:
        raise CronError("The seconds field must be a single value (a schedule fires at most once a minute).")
    return QuartzCron(
        expression=expression,
        seconds=seconds,
        minutes=minutes,
        hours=hours,
        months=months,
        years=years,
        dom=dom_set,
        dom_special=dom_special,
        dow=dow_set,
        dow_special=dow_special,
    )
