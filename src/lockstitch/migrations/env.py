"""Alembic environment: always handed a live connection by ``lockstitch.migrations.upgrade``.

For ``alembic revision --autogenerate`` during development, run it through
``python -m lockstitch.migrations.autogen "message"`` which supplies the connection too.
"""

from __future__ import annotations

from alembic import context

from lockstitch.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - misuse guard
    raise RuntimeError("run migrations through `lockstitch db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
