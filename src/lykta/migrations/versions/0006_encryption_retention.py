"""encryption at rest, redaction, retention and the statistics that survive it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 10:05:00.000000
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
    # Existing plaintext stays in ``body`` until a node starts and seals it
    # (``lykta.conversations.legacy``); nothing is lost on the way.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_ct", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_ct", sa.LargeBinary(), nullable=True))
        batch_op.alter_column("body", existing_type=sa.Text(), nullable=True)
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retention_days", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(
            sa.Column("question_wait_days", sa.Integer(), server_default="14", nullable=False)
        )
    op.create_table(
        "daily_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("youth_messages", sa.Integer(), nullable=False),
        sa.Column("staff_messages", sa.Integer(), nullable=False),
        sa.Column("wait_seconds", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("feedback", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_daily_stats_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_stats")),
        sa.UniqueConstraint("team_id", "day", "kind", name=op.f("uq_daily_stats_team_id_day_kind")),
    )
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
    op.drop_table("daily_stats")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("question_wait_days")
        batch_op.drop_column("retention_days")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_column("body_ct")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("redacted_at")
        batch_op.drop_column("body_ct")
