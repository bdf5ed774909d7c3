"""Test fixtures: a real migrated database (SQLite *and* PostgreSQL), the app, accounts.

Every test that touches the database runs once per backend: the session-scoped ``backend``
fixture is parametrized, and pytest groups tests by its value. Each backend's database is
created and migrated once per session; tables are emptied after each test.

PostgreSQL comes from ``LOCKSTITCH_TEST_POSTGRES`` (default: the local server on 127.0.0.1:5432
with trust auth, as on the CI machines; ``make test`` starts it when it is down).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import delete

from lockstitch.accounts import service as accounts
from lockstitch.app import create_app
from lockstitch.catalog.loader import Catalog, load_catalog
from lockstitch.config import Settings
from lockstitch.context import Context, build_context
from lockstitch.kit.crypto import generate_key
from lockstitch.kit.logging import configure_logging
from lockstitch.kit.outbound import Resolver
from lockstitch.migrations import upgrade
from lockstitch.models import Base
from tests import canary, oracle
from tests.oauth_server.harness import OidcProvider, ProviderConfig, default_cache_root

POSTGRES_ADMIN = os.environ.get("LOCKSTITCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_KEY = generate_key("test1")
REPO = Path(__file__).resolve().parent.parent
TEST_TYPES = REPO / "tests" / "fixtures" / "source_types"
PLUGINS_CACHE = default_cache_root() / "plugins"
LOOPBACK_CIDRS = ["127.0.0.0/8", "::1/128"]


def _worker_suffix() -> str:
    # Unique per run and per xdist worker: two test runs on one machine (a developer's and CI's)
    # must never drop each other's database.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:10]
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{run}"


async def _drop_postgres_database(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _fresh_postgres_database(name: str) -> str:
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN} ({exc}); `make test` starts it, "
            "or point LOCKSTITCH_TEST_POSTGRES at a server where the tests may create databases"
        )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def oidc() -> Iterator[OidcProvider]:
    """A real OAuth server (npm oidc-provider) for this test process: rotating refresh tokens,
    reuse detection, 10-second access tokens (tests/oauth_server)."""
    config = ProviderConfig.default(redirect_uris=["http://lockstitch.test/oauth/callback"])
    canary.remember(*(client.client_secret for client in config.clients))
    with OidcProvider().start(config) as provider:
        yield provider
        canary.remember(*provider.issued())  # every token and code, whoever asked for it


@pytest.fixture(scope="session", autouse=True)
def _canary_scan() -> Iterator[None]:
    """Lockstitch's logging as in production (redaction in the sink), every line kept; at the
    end, no secret any test came across may appear in a log line or a response."""
    configure_logging("debug")
    capture = canary.CaptureHandler(canary.SESSION)
    capture.setFormatter(logging.getLogger().handlers[0].formatter)
    logging.getLogger().addHandler(capture)
    yield
    logging.getLogger().removeHandler(capture)
    scan = canary.SESSION
    leaks = scan.leaks()
    known = f"{len(scan.canaries)} secrets known"
    counts = f"{known}, {len(scan.log_lines)} log lines, {len(scan.responses)} responses"
    assert not leaks, f"secrets leaked ({counts}): {leaks}"


@pytest.fixture(scope="session", autouse=True)
def _response_oracle() -> Iterator[None]:
    """Every JSON answer of a Stitch endpoint, whichever client got it, is checked against its
    object's schema (tests/oracle); a broken shape fails the test that received it."""
    oracle.install()
    yield
    oracle.uninstall()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
async def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "lockstitch.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"lockstitch_test_{_worker_suffix()}"
    yield await _fresh_postgres_database(name)
    await _drop_postgres_database(name)


def make_settings(database_url: str, home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "home": home,
        "database_url": database_url,
        "encryption_keys": [TEST_KEY],
        "source_type_dirs": [TEST_TYPES],
        "partners": [
            {"id": "oc_partner", "secret": "partner-secret-value", "default_pricing_tier": "enterprise"}
        ],
        # Taps and targets from PyPI, installed once per machine (pip's cache makes a fresh
        # install fast too); the plugin tests install into their own directories.
        "runner": {"plugins_dir": PLUGINS_CACHE, "check_timeout_seconds": 120},
        # Production's outbound policy, with this machine's servers allowed the way an operator
        # allows an internal network: the test databases and OAuth server live on loopback.
        "network": {"allowed_cidrs": LOOPBACK_CIDRS},
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
async def migrated(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    ctx = build_context(make_settings(database_url, tmp_path_factory.mktemp("home")))
    await upgrade(ctx.db.engine)
    await ctx.close()
    return database_url


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog([TEST_TYPES])


MakeContext = Callable[..., Context]


@pytest.fixture
async def make_ctx(migrated: str, tmp_path: Path, catalog: Catalog) -> AsyncIterator[MakeContext]:
    """Contexts on the test database, with settings overrides, an optional HTTP transport (a
    stand-in for servers that cannot run here) and DNS resolver (names that lead inside, for the
    outbound policy). The database is emptied after the test."""
    made: list[Context] = []

    def make(
        *,
        http_transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        **overrides: Any,
    ) -> Context:
        settings = make_settings(migrated, tmp_path, **overrides)
        context = build_context(settings, catalog=catalog, http_transport=http_transport, resolver=resolver)
        made.append(context)
        return context

    yield make
    async with made[0].db.unit_of_work() if made else _nothing() as session:
        if session is not None:
            for table in reversed(Base.metadata.sorted_tables):
                await session.execute(delete(table))
    for context in made:
        await context.close()


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield None


@pytest.fixture
async def ctx(make_ctx: MakeContext) -> Context:
    return make_ctx()


async def _record(response: httpx.Response) -> None:
    if response.request.url.path.endswith("/credentials/access-token"):
        return  # the one answer that may carry a token: its own
    await response.aread()
    canary.record_response(response.text + str(dict(response.headers)))


def api_client(context: Context) -> httpx.AsyncClient:
    """An HTTP client talking to the app in-process (no server, no worker); every answer is
    kept for the canary scan."""
    transport = httpx.ASGITransport(app=create_app(context), raise_app_exceptions=False)
    return httpx.AsyncClient(
        transport=transport, base_url="http://lockstitch.test", event_hooks={"response": [_record]}
    )


@pytest.fixture
async def client(ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(ctx) as http:
        yield http


@dataclass(frozen=True)
class AccountHandle:
    id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeAccount = Callable[..., Awaitable[AccountHandle]]


@pytest.fixture
def make_account(ctx: Context) -> MakeAccount:
    counter = iter(range(1, 10_000))

    async def make(tier: str = "enterprise", email: str | None = None) -> AccountHandle:
        async with ctx.db.unit_of_work() as session:
            created = await accounts.create_account(
                session,
                email=email or f"user{next(counter)}@example.com",
                company="Example",
                pricing_tier=tier,
            )
        return AccountHandle(created.account.id, created.access_token)

    return make


@pytest.fixture
async def account(make_account: MakeAccount) -> AccountHandle:
    return await make_account()
