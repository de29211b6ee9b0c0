"""per-team privacy settings for the young person's page

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:12:05.318204
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quick_exit_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("neutral_title", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("neutral_icon", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("embed_origins", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("embed_origins")
        batch_op.drop_column("neutral_icon")
        batch_op.drop_column("neutral_title")
        batch_op.drop_column("quick_exit_url")
