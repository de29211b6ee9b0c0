"""Alembic environment: runs on the connection ``lykta.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from lykta.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `lykta migrate`, which provides a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
