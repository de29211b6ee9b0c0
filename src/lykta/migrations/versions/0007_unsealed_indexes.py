"""partial indexes on plaintext left to seal, so start-up does not scan the tables

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 11:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSEALED = sa.text("body IS NOT NULL")


def upgrade() -> None:
    for table in ("messages", "notes"):
        op.create_index(
            f"ix_{table}_unsealed",
            table,
            ["id"],
            sqlite_where=UNSEALED,
            postgresql_where=UNSEALED,
        )


def downgrade() -> None:
    for table in ("messages", "notes"):
        op.drop_index(f"ix_{table}_unsealed", table_name=table)
