"""The MySQL protocol (``mysql_destination``; MariaDB speaks it too), with PyMySQL.

The host through the outbound policy, then a connection to the checked address with the
destination's credentials (a short connect and read timeout, TLS without verification when
``ssl`` is "true", as Stitch's "ssl" means), ``select 1``, and whether the user holds the global
CREATE privilege: each source loads into a database named after it, which the target creates.
MySQL's client-side errors (codes 2000-2999: cannot connect, lost connection) and anything else
short of a server's answer are the uniform message; what the server says (access denied) is
passed on.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

import pymysql

from lockstitch.destinations.probes.base import Outcome, address_or_outcome, unreachable_outcome
from lockstitch.kit.outbound import OutboundPolicy

# CR_* codes: errors the client raises itself, before or without a server's answer.
_CLIENT_ERRORS = range(2000, 3000)
# The current user's global CREATE privilege (information_schema quotes grantees as 'user'@'host').
_MAY_CREATE = (
    "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'CREATE' "
    "AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
    "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')"
)


class _Answered(Exception):  # noqa: N818 - carries the server's own words out of the thread
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def probe_mysql(
    properties: Mapping[str, Any], secrets: Mapping[str, Any], policy: OutboundPolicy, seconds: float
) -> Outcome:
    host = str(properties.get("host") or "")
    port_text = str(properties.get("port") or "3306")
    user = str(properties.get("username") or "")
    log = [f"connecting to MySQL at {host}:{port_text} as {user}"]
    checked = await address_or_outcome(policy, host, port_text, log)
    if isinstance(checked, Outcome):
        return checked
    password = secrets.get("password")
    tls = properties.get("ssl") == "true"
    try:
        async with asyncio.timeout(seconds):
            may_create = await asyncio.to_thread(
                _connect,
                checked.address,
                int(port_text),
                user,
                "" if password is None else str(password),
                tls,
                seconds,
            )
    except _Answered as answered:
        return Outcome(False, f"could not connect to MySQL at {host}:{port_text}: {answered.detail}", log)
    except Exception as exc:  # noqa: BLE001 - whatever stops short of a server's answer looks alike
        return unreachable_outcome(host, port_text, log, type(exc).__name__)
    log.append("connected; select 1 answered")
    if not may_create:
        return Outcome(
            False,
            f"user {user} may not create databases (each source loads into a database named after "
            "it: grant CREATE)",
            log,
        )
    log.append(f"user {user} may create databases")
    return Outcome(True, None, log)


def _connect(address: str, port: int, user: str, password: str, tls: bool, seconds: float) -> bool:
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        connection = pymysql.connect(
            host=address,
            port=port,
            user=user,
            password=password,
            ssl=context,
            connect_timeout=seconds,
            read_timeout=seconds,
            write_timeout=seconds,
        )
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args else None
        if isinstance(code, int) and code not in _CLIENT_ERRORS:
            detail = str(exc.args[1]) if len(exc.args) > 1 else type(exc).__name__
            raise _Answered(detail) from None
        raise
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.execute(_MAY_CREATE)
            row = cursor.fetchone()
    finally:
        connection.close()
    return bool(row and row[0])
