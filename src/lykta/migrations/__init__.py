"""Alembic migrations, from the very first table. Run with ``lykta migrate``."""
