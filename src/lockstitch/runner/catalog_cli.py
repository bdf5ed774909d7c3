"""``lockstitch catalog verify``: run the catalogue verifier (``runner.verify``) over source types.

    lockstitch catalog verify platform.shopify platform.stripe
    lockstitch catalog verify --all --write docs/catalog.md      # what `make catalog` runs

Like ``lockstitch plugins``, it needs only the settings and the catalogue (no database, no keys).
Exit status: 0 when every verified type with a tap had its config accepted (or, with ``--write``,
when the document was written), 1 otherwise, 2 for a usage or configuration problem.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from lockstitch.catalog.source_type import SourceType
from lockstitch.runner import catalog_report
from lockstitch.runner.cli import cli_catalog, cli_settings
from lockstitch.runner.plugins import Plugins
from lockstitch.runner.verify import DEFAULT_TIMEOUT_SECONDS, Outcome, Verdict, verify_many

catalog_app = typer.Typer(
    help="The source-type catalogue: verify each type's tap and mapping.", no_args_is_help=True
)

_FINE = {Outcome.ACCEPTED, Outcome.NO_TAP}


@catalog_app.command("verify")
def verify(
    types: Annotated[list[str] | None, typer.Argument(help="Source types to verify.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every source type in the catalogue.")] = False,
    write: Annotated[
        Path | None, typer.Option(help="Write (or update) the catalogue document, e.g. docs/catalog.md.")
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, max=16, help="Types verified at once.")] = 3,
    timeout: Annotated[float, typer.Option(min=5, help="Seconds a tap's discovery may take.")] = (
        DEFAULT_TIMEOUT_SECONDS
    ),
) -> None:
    """Install each type's tap, hand it a synthetic source's config with the network unreachable,
    and report whether the tap accepted the config."""
    settings = cli_settings()
    catalog = cli_catalog(settings)
    if everything == bool(types):
        typer.echo("name source types, or pass --all (not both)", err=True)
        raise typer.Exit(2)
    known = {t.type: t for t in catalog.source_types()}
    unknown = sorted(set(types or []) - set(known))
    if unknown:
        typer.echo(f"unknown source types: {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    selected = list(known.values()) if everything else [known[name] for name in types or []]
    console = Console(highlight=False)
    plugins = Plugins.from_settings(settings)
    started = time.monotonic()

    def show(verdict: Verdict) -> None:
        style = "green" if verdict.outcome in _FINE else "red"
        console.print(
            f"[{style}]{verdict.outcome:>15}[/{style}] {verdict.type} ({verdict.seconds:g} s)"
            f" {escape(verdict.detail)}"
        )

    verdicts = asyncio.run(verify_many(selected, plugins, jobs=jobs, time_limit=timeout, on_verdict=show))
    seconds = time.monotonic() - started
    if write is not None:
        _write(write, catalog.source_types(), verdicts, seconds if everything else None)
        console.print(f"wrote {write}")
    accepted = sum(v.outcome == Outcome.ACCEPTED for v in verdicts)
    console.print(f"{accepted} of {len(verdicts)} types had their config accepted, in {seconds:.0f} s")
    # Writing the document is the job of a full run: what it found is in the document, not an error.
    if write is None and any(v.outcome not in _FINE for v in verdicts):
        raise typer.Exit(1)


def _write(
    path: Path, source_types: list[SourceType], verdicts: list[Verdict], full_run_seconds: float | None
) -> None:
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    kept = catalog_report.parse(old)
    rows = catalog_report.rows_for(source_types, {v.type: v for v in verdicts}, kept)
    if full_run_seconds is not None:
        today = dt.datetime.now(dt.UTC).date().isoformat()
        produced = f"Produced by `make catalog` on {today} in {full_run_seconds:.0f} s."
    else:
        produced = catalog_report.produced_line(old) or "Produced by partial runs only."
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(catalog_report.render(rows, produced), encoding="utf-8")
