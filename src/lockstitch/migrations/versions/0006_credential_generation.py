"""credential generation

A refresh's answer is stored as long as the refresh token it was sent with is still the one the
credential holds, even when a takeover's verdict changed ``version`` meanwhile: ``generation``
counts refresh tokens (it grows when one is stored: a rotation, a handshake, new partner
credentials), ``version`` counts every write.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("oauth_credentials", schema=None) as batch_op:
        batch_op.drop_column("generation")
