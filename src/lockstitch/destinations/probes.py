"""Can Lockstitch load into this destination? Checked in-process, without installing the target.

* ``postgres``: the host through the outbound policy (``kit.outbound``), then connect to the
  address that was checked (asyncpg, the destination's credentials, a short timeout),
  ``select 1``, and make sure the user may create schemas in the database (each source loads into
  its own). Anything short of a PostgreSQL server answering (refused address, failed lookup,
  closed port, a port that speaks something else, a timeout) is the one uniform message, so a
  check is no port scanner; what the server itself says (wrong password, no such database) is
  passed on.
* local destinations (``local.STORES``): the file's folder, or the folder, inside the account's
  warehouse folder, can be created and written to.

Other protocols (an operator's own types) have no probe: their check fails and says so, rather
than claiming a connection nobody tried. Messages never hold a credential: they are passed
through ``kit.logging.scrub`` with every credential value of the destination.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from lockstitch.catalog.destination_type import DestinationType
from lockstitch.destinations import local
from lockstitch.kit.logging import get_logger, scrub
from lockstitch.kit.outbound import OutboundPolicy, Refused, unreachable

logger = get_logger("lockstitch.destinations")


@dataclass
class Outcome:
    ok: bool
    message: str | None = None  # why not, for the client
    log: list[str] = field(default_factory=list)


async def probe(
    destination_type: DestinationType,
    properties: Mapping[str, Any],
    secrets: Mapping[str, Any],
    warehouse: local.Warehouse,
    policy: OutboundPolicy,
    seconds: float,
) -> Outcome:
    protocol = destination_type.details.protocol
    if protocol == "postgres":
        outcome = await _postgres(properties, secrets, policy, seconds)
    elif local.store_of(destination_type) is not None:
        outcome = await _local(destination_type, properties, warehouse)
    else:
        outcome = Outcome(False, f"Lockstitch has no connection check for destinations of type {protocol}")
    in_play = [str(v) for v in secrets.values() if v is not None]
    if outcome.message is not None:
        outcome.message = scrub(outcome.message, in_play)
    outcome.log = [scrub(line, in_play) for line in outcome.log]
    return outcome


async def _postgres(
    properties: Mapping[str, Any], secrets: Mapping[str, Any], policy: OutboundPolicy, seconds: float
) -> Outcome:
    host = str(properties.get("host") or "")
    port_text = str(properties.get("port") or "5432")
    user = str(properties.get("username") or "")
    database = str(properties.get("database") or "")
    where = f"{host}:{port_text}/{database}"
    log = [f"connecting to PostgreSQL at {where} as {user}"]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return Outcome(False, f"port {port_text} is not a TCP port", log)
    unreachable_here = Outcome(False, unreachable(f"{host}:{port_text}"), log)
    try:
        checked = await policy.check(host)
    except Refused:
        return unreachable_here
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
        return Outcome(False, f"could not connect to PostgreSQL at {where}: {detail}", log)
    except Exception as exc:  # noqa: BLE001 - whatever stops short of a PostgreSQL answer looks alike
        logger.info("destination probe could not connect", where=where, reason=type(exc).__name__)
        return unreachable_here
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


async def _local(
    destination_type: DestinationType, properties: Mapping[str, Any], warehouse: local.Warehouse
) -> Outcome:
    store = local.store_of(destination_type)
    where = warehouse.location(destination_type, {k: str(v) for k, v in properties.items()})
    if store is None or where is None:
        return Outcome(False, f"property path {local.OUTSIDE_HOME}")
    folder = where.parent if store.kind == "file" else where
    shown = warehouse.shown(where)
    log = [f"checking that {shown} can be written"]
    try:
        await asyncio.to_thread(_try_write, folder, where if store.kind == "file" else None)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return Outcome(False, f"cannot write to {shown}: {reason}", log)
    log.append(f"{warehouse.shown(folder)} is writable")
    return Outcome(True, None, log)


def _try_write(folder: Path, file: Path | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if file is not None and file.exists() and not file.is_file():
        raise IsADirectoryError(21, "it exists and is not a file")
    if file is not None and file.exists() and not os.access(file, os.W_OK):
        raise PermissionError(13, "the file is not writable")
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".lockstitch-check-") as handle:
        handle.write(b"ok")
        handle.flush()
