"""Lockstitch's own HTTP requests under the outbound policy (``kit.outbound``).

Every request of the process's client goes through ``GuardedTransport``: unless the caller marked
it trusted (an endpoint the operator configured: ``extensions={TRUSTED: True}``), its host is
checked by the policy, and the connection is made to the address that was checked. The address is
pinned for the request's task (a context variable read by the network backend), so the name
keeps doing its work everywhere else: TLS verifies the certificate for the name, the Host header
and the connection pool are keyed by it. No second lookup happens between check and connect, so a
name whose DNS answer changes (rebinding) cannot slip an internal address in.

A refused host raises ``OutboundRefused`` before any byte leaves.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from lockstitch.kit.outbound import OutboundPolicy, Refused

TRUSTED = "lockstitch.trusted"
_PINNED: contextvars.ContextVar[dict[tuple[str, int], str] | None] = contextvars.ContextVar(
    "lockstitch_pinned_addresses", default=None
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundRefused(httpx.TransportError):
    """The policy refused the request's host (``refused.reason`` is for the operator's log)."""

    def __init__(self, refused: Refused, request: httpx.Request) -> None:
        super().__init__(refused.reason, request=request)
        self.refused = refused


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the address the policy checked for this request's host, if one is pinned."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pins = _PINNED.get()
        address = pins.get((host, port), host) if pins else host
        return await self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable from here")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport with a connection pool whose network backend honours pinned addresses."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx takes no network backend argument: replace the pool it built with one that has ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_PinnedBackend(),
    )
    return transport


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, policy: OutboundPolicy, inner: httpx.AsyncBaseTransport) -> None:
        self.policy = policy
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.extensions.get(TRUSTED):
            return await self._inner.handle_async_request(request)
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise OutboundRefused(Refused(str(url.host), f"scheme {url.scheme!r} is not http(s)"), request)
        host = url.raw_host.decode("ascii")  # what httpcore hands the network backend
        try:
            checked = await self.policy.check(host)
        except Refused as refused:
            raise OutboundRefused(refused, request) from None
        port = url.port or _DEFAULT_PORTS[url.scheme]
        pins = dict(_PINNED.get() or {})
        pins[(host, port)] = checked.address
        token = _PINNED.set(pins)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            _PINNED.reset(token)

    async def aclose(self) -> None:
        await self._inner.aclose()
