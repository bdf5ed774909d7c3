"""Developer helper: ``python -m lockstitch.migrations.autogen "message"`` writes a new revision
by comparing the models with a scratch SQLite database migrated to head."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from lockstitch.kit.db import create_engine
from lockstitch.migrations import alembic_config, upgrade


def main() -> None:
    message = " ".join(sys.argv[1:]) or "change"

    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.db'}")
            await upgrade(engine)

            def revise(connection: Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = connection
                existing = list((Path(__file__).parent / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
                rev_id = f"{len(existing) + 1:04d}"
                command.revision(config, message=message, autogenerate=True, rev_id=rev_id)

            async with engine.begin() as connection:
                await connection.run_sync(revise)
            await engine.dispose()

    asyncio.run(run())
    _tidy(Path(__file__).parent / "versions")


def _tidy(versions: Path) -> None:
    """Alembic renders JSONB's ``astext_type=Text()`` without importing ``Text``."""
    for path in versions.glob("*.py"):
        source = path.read_text()
        fixed = source.replace("astext_type=Text()", "astext_type=sa.Text()")
        if fixed != source:
            path.write_text(fixed)


if __name__ == "__main__":
    main()
