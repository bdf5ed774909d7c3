"""Can Lockstitch load into this destination? Checked in-process, without installing the target.

One probe per protocol (by the type's name first, where a type shares a protocol it does not load
through: data.world's is Stitch's ``s3``):

* PostgreSQL protocol (``postgres``; ``redshift`` and ``panoply``, whose protocol is
  ``redshift``): connect, authenticate, ``select 1``, may create schemas (``postgres.py``).
* MySQL protocol (``mysql_destination``): connect, authenticate, ``select 1``, may create
  databases (``mysql.py``).
* TDS (``mssql_server``, ``azure_sqldw``): TCP and a PRELOGIN answer; no login (``tds.py``).
* HTTPS APIs (``snowflake``, ``bigquery_v2``, ``databricks_delta``, ``dataworld``): the API host
  and a verified TLS handshake; no API call (``tls.py``).
* local destinations (``local.STORES``): the folder can be written to (``files.py``).

Every partner-supplied host goes through the outbound policy first, and the probe connects to
the address that was checked. Anything short of the server itself answering (refused address,
failed lookup, closed port, a port that speaks something else, a timeout) is the one uniform
message (``kit.outbound.unreachable``), so a check is no port scanner; what a server says (wrong
password, no such database) is passed on. Other protocols (an operator's own types) have no
probe: their check fails and says so, rather than claiming a connection nobody tried. Messages
and log lines never hold a credential: they pass through ``kit.logging.scrub`` with every
credential value of the destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.destinations import local
from lockstitch.destinations.probes.base import Outcome
from lockstitch.destinations.probes.files import probe_local
from lockstitch.destinations.probes.mysql import probe_mysql
from lockstitch.destinations.probes.postgres import probe_postgres
from lockstitch.destinations.probes.tds import probe_tds
from lockstitch.destinations.probes.tls import api_host, probe_tls
from lockstitch.kit.logging import scrub
from lockstitch.kit.outbound import OutboundPolicy

__all__ = ["Outcome", "probe"]

# The server's name in messages, by type.
_NAMES = {
    "redshift": "Amazon Redshift",
    "panoply": "Panoply",
    "mssql_server": "Microsoft SQL Server",
    "azure_sqldw": "Azure Synapse Analytics",
    "snowflake": "Snowflake",
    "bigquery_v2": "Google BigQuery",
    "databricks_delta": "Databricks",
    "dataworld": "data.world",
}
_TDS = frozenset({"mssql_server", "azure_sqldw"})


async def probe(
    destination_type: DestinationType,
    properties: Mapping[str, Any],
    secrets: Mapping[str, Any],
    warehouse: local.Warehouse,
    policy: OutboundPolicy,
    seconds: float,
) -> Outcome:
    outcome = await _dispatch(destination_type, properties, secrets, warehouse, policy, seconds)
    in_play = [str(v) for v in secrets.values() if v is not None]
    if outcome.message is not None:
        outcome.message = scrub(outcome.message, in_play)
    outcome.log = [scrub(line, in_play) for line in outcome.log]
    return outcome


async def _dispatch(
    destination_type: DestinationType,
    properties: Mapping[str, Any],
    secrets: Mapping[str, Any],
    warehouse: local.Warehouse,
    policy: OutboundPolicy,
    seconds: float,
) -> Outcome:
    name, protocol = destination_type.type, destination_type.details.protocol
    shown = _NAMES.get(name, name)
    if name in _TDS:
        return await probe_tds(properties, policy, seconds, server=shown)
    if name in ("snowflake", "bigquery_v2", "databricks_delta", "dataworld"):
        where = api_host(name, properties)
        if where is None:
            return Outcome(False, f"the properties of this {shown} destination name no host to check")
        return await probe_tls(*where, policy, seconds, service=shown)
    if protocol == "postgres":
        return await probe_postgres(properties, secrets, policy, seconds)
    if protocol == "redshift":
        return await probe_postgres(properties, secrets, policy, seconds, server=shown, default_port="5439")
    if protocol == "mysql_destination":
        return await probe_mysql(properties, secrets, policy, seconds)
    if local.store_of(destination_type) is not None:
        return await probe_local(destination_type, properties, warehouse)
    return Outcome(False, f"Lockstitch has no connection check for destinations of type {protocol}")
