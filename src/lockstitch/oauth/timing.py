"""When to refresh, how long to back off, and how long a refresh may take.

The engine's guarantees rest on three durations (``[oauth]`` settings):

* ``http_timeout_seconds``: the hard deadline of one token request (the whole request, not one
  read: ``asyncio.timeout`` around it), after which its outcome is ambiguous;
* ``lease_seconds``: how long a claim is good for. A holder sends only while at least the
  request's deadline plus ``OAuthSettings.send_margin`` is left of it, so a request always ends
  before the lease does; settings refuse a lease too short for that;
* ``resolve_after``: how long after an ambiguous request's start the next holder waits before
  asking the provider whether its refresh token was spent (the provider may still be answering).
"""

from __future__ import annotations

import datetime as dt
import random

NO_EXPIRY_CHECK = dt.timedelta(days=1)  # tokens without expiry are still exercised daily


def refresh_due(now: dt.datetime, lifetime: float | None) -> dt.datetime:
    """When to refresh a token received ``now`` that lives ``lifetime`` seconds.

    Ahead of expiry by max(5 min, 10% of the lifetime), but never later than half-way, so short
    tokens (seconds, in tests) are refreshed at half-life rather than at once; minus up to 10%
    of that margin at random, so tokens issued together do not all come due together.
    """
    if lifetime is None:
        return now + NO_EXPIRY_CHECK - dt.timedelta(seconds=random.uniform(0, 3600))  # noqa: S311
    margin = min(max(300.0, 0.1 * lifetime), 0.5 * lifetime)
    margin += random.uniform(0, 0.1 * margin)  # noqa: S311 - jitter, not security
    return now + dt.timedelta(seconds=max(0.0, lifetime - margin))


def backoff(failures: int, retry_after: float | None, longest: float = 900.0) -> float:
    """Seconds to wait after ``failures`` consecutive failures: exponential with jitter
    (1, 2, 4... up to ``longest``), and never less than the provider's Retry-After."""
    ceiling = min(longest, 2.0 ** min(failures, 12))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311
    return max(delay, retry_after or 0.0)


def resolve_after(http_timeout_seconds: float) -> float:
    """Seconds after an ambiguous request left before its outcome is asked about."""
    return 2 * http_timeout_seconds
