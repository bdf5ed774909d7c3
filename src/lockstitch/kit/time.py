"""UTC time helpers and the Connect API's wire format for timestamps.

Every timestamp in a Connect API response body is UTC with whole seconds, ``YYYY-MM-DDTHH:MM:SSZ``
(spec section 9, item 15): clients parse it with exactly that format. Storage keeps microseconds;
only the wire drops them.
"""

from __future__ import annotations

import datetime as dt

UTC = dt.UTC
WIRE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def to_wire(value: dt.datetime | None) -> str | None:
    """Render a timestamp for a response body: UTC, whole seconds (truncated), ``Z`` suffix."""
    if value is None:
        return None
    # isoformat is several times faster than strftime, and this runs a few times per response.
    return as_utc(value).isoformat(timespec="seconds")[:19] + "Z"


def to_wire_ceil(value: dt.datetime) -> str:
    """Whole-second wire format rounded *up*: for times that must not look earlier than they were."""
    value = as_utc(value)
    if value.microsecond:
        value = value.replace(microsecond=0) + dt.timedelta(seconds=1)
    return value.strftime(WIRE_FORMAT)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Naive datetimes are taken as UTC (that is how the database hands them back)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(text: str) -> dt.datetime:
    """Parse an ISO-8601 timestamp (``Z`` or an offset; a date alone means midnight UTC).

    Raises ``ValueError`` when the text is not a timestamp.
    """
    if not isinstance(text, str) or not text or len(text) > 64:
        raise ValueError("not a timestamp")
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(candidate)
    return as_utc(parsed)
