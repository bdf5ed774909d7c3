"""HTTPS API hosts (``snowflake``, ``bigquery_v2``, ``databricks_delta``, ``dataworld``).

The API host, derived from the properties where the partner names it (Snowflake's ``host``,
the host in Databricks' ``jdbc_url``) or the service's fixed one (BigQuery, data.world), goes
through the outbound policy; then a TLS connection to the checked address whose certificate must
be valid for the host's name. That proves the service's endpoint is reachable from here; the
credentials are *not* verified (no API call is made), and the check's log says so. Anything short
of a completed handshake (refused, a port that speaks no TLS, a certificate for another name) is
the uniform message.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Mapping
from typing import Any

from lockstitch.destinations.probes.base import Outcome, address_or_outcome, unreachable_outcome
from lockstitch.kit.outbound import OutboundPolicy

# jdbc:spark://<host>:<port>/default;... (Stitch's example) or jdbc:databricks://<host>:<port>/...
_JDBC = re.compile(r"^jdbc:(?:spark|databricks)://([^:/;?#\s]+)(?::(\d+))?", re.IGNORECASE)
FIXED_HOSTS = {"bigquery_v2": "bigquery.googleapis.com", "dataworld": "api.data.world"}


def api_host(type_name: str, properties: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(host, port)`` of the type's API, or None when the properties do not name one."""
    if type_name in FIXED_HOSTS:
        return FIXED_HOSTS[type_name], "443"
    if type_name == "databricks_delta":
        match = _JDBC.match(str(properties.get("jdbc_url") or ""))
        return (match.group(1), match.group(2) or "443") if match else None
    host = str(properties.get("host") or "")
    return (host, str(properties.get("port") or "443")) if host else None


async def probe_tls(
    host: str,
    port_text: str,
    policy: OutboundPolicy,
    seconds: float,
    *,
    service: str,
    context: ssl.SSLContext | None = None,
) -> Outcome:
    log = [f"connecting to {service} at {host}:{port_text} (TLS)"]
    checked = await address_or_outcome(policy, host, port_text, log)
    if isinstance(checked, Outcome):
        return checked
    try:
        async with asyncio.timeout(seconds):
            _reader, writer = await asyncio.open_connection(
                checked.address,
                int(port_text),
                ssl=context or ssl.create_default_context(),
                server_hostname=host,
                ssl_handshake_timeout=seconds,
            )
            writer.close()
    except Exception as exc:  # noqa: BLE001 - whatever stops short of a handshake looks alike
        return unreachable_outcome(host, port_text, log, type(exc).__name__)
    log.append(f"TLS handshake with {host}:{port_text} completed; its certificate is valid for {host}")
    log.append(f"the credentials were not verified: Lockstitch's check makes no {service} API call")
    return Outcome(True, None, log)
