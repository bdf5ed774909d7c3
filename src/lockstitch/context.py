"""What a running Lockstitch process shares: settings, database, catalogue, keyring.

Built once by ``build_context`` and handed to the API (``app.state.ctx``), the worker and the
CLI commands, so that nothing else constructs engines or reads settings. A router reaches it with
``context_of(request)``, reads a bounded JSON body with ``read_body``, and runs its service call
in a read session (``reading``) or one unit of work (``writing``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from lockstitch import __version__
from lockstitch.catalog.loader import Catalog, load_catalog
from lockstitch.catalog.providers import Providers
from lockstitch.config import Settings
from lockstitch.kit.crypto import Keyring
from lockstitch.kit.db import Database
from lockstitch.kit.json import BodyNotJSON, BodyTooLarge, read_json
from lockstitch.kit.liveness import process_identity
from lockstitch.kit.outbound import OutboundPolicy, Resolver
from lockstitch.kit.outbound_http import GuardedTransport, pinned_transport

T = TypeVar("T")


@dataclass
class Context:
    settings: Settings
    db: Database
    catalog: Catalog
    keyring: Keyring
    providers: Providers
    # Names this process in leases it takes (kit.liveness: host, pid, start time; unique even
    # after a pid is reused), so a worker on the same host can tell whether a holder lives.
    process_id: str
    # The one HTTP client of the process (OAuth token requests...). Tests hand in a transport to
    # stand in for servers that cannot run here (Google's), at the transport layer. Every request
    # goes through the outbound policy unless marked trusted (kit.outbound_http).
    http: httpx.AsyncClient
    # Where partner-supplied hosts may lead (kit.outbound): checked before anything connects.
    outbound: OutboundPolicy

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.dispose()


def build_context(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
) -> Context:
    """Fails fast (``ConfigurationError``) on a missing key or a bad catalogue file. ``resolver``
    replaces DNS for the outbound policy (tests: names that lead to internal addresses)."""
    keyring = settings.keyring
    catalog = catalog or load_catalog(settings.source_type_dirs, settings.catalog_cache_dir)
    outbound = OutboundPolicy(
        allow_private=settings.allow_private_addresses,
        allowed_hosts=settings.network.allowed_hosts,
        allowed_cidrs=settings.network.allowed_cidrs,
        resolver=resolver,
    )
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    http = httpx.AsyncClient(
        transport=GuardedTransport(outbound, http_transport or pinned_transport(limits)),
        timeout=httpx.Timeout(settings.oauth.http_timeout_seconds, connect=5.0),
        headers={"User-Agent": f"Lockstitch/{__version__}"},
        follow_redirects=False,
        trust_env=False,
    )
    if settings.is_sqlite:
        settings.home.mkdir(parents=True, exist_ok=True)
    return Context(
        settings=settings,
        db=Database(settings.database),
        catalog=catalog,
        keyring=keyring,
        providers=Providers(catalog.providers, settings.oauth),
        outbound=outbound,
        process_id=process_identity(),
        http=http,
    )


def context_of(request: Request) -> Context:
    return cast("Context", request.app.state.ctx)


async def read_body(
    request: Request,
    invalid: Callable[[], Exception],
    too_large: Callable[[int], Exception] | None = None,
) -> Any:
    """The request's JSON body, at most ``settings.max_body_bytes``.

    Each endpoint family answers a body that is not JSON (``invalid()``) and one over the limit
    (``too_large(limit)``; ``invalid()`` when not given) in its own Stitch shape, so the caller
    names the errors and this function holds the one rule of reading.
    """
    limit = context_of(request).settings.max_body_bytes
    try:
        return await read_json(request, limit)
    except BodyNotJSON:
        raise invalid() from None
    except BodyTooLarge:
        raise (too_large(limit) if too_large is not None else invalid()) from None


async def reading(request: Request, work: Callable[[AsyncSession, Context], Awaitable[T]]) -> T:
    """``work`` run in a read session of the request's context: what every GET handler does."""
    ctx = context_of(request)
    async with ctx.db.read() as session:
        return await work(session, ctx)


async def writing(request: Request, work: Callable[[AsyncSession, Context], Awaitable[T]]) -> T:
    """``work`` run in one unit of work, committed before its result is returned, so a handler
    answers only what is stored (a failed commit answers an error, never the new object)."""
    ctx = context_of(request)
    async with ctx.db.unit_of_work() as session:
        return await work(session, ctx)
