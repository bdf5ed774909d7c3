"""Ids in request paths and bodies: what Lockstitch could have issued.

Ids are positive 64-bit integers (the database's bigint). A path segment that is not one (signs,
spaces, non-ASCII digits, zero, too many digits) names nothing; each endpoint family then answers
in its own Stitch shape, so ``parse_id`` returns None and the caller picks the error.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def is_id(value: object) -> bool:
    """A JSON body's id: an int (not a bool) in 1..MAX_ID."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def parse_id(raw: str) -> int | None:
    """The id a path segment spells in ASCII digits, or None when it is not one Lockstitch could
    have issued."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_DIGITS or not 0 < int(raw) <= MAX_ID:
        return None
    return int(raw)
