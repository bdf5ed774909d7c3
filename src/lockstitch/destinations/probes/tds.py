"""Microsoft's TDS protocol (``mssql_server``, ``azure_sqldw``): reachability and a PRELOGIN.

The host through the outbound policy, a TCP connection to the checked address, then TDS's first
exchange: a PRELOGIN packet out, and a PRELOGIN answer back that names the server's version.
That proves a SQL Server (or Azure Synapse) listens there. The credentials are *not* verified:
the login that follows needs TLS inside TDS and LOGIN7, which Lockstitch does not speak; the
check's log says so. Anything short of a TDS answer is the uniform message.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping
from typing import Any

from lockstitch.destinations.probes.base import Outcome, address_or_outcome, unreachable_outcome
from lockstitch.kit.outbound import OutboundPolicy

_PRELOGIN = 0x12
_TABULAR_RESULT = 0x04  # the type of every server answer, PRELOGIN's included
_VERSION, _ENCRYPTION, _TERMINATOR = 0x00, 0x01, 0xFF
_HEADER = struct.Struct(">BBHHBB")  # type, status, length, SPID, packet id, window
_OPTION = struct.Struct(">BHH")  # token, offset, length (offsets from the payload's start)
_MAX_ANSWER = 4096


def prelogin_packet() -> bytes:
    """A PRELOGIN with VERSION (all zero: a client's version is informational) and ENCRYPTION
    off (0x00); the server answers with its own version and encryption choice either way."""
    table_size = 2 * _OPTION.size + 1
    options = _OPTION.pack(_VERSION, table_size, 6) + _OPTION.pack(_ENCRYPTION, table_size + 6, 1)
    payload = options + bytes([_TERMINATOR]) + bytes(6) + b"\x00"
    return _HEADER.pack(_PRELOGIN, 0x01, _HEADER.size + len(payload), 0, 1, 0) + payload


def server_version(answer: bytes) -> str | None:
    """The version in a PRELOGIN answer (``major.minor.build``), or None when it is not one."""
    if len(answer) < _HEADER.size:
        return None
    kind, _status, length, _spid, _packet, _window = _HEADER.unpack_from(answer)
    payload = answer[_HEADER.size : length]
    if kind != _TABULAR_RESULT or length > len(answer) or not payload:
        return None
    at = 0
    while at < len(payload) and payload[at] != _TERMINATOR:
        if at + _OPTION.size > len(payload):
            return None
        token, offset, size = _OPTION.unpack_from(payload, at)
        if token == _VERSION and size >= 4 and offset + size <= len(payload):
            major, minor, build = struct.unpack_from(">BBH", payload, offset)
            return f"{major}.{minor}.{build}"
        at += _OPTION.size
    return None


async def probe_tds(
    properties: Mapping[str, Any], policy: OutboundPolicy, seconds: float, *, server: str
) -> Outcome:
    host = str(properties.get("host") or "")
    port_text = str(properties.get("port") or "1433")
    log = [f"connecting to {server} at {host}:{port_text}"]
    checked = await address_or_outcome(policy, host, port_text, log)
    if isinstance(checked, Outcome):
        return checked
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection(checked.address, int(port_text))
            try:
                writer.write(prelogin_packet())
                await writer.drain()
                header = await reader.readexactly(_HEADER.size)
                length = _HEADER.unpack(header)[2]
                body = await reader.readexactly(max(0, min(length, _MAX_ANSWER) - _HEADER.size))
            finally:
                writer.close()
    except Exception as exc:  # noqa: BLE001 - whatever stops short of a TDS answer looks alike
        return unreachable_outcome(host, port_text, log, type(exc).__name__)
    version = server_version(header + body)
    if version is None:
        return unreachable_outcome(host, port_text, log, "not a TDS PRELOGIN answer")
    log.append(f"a TDS server answered the PRELOGIN (version {version})")
    log.append("the credentials were not verified: Lockstitch's check does not log in over TDS")
    return Outcome(True, None, log)
