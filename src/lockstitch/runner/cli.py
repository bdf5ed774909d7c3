"""``lockstitch plugins``: list and install the Singer taps and targets the catalogue names.

These commands need only the settings and the catalogue: no database, no encryption key, so an
operator can prepare a machine's plugins before anything else is configured.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from lockstitch.catalog.loader import Catalog, load_catalog
from lockstitch.catalog.models import PluginDef
from lockstitch.config import Settings, load_settings
from lockstitch.kit.errors import ConfigurationError
from lockstitch.runner.plugins import PluginInstallError, Plugins, plugin_key

plugins_app = typer.Typer(help="Singer taps and targets, each in its own virtualenv.", no_args_is_help=True)
_LINE_WIDTH = 70


@dataclass
class _Entry:
    """One plugin venv and every type that runs it (types may share a pinned plugin)."""

    defn: PluginDef
    types: list[str] = field(default_factory=list)

    def names(self) -> set[str]:
        return {self.defn.package, self.defn.executable, *self.types}


@dataclass
class _Outcome:
    entry: _Entry
    status: str
    seconds: float
    error: str | None = None


def cli_settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def cli_catalog(settings: Settings) -> Catalog:
    try:
        return load_catalog(settings.source_type_dirs)
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _entries(catalog: Catalog) -> list[_Entry]:
    by_key: dict[str, _Entry] = {}
    for type_name, defn in catalog.plugins():
        by_key.setdefault(plugin_key(defn), _Entry(defn)).types.append(type_name)
    return list(by_key.values())


def _select(entries: list[_Entry], names: list[str], everything: bool) -> list[_Entry]:
    if everything:
        return entries
    if not names:
        typer.echo(
            "error: name the plugins to install (package, executable or type), or pass --all", err=True
        )
        raise typer.Exit(2)
    unknown = [name for name in names if not any(name in e.names() for e in entries)]
    if unknown:
        known = ", ".join(sorted({e.defn.package for e in entries})) or "none"
        typer.echo(f"error: no plugin named {', '.join(unknown)}; the catalogue has: {known}", err=True)
        raise typer.Exit(2)
    return [e for e in entries if e.names() & set(names)]


@plugins_app.command("list")
def list_plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Every plugin the catalogue names, and whether it is installed."""
    settings = cli_settings()
    plugins = Plugins.from_settings(settings)
    entries = _entries(cli_catalog(settings))
    if as_json:
        rows = [
            {
                "types": e.types,
                "package": e.defn.package,
                "version": e.defn.version,
                "executable": e.defn.executable,
                "installed": plugins.is_installed(e.defn),
                "path": str(plugins.path(e.defn)),
            }
            for e in entries
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Plugins in {plugins.root}")
    for column in ("Type(s)", "Package", "Version", "Installed", "Path"):
        table.add_column(column, overflow="fold")  # a cut path or name is of no use
    for e in entries:
        installed = "yes" if plugins.is_installed(e.defn) else "no"
        table.add_row(
            "\n".join(e.types), e.defn.package, e.defn.version, installed, str(plugins.path(e.defn))
        )
    Console().print(table)


@plugins_app.command("install")
def install_plugins(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Package (meltanolabs-tap-postgres), executable (tap-postgres) or type."),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every plugin the catalogue names.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Reinstall even when installed.")] = False,
    jobs: Annotated[int, typer.Option(min=1, max=8, help="Plugins installed at once.")] = 2,
) -> None:
    """Install plugins into their virtualenvs (exit 1 when any install fails)."""
    settings = cli_settings()
    selected = _select(_entries(cli_catalog(settings)), names or [], everything)
    plugins = Plugins.from_settings(settings)
    outcomes = asyncio.run(_install_all(plugins, selected, force=force, jobs=jobs))
    _print_summary(outcomes)
    if any(o.error for o in outcomes):
        raise typer.Exit(1)


async def _install_all(plugins: Plugins, entries: list[_Entry], *, force: bool, jobs: int) -> list[_Outcome]:
    # Progress goes to stderr, so stdout holds only the summary.
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        slots = asyncio.Semaphore(jobs)

        async def one(entry: _Entry) -> _Outcome:
            # Started once it has a slot: the clock shows its own install time, not the queue's.
            task = progress.add_task(_label(entry.defn, "queued"), total=1, start=False)
            async with slots:
                progress.start_task(task)
                return await _install_one(plugins, entry, progress, task, force=force)

        return list(await asyncio.gather(*(one(e) for e in entries)))


