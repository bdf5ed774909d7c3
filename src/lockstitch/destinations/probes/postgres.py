"""The PostgreSQL protocol: ``postgres``, and ``redshift`` and ``panoply`` (Redshift speaks it).

The host through the outbound policy, then asyncpg to the checked address (the destination's
credentials, a short timeout), ``select 1``, and whether the user may create schemas in the
database (each source loads into its own). What the server says (wrong password, no such
database) is passed on; anything short of the server answering is the uniform message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncpg

from lockstitch.destinations.probes.base import Outcome, address_or_outcome, unreachable_outcome
from lockstitch.kit.outbound import OutboundPolicy


async def probe_postgres(
    properties: Mapping[str, Any],
    secrets: Mapping[str, Any],
    policy: OutboundPolicy,
    seconds: float,
    *,
    server: str = "PostgreSQL",
    default_port: str = "5432",
) -> Outcome:
    host = str(properties.get("host") or "")
    port_text = str(properties.get("port") or default_port)
    user = str(properties.get("username") or "")
    database = str(properties.get("database") or "")
    where = f"{host}:{port_text}/{database}"
    log = [f"connecting to {server} at {where} as {user}"]
    checked = await address_or_outcome(policy, host, port_text, log)
    if isinstance(checked, Outcome):
        return checked
    password = secrets.get("password")
    try:
        async with asyncio.timeout(seconds):
            connection = await asyncpg.connect(
                host=checked.address,
                port=int(port_text),
                user=user,
                password=str(password) if password is not None else None,
                database=database,
                ssl="require" if properties.get("ssl") == "true" else "prefer",
                timeout=seconds,
            )
            try:
                await connection.fetchval("select 1")
                may_create = await connection.fetchval(
                    "select has_database_privilege(current_user, current_database(), 'CREATE')"
                )
            finally:
                await connection.close(timeout=seconds)
    except asyncpg.PostgresError as exc:
        # The server answered: its words help (wrong password, no such database).
        detail = str(exc).strip() or type(exc).__name__
        return Outcome(False, f"could not connect to {server} at {where}: {detail}", log)
    except Exception as exc:  # noqa: BLE001 - whatever stops short of a server's answer looks alike
        return unreachable_outcome(host, port_text, log, type(exc).__name__)
    log.append("connected; select 1 answered")
    if not may_create:
        return Outcome(
            False,
            f"user {user} may not create schemas in database {database} "
            "(each source loads into its own schema: grant CREATE on the database)",
            log,
        )
    log.append(f"user {user} may create schemas in database {database}")
    return Outcome(True, None, log)
