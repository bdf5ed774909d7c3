"""The ``lockstitch`` command line (typer).

Every command builds its settings and context the same way (``_context``), so all honour
``LOCKSTITCH_HOME``, ``LOCKSTITCH_DATABASE_URL`` and ``LOCKSTITCH_CONFIG``. Configuration
problems end the command with exit code 2 and a message saying what to fix.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
import uvicorn

from lockstitch.accounts import service as accounts
from lockstitch.config import Settings, load_settings
from lockstitch.context import Context, build_context
from lockstitch.kit.crypto import generate_key
from lockstitch.kit.errors import ConfigurationError, LockstitchError
from lockstitch.kit.logging import configure_logging, register_secret
from lockstitch.migrations import upgrade
from lockstitch.oauth import service as oauth
from lockstitch.rotation import rotate_all
from lockstitch.runner.catalog_cli import catalog_app
from lockstitch.runner.cli import duckdb_query, plugins_app

T = TypeVar("T")
app = typer.Typer(help="Lockstitch: a self-hosted Stitch Connect API server.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (each is a stitch_client_id).", no_args_is_help=True)
tokens_app = typer.Typer(help="API access tokens of an account.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for secrets at rest.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(tokens_app, name="tokens")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(plugins_app, name="plugins")
app.add_typer(catalog_app, name="catalog")
app.command("duckdb")(duckdb_query)


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**overrides)
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    for partner in settings.partners:
        register_secret(partner.secret.get_secret_value())
    for provider in settings.oauth.providers.values():
        if provider.client_secret is not None:
            register_secret(provider.client_secret.get_secret_value())
    for spec in settings.encryption_keys:
        register_secret(spec.partition(":")[2])
    if settings.operations_token is not None:
        register_secret(settings.operations_token.get_secret_value())
    return settings


def _context(settings: Settings) -> Context:
    try:
        return build_context(settings)
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _run(settings: Settings, work: Callable[[Context], Awaitable[T]], *, migrate: bool = True) -> T:
    """Run one async command against a migrated database, then release the connections."""

    async def main() -> T:
        ctx = _context(settings)
        try:
            if migrate:
                await upgrade(ctx.db.engine)
            return await work(ctx)
        finally:
            await ctx.close()

    try:
        return asyncio.run(main())
    except LockstitchError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only; run `lockstitch worker` apart.")
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Create the demo account and print its token.")
    ] = False,
) -> None:
    """Apply migrations, then serve the API (with the embedded worker unless --no-worker)."""
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = _settings(**overrides)
    from lockstitch.app import create_app  # noqa: PLC0415 - keep `lockstitch --help` fast
    from lockstitch.demo import banner, ensure_demo, finish_setup, seed_replication  # noqa: PLC0415

    async def main() -> None:
        ctx = _context(settings)
        await upgrade(ctx.db.engine)
        demo_info = await ensure_demo(ctx) if demo else None
        demo_source = await seed_replication(ctx, demo_info) if demo_info is not None else None
        api = create_app(ctx, embedded_worker=not no_worker)
        config = uvicorn.Config(
            api, host=settings.host, port=settings.port, log_config=None, access_log=True, lifespan="on"
        )
        server = uvicorn.Server(config)

        async def announce() -> None:
            while not server.started:
                if server.should_exit:
                    return
                await asyncio.sleep(0.05)
            if demo_info is not None:
                print(banner(settings.base_url, demo_info), flush=True)
                if demo_source is not None and not no_worker:
                    await finish_setup(ctx, demo_info, demo_source, lambda line: print(line, flush=True))
            else:
                print(f"Lockstitch is running at {settings.base_url}", flush=True)

        announcer = asyncio.create_task(announce())
        await server.serve()
        announcer.cancel()

    asyncio.run(main())


@app.command()
def worker() -> None:
    """Run background work alone (for fleets: `serve --no-worker` on API machines)."""
    settings = _settings()
    from lockstitch.worker.loop import Worker  # noqa: PLC0415

    async def work(ctx: Context) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Worker(ctx).run(stop)

    _run(settings, work)


@accounts_app.command("create")
def accounts_create(
    email: Annotated[str, typer.Option(help="The account's email (unique).")],
    company: Annotated[str, typer.Option(help="Company name.")],
    first_name: Annotated[str, typer.Option(help="First name.")] = "",
    last_name: Annotated[str, typer.Option(help="Last name.")] = "",
    tier: Annotated[str, typer.Option(help="Plan: standard, premium or enterprise.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Create an account and its first API token (shown once)."""
    settings = _settings()
    pricing_tier = tier or settings.default_pricing_tier
    if pricing_tier not in accounts.TIERS:
        typer.echo(f"error: --tier must be one of {', '.join(accounts.TIERS)}", err=True)
        raise typer.Exit(2)

    async def work(ctx: Context) -> accounts.NewAccount:
        async with ctx.db.unit_of_work() as session:
            return await accounts.create_account(
                session,
                email=email,
                company=company,
                first_name=first_name,
                last_name=last_name,
                pricing_tier=pricing_tier,
            )

    created = _run(settings, work)
    result = {"stitch_account_id": created.account.id, "access_token": created.access_token}
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(f"account {created.account.id} created ({pricing_tier})")
        typer.echo(f"API token (shown once): {created.access_token}")


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts."""

    async def work(ctx: Context) -> list[tuple[int, str, str, str]]:
        async with ctx.db.read() as session:
            return [(a.id, a.email, a.company, a.pricing_tier) for a in await accounts.list_accounts(session)]

    for account_id, email, company, tier in _run(_settings(), work):
        typer.echo(f"{account_id}\t{email}\t{company}\t{tier}")


async def _require_account(ctx: Context, account_id: int) -> None:
    async with ctx.db.read() as session:
        if not await accounts.account_exists(session, account_id):
            typer.echo(f"error: account {account_id} does not exist", err=True)
            raise typer.Exit(1)


origins_app = typer.Typer(
    help="Origins an account's managed-OAuth return_urls may use.", no_args_is_help=True
)
accounts_app.add_typer(origins_app, name="origins")


@origins_app.command("add")
def origins_add(
    origin: Annotated[str, typer.Argument(help="e.g. https://app.example.com")],
    account: Annotated[int, typer.Option(help="Account id.")],
) -> None:
    """Allow return_urls on this origin (an account has at most 50)."""
    try:
        oauth.normalize_origin(origin)
    except LockstitchError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None

    async def work(ctx: Context) -> str:
        await _require_account(ctx, account)
        async with ctx.db.unit_of_work() as session:
            return await oauth.add_origin(session, account, origin)

    typer.echo(f"{_run(_settings(), work)} added")


@origins_app.command("list")
def origins_list(account: Annotated[int, typer.Option(help="Account id.")]) -> None:
    """List the account's origins."""

    async def work(ctx: Context) -> list[str]:
        await _require_account(ctx, account)
        async with ctx.db.read() as session:
            return await oauth.origins(session, account)

    for origin in _run(_settings(), work):
        typer.echo(origin)


