"""worker photos

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 06:18:27.432103
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photo", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("photo_token", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_staff_users_photo_token"), ["photo_token"])


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_users_photo_token"), type_="unique")
        batch_op.drop_column("photo_token")
        batch_op.drop_column("photo")
