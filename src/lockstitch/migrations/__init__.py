"""Alembic migrations, applied by ``lockstitch db upgrade`` and at the start of ``serve``/``worker``.

``upgrade(engine)`` runs inside an existing event loop (the migration itself is synchronous
Alembic code handed a connection through ``run_sync``). On PostgreSQL an advisory lock makes
concurrent starters of a fleet take turns instead of racing on the same DDL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_HERE = Path(__file__).parent
_ADVISORY_LOCK_ID = 0x4C53_0001  # "LS" 1: any constant unique to Lockstitch's migrations


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
        await connection.run_sync(_upgrade, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest revision (readiness probes use this)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return bool(current == head)
