"""Prometheus instruments of the token lifecycle (counters of this process; gauges read from the
database when ``/metrics`` is scraped, so they agree across processes)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REFRESHES = Counter(
    "lockstitch_oauth_refreshes_total",
    "Token refreshes finished by this process, by outcome "
    "(success, reauth, client, retriable, ambiguous, conflict).",
    ["outcome"],
)
REFRESH_LAG = Histogram(
    "lockstitch_oauth_refresh_lag_seconds",
    "How late a refresh started after its credential came due.",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