async def _install_one(
    plugins: Plugins, entry: _Entry, progress: Progress, task: TaskID, *, force: bool
) -> _Outcome:
    defn = entry.defn
    started = time.monotonic()
    if plugins.is_installed(defn) and not force:
        progress.update(task, description=_label(defn, "already installed"), completed=1)
        return _Outcome(entry, "already installed", 0.0)

    def show(line: str) -> None:
        progress.update(task, description=_label(defn, line))

    try:
        await plugins.install(defn, show, force=force)
    except PluginInstallError as exc:
        progress.update(task, description=_label(defn, "failed"), completed=1)
        return _Outcome(entry, "failed", time.monotonic() - started, exc.message)
    progress.update(task, description=_label(defn, "installed"), completed=1)
    return _Outcome(entry, "installed", time.monotonic() - started)


def _label(defn: PluginDef, status: str) -> str:
    line = status if len(status) <= _LINE_WIDTH else status[: _LINE_WIDTH - 3] + "..."
    # Plugin output is not rich markup: escape the brackets pip prints ("[notice]").
    return escape(f"{defn.package} {defn.version}: {line}")


def _print_summary(outcomes: list[_Outcome]) -> None:
    console = Console()
    table = Table("Plugin", "Version", "Status", "Seconds")
    for o in outcomes:
        table.add_row(o.entry.defn.package, o.entry.defn.version, o.status, f"{o.seconds:.1f}")
    console.print(table)
    for o in outcomes:
        if o.error:
            # Unwrapped: pip's reason stays one line, whole, for logs and greps.
            console.print(f"{o.entry.defn.package}: {o.error}", markup=False, highlight=False, soft_wrap=True)


# The script runs in the target-duckdb plugin's venv, which has duckdb; Lockstitch does not.
_DUCKDB_QUERY = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
cur = con.execute(sys.argv[2])
print(json.dumps({"columns": [d[0] for d in cur.description or []], "rows": cur.fetchall()}, default=str))
"""


def _default_warehouse(settings: Settings, account: int | None) -> Path:
    """The account's default DuckDB file; without ``--account``, the only one there is."""
    if account is not None:
        return settings.account_warehouse(account) / "warehouse.duckdb"
    found = sorted(settings.warehouses_dir.glob("*/warehouse.duckdb"))
    if len(found) > 1:
        names = ", ".join(p.parent.name for p in found)
        typer.echo(f"error: several accounts have a warehouse ({names}): pass --account or --file", err=True)
        raise typer.Exit(2)
    return found[0] if found else settings.warehouses_dir / "<account>" / "warehouse.duckdb"


def duckdb_query(
    sql: Annotated[
        str, typer.Argument(help="A query, e.g. 'SELECT * FROM demo_shop_orders.orders LIMIT 5'.")
    ],
    file: Annotated[Path | None, typer.Option(help="The DuckDB file (default: the account's).")] = None,
    account: Annotated[
        int | None,
        typer.Option(help="Whose warehouse: $LOCKSTITCH_HOME/warehouses/<account>/warehouse.duckdb."),
    ] = None,
) -> None:
    """Query a lockstitch.duckdb warehouse (read-only), with the DuckDB of its target's venv."""
    settings = cli_settings()
    destination_type = cli_catalog(settings).destination_type("lockstitch.duckdb")
    target = destination_type.definition.target if destination_type else None
    plugins = Plugins.from_settings(settings)
    if target is None or not plugins.is_installed(target):
        typer.echo(
            "error: target-duckdb is not installed yet: `lockstitch plugins install lockstitch.duckdb`",
            err=True,
        )
        raise typer.Exit(1)
    path = file or _default_warehouse(settings, account)
    if not path.exists():
        typer.echo(f"error: no DuckDB file at {path} (has a replication run yet?)", err=True)
        raise typer.Exit(1)
    python = plugins.path(target) / "bin" / "python"
    done = subprocess.run(  # noqa: S603 - our own script in our own plugin venv
        [str(python), "-c", _DUCKDB_QUERY, str(path), sql], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or ["the query failed"]
        typer.echo(f"error: {reason[0]}", err=True)
        raise typer.Exit(1)
    result = json.loads(done.stdout)
    table = Table(*result["columns"])
    for row in result["rows"]:
        table.add_row(*("" if value is None else str(value) for value in row))
    Console().print(table)