@origins_app.command("remove")
def origins_remove(
    origin: Annotated[str, typer.Argument(help="An origin from `origins list`.")],
    account: Annotated[int, typer.Option(help="Account id.")],
) -> None:
    """Stop allowing return_urls on this origin."""

    async def work(ctx: Context) -> bool:
        async with ctx.db.unit_of_work() as session:
            return await oauth.remove_origin(session, account, origin)

    if not _run(_settings(), work):
        typer.echo(f"error: account {account} has no origin {origin}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{origin} removed")


@tokens_app.command("create")
def tokens_create(
    account: Annotated[int, typer.Option(help="Account id.")],
    name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "",
    scope: Annotated[list[str] | None, typer.Option(help="Extra scope, e.g. credentials:read.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Create another API token for an account (shown once)."""
    scopes = frozenset(scope or [])
    if scopes - accounts.KNOWN_SCOPES:
        typer.echo(f"error: known scopes are {', '.join(sorted(accounts.KNOWN_SCOPES))}", err=True)
        raise typer.Exit(2)

    async def work(ctx: Context) -> str:
        await _require_account(ctx, account)
        async with ctx.db.unit_of_work() as session:
            return await accounts.issue_token(session, account, name=name, scopes=scopes)

    token = _run(_settings(), work)
    if as_json:
        typer.echo(json.dumps({"stitch_account_id": account, "access_token": token}))
    else:
        typer.echo(f"API token (shown once): {token}")


@tokens_app.command("list")
def tokens_list(account: Annotated[int, typer.Option(help="Account id.")]) -> None:
    """List an account's tokens (id, hint, name, scopes, created, revoked)."""

    async def work(ctx: Context) -> list[str]:
        await _require_account(ctx, account)
        async with ctx.db.read() as session:
            rows = await accounts.list_tokens(session, account)
        return [
            f"{t.id}\t{t.hint}...\t{t.name or '-'}\t{t.scopes or '-'}\t{t.created_at:%Y-%m-%dT%H:%M:%SZ}\t"
            + (f"revoked {t.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if t.revoked_at else "active")
            for t in rows
        ]

    for line in _run(_settings(), work):
        typer.echo(line)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (from `tokens list`).")],
    account: Annotated[int, typer.Option(help="Account id.")],
) -> None:
    """Revoke a token: it stops working at once."""

    async def work(ctx: Context) -> bool:
        async with ctx.db.unit_of_work() as session:
            return await accounts.revoke_token(session, account, token_id)

    if not _run(_settings(), work):
        typer.echo(f"error: account {account} has no active token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"token {token_id} revoked")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new encryption key (put it first in LOCKSTITCH_ENCRYPTION_KEYS)."""
    typer.echo(generate_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret under the newest key (safe while servers run)."""

    settings = _settings()
    totals = _run(settings, rotate_all)
    detail = ", ".join(f"{count} {name}" for name, count in totals.items())
    typer.echo(
        f"re-encrypted {sum(totals.values())} secret(s) under key {settings.keyring.newest_id} ({detail})"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    _run(_settings(), lambda ctx: asyncio.sleep(0))
    typer.echo("database is up to date")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
