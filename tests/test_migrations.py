"""Migrations and models agree: a database migrated to head has exactly the models' schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from lockstitch.context import Context
from lockstitch.migrations import is_current
from lockstitch.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_head_matches_the_models(ctx: Context) -> None:
    assert await is_current(ctx.db.engine)
    async with ctx.db.engine.connect() as connection:
        differences = await connection.run_sync(_diff)
    assert differences == []
