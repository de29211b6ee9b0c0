"""The Alembic history produces exactly the schema the models describe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select

import lykta.models
from lykta.config import Settings
from lykta.db import Database
from lykta.migrate import alembic_config, current_revision, upgrade
from lykta.teams.models import Team


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    try:
        yield database
    finally:
        await database.dispose()


def head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the migration history has several heads: {heads}"
    return heads[0]


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True}
    )
    return list(compare_metadata(context, lykta.models.Base.metadata))


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_head_matches_the_models(db: Database) -> None:
    await upgrade(db)
    async with db.engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == [], "models changed without a migration:\n" + "\n".join(map(repr, diff))


async def test_upgrade_reaches_the_single_head(db: Database) -> None:
    assert await current_revision(db) is None
    await upgrade(db)
    assert await current_revision(db) == head()


async def test_upgrade_is_idempotent_and_keeps_data(db: Database) -> None:
    await upgrade(db)
    async with db.write() as session:
        session.add(Team(slug="kept", name="Kept"))
    await upgrade(db)
    await upgrade(db)
    assert await current_revision(db) == head()
    async with db.read() as session:
        slugs = list((await session.execute(select(Team.slug))).scalars())
    assert slugs == ["kept"]


async def test_downgrade_to_base_and_back(db: Database) -> None:
    await upgrade(db)
    async with db.engine.begin() as connection:
        expected = await connection.run_sync(tables)
        await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
        assert await connection.run_sync(tables) <= {"alembic_version"}
    await upgrade(db)
    async with db.engine.connect() as connection:
        assert await connection.run_sync(tables) == expected
        assert await connection.run_sync(differences) == []


def test_every_model_table_is_in_the_metadata() -> None:
    names = set(lykta.models.Base.metadata.tables)
    assert {"teams", "staff_users", "staff_sessions", "conversations", "messages"} <= names
