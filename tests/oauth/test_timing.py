"""When refreshes happen: before expiry, spread out, never before Retry-After."""

from __future__ import annotations

import datetime as dt

from lockstitch.oauth.timing import backoff, refresh_due

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _seconds_ahead(lifetime: float | None) -> float:
    return (refresh_due(NOW, lifetime) - NOW).total_seconds()


def test_long_tokens_refresh_five_minutes_to_ten_percent_early() -> None:
    for _ in range(200):
        ahead = _seconds_ahead(3600)
        assert 3600 - 360 * 1.1 <= ahead <= 3600 - 360  # margin max(300, 360), minus jitter
        ahead = _seconds_ahead(86400)
        assert 86400 - 8640 * 1.1 <= ahead <= 86400 - 8640


def test_short_tokens_refresh_around_half_life() -> None:
    for _ in range(200):
        ahead = _seconds_ahead(10)
        assert 10 - 5 * 1.1 <= ahead <= 5  # never at once, never after half-life


def test_tokens_without_expiry_are_checked_daily() -> None:
    ahead = _seconds_ahead(None)
    assert 23 * 3600 <= ahead <= 24 * 3600


def test_jitter_spreads_tokens_issued_together() -> None:
    assert len({_seconds_ahead(3600) for _ in range(50)}) > 40


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    assert all(0.5 <= backoff(1, None) <= 2 for _ in range(50))
    assert all(4 <= backoff(3, None) <= 8 for _ in range(50))
    assert all(backoff(50, None) <= 900 for _ in range(50))
    assert all(backoff(50, None, longest=10) <= 10 for _ in range(50))
    assert all(backoff(1, 120) >= 120 for _ in range(50))
