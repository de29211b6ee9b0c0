"""The database layer: durable SQLite settings, transactions, UTC timestamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from lykta.config import Settings
from lykta.db import Database, UTCDateTime
from lykta.migrate import upgrade
from lykta.teams.models import Team
from tests.support.server import settings_for


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(settings_for(tmp_path / "data"))
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


async def pragma(db: Database, name: str) -> object:
    async with db.read() as session:
        return (await session.execute(text(f"PRAGMA {name}"))).scalar_one()


async def test_sqlite_is_durable_by_default(db: Database) -> None:
    assert await pragma(db, "journal_mode") == "wal"
    assert await pragma(db, "synchronous") == 2  # FULL: an ack survives power loss
    assert await pragma(db, "foreign_keys") == 1


async def test_synchronous_normal_when_configured(tmp_path: Path) -> None:
    database = Database(Settings(data_dir=tmp_path / "d", sqlite_synchronous="normal"))
    try:
        assert await pragma(database, "synchronous") == 1
    finally:
        await database.dispose()


async def test_write_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    async with db.write() as session:
        session.add(Team(slug="kept", name="Kept"))

    async def half_done() -> None:
        async with db.write() as session:
            session.add(Team(slug="lost", name="Lost"))
            await session.flush()
            session.add(Team(slug="kept", name="Duplicate"))  # violates the unique slug

    with pytest.raises(IntegrityError):
        await half_done()
    async with db.read() as session:
        slugs = list((await session.execute(select(Team.slug))).scalars())
    assert slugs == ["kept"]


async def test_timestamps_come_back_as_aware_utc(db: Database) -> None:
    stockholm = dt.timezone(dt.timedelta(hours=1))
    at = dt.datetime(2026, 11, 21, 15, 30, tzinfo=stockholm)
    async with db.write() as session:
        session.add(Team(slug="t", name="T", created_at=at))
    async with db.read() as session:
        team = (await session.execute(select(Team))).scalar_one()
    assert team.created_at == at
    assert team.created_at.utcoffset() == dt.timedelta(0)
    assert team.created_at.hour == 14


def test_naive_datetimes_are_refused() -> None:
    column = UTCDateTime()
    naive = dt.datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive datetime"):
        column.process_bind_param(naive, dialect=None)  # type: ignore[arg-type]


def test_the_default_database_lives_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=None)
    assert settings.is_sqlite
    url = settings.effective_database_url
    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'lykta.db').resolve()}"
    other = Settings(data_dir=tmp_path, database_url="postgresql+asyncpg://db/lykta")
    assert other.effective_database_url == "postgresql+asyncpg://db/lykta"
    assert not other.is_sqlite
