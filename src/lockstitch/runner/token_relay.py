"""A token endpoint on loopback for one tap run: the tap "refreshes" here, Lockstitch answers.

Access tokens can be shorter than a run (ten seconds, at a provider that rotates refresh tokens),
and a tap must never refresh a rotating token itself (FIELD-NOTES: the rotated token gets lost
and the provider's reuse detection kills the grant). So a tap that speaks OAuth is configured
with this relay as its token URL and with throwaway client credentials that are good for this
run only; every refresh it makes gets the source's current access token from the token engine,
which refreshes with the provider (single-flight, rotation kept) when needed. The real refresh
token never leaves Lockstitch.

The relay speaks just enough HTTP/1.1 for ``POST /token`` with a form body (RFC 6749 section 6).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from lockstitch.kit.time import utcnow

# The tap is told a token lives this much less than it does: it comes back before expiry.
SAFETY_SECONDS = 3
MAX_BODY = 16_384

TokenSource = Callable[[], Awaitable[tuple[str, dt.datetime]]]


@dataclass
class Relay:
    url: str
    client_id: str
    client_secret: str
    refresh_token: str
    secrets_in_play: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def token_relay(
    fresh_token: TokenSource, secrets_sink: list[str] | None = None
) -> AsyncIterator[Relay]:
    """Serve ``fresh_token()`` at ``relay.url`` until the block ends. Every secret in play (the
    throwaway credentials, each token handed out) is appended to ``secrets_sink`` as it appears,
    so a log scrubbing with that list also hides tokens handed out mid-run."""
    relay = Relay("", f"run-{secrets.token_hex(8)}", secrets.token_urlsafe(24), secrets.token_urlsafe(24))
    if secrets_sink is not None:
        relay.secrets_in_play = secrets_sink
    relay.secrets_in_play += [relay.client_secret, relay.refresh_token]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await _answer(reader, relay, fresh_token)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            status, body = 400, {"error": "invalid_request"}
        payload = json.dumps(body).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 503: "Service Unavailable"}[status]
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Cache-Control: no-store\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + payload)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    relay.url = f"http://127.0.0.1:{port}/token"
    try:
        yield relay
    finally:
        server.close()
        await server.wait_closed()


async def _answer(
    reader: asyncio.StreamReader, relay: Relay, fresh_token: TokenSource
) -> tuple[int, dict[str, object]]:
    request_line = (await reader.readline()).decode("latin-1").split()
    headers: dict[str, str] = {}
    while True:
        line = (await reader.readline()).decode("latin-1")
        if line in ("\r\n", "\n", ""):
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if len(request_line) < 2 or request_line[0] != "POST" or not 0 <= length <= MAX_BODY:
        return 400, {"error": "invalid_request"}
    form = {k: v[0] for k, v in parse_qs((await reader.readexactly(length)).decode()).items()}
    if not _authorized(form, headers, relay):
        return 401, {"error": "invalid_client"}
    try:
        token, expires_at = await fresh_token()
    except Exception:  # noqa: BLE001 - the engine recorded its reason on the credential; the tap sees a refusal
        return 503, {"error": "temporarily_unavailable"}
    relay.secrets_in_play.append(token)
    lifetime = int((expires_at - utcnow()).total_seconds()) - SAFETY_SECONDS
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": max(1, lifetime)}


def _authorized(form: dict[str, str], headers: dict[str, str], relay: Relay) -> bool:
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    basic = headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        with contextlib.suppress(ValueError):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
    return (
        hmac.compare_digest(client_id, relay.client_id)
        and hmac.compare_digest(client_secret, relay.client_secret)
        and hmac.compare_digest(form.get("refresh_token", relay.refresh_token), relay.refresh_token)
    )
