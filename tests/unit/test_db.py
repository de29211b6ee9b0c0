"""The database layer: durable SQLite settings, transactions, group commit, UTC timestamps."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lykta import sqlite
from lykta.config import Settings
from lykta.db import Database, UTCDateTime
from lykta.migrate import upgrade
from lykta.teams.models import Team
from tests.support.server import settings_for
from tests.unit.fakes import Commits


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


@pytest.mark.sqlite_only
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


async def slugs(db: Database) -> list[str]:
    async with db.read() as session:
        return sorted((await session.execute(select(Team.slug))).scalars())


def add_team(slug: str, *, refuse: bool = False) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        if refuse:
            raise ValueError(f"{slug} refused")  # a check failing before any change
        session.add(Team(slug=slug, name=slug))
        return slug

    return work


async def test_writes_arriving_together_share_one_commit_and_each_learns_its_result(
    db: Database,
) -> None:
    commits = Commits(db)
    results = await asyncio.gather(*(db.grouped(add_team(f"t{n:03d}")) for n in range(100)))
    assert list(results) == [f"t{n:03d}" for n in range(100)]
    assert await slugs(db) == [f"t{n:03d}" for n in range(100)]
    # Group commit: far fewer commits (disk flushes) than writes; the first goes alone.
    assert commits.count <= 3


async def test_a_result_arrives_only_once_its_write_is_committed(db: Database) -> None:
    seen: list[list[str]] = []

    async def check_then_add(slug: str) -> None:
        await db.grouped(add_team(slug))
        seen.append(await slugs(db))  # read on another connection, right after

    await asyncio.gather(*(check_then_add(f"c{n}") for n in range(20)))
    for n, visible in enumerate(seen):
        assert len(visible) >= n + 1
    assert {s for v in seen for s in v} == {f"c{n}" for n in range(20)}


async def test_a_failed_check_is_that_writes_own_and_the_others_are_stored(db: Database) -> None:
    works = [add_team("a"), add_team("b", refuse=True), add_team("c")]
    results = await asyncio.gather(*(db.grouped(w) for w in works), return_exceptions=True)
    assert results[0] == "a"
    assert isinstance(results[1], ValueError)
    assert results[2] == "c"
    assert await slugs(db) == ["a", "c"]


async def test_a_write_the_database_refuses_costs_the_others_nothing(db: Database) -> None:
    await db.grouped(add_team("taken"))
    works = [add_team("x"), add_team("taken"), add_team("y")]  # the middle one: unique slug
    results = await asyncio.gather(*(db.grouped(w) for w in works), return_exceptions=True)
    assert results[0] == "x"
    assert isinstance(results[1], IntegrityError)
    assert results[2] == "y"
    assert await slugs(db) == ["taken", "x", "y"]


async def test_a_group_that_fails_outside_the_database_tells_its_writers_and_the_next_works(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = db._transaction

    def broken(_fn: object, _writes: int = 1) -> Any:
        monkeypatch.setattr(db, "_transaction", original)  # only the first group fails
        raise RuntimeError("disk gone")

    monkeypatch.setattr(db, "_transaction", broken)
    results = await asyncio.gather(
        *(db.grouped(add_team(f"f{n}")) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results[:1])
    assert await db.grouped(add_team("later")) == "later"
    assert "later" in await slugs(db)


async def test_a_group_reads_ahead_once_for_all_its_writes_and_a_lone_write_does_not(
    db: Database,
) -> None:
    calls: list[list[str]] = []

    def read_ahead(session: Session, keys: list[Any]) -> None:
        calls.append(sorted(keys))
        session.info["seen"] = len(keys)

    def add_if_read(slug: str) -> Callable[[Session], str]:
        def work(session: Session) -> str:
            if "seen" not in session.info:
                raise ValueError("not read ahead")
            session.add(Team(slug=slug, name=slug))
            return slug

        return work

    slow = add_team("first")
    results = await asyncio.gather(
        db.grouped(slow),  # one group: a write without a read-ahead is not in its keys
        *(db.grouped(add_if_read(f"r{n}"), prepare=read_ahead, key=f"r{n}") for n in range(5)),
    )
    assert results == ["first", "r0", "r1", "r2", "r3", "r4"]
    assert calls == [["r0", "r1", "r2", "r3", "r4"]]
    assert await slugs(db) == ["first", "r0", "r1", "r2", "r3", "r4"]
    # Refused as a group (a duplicate slug), each is written alone, without the read-ahead.
    lone = await asyncio.gather(
        db.grouped(add_team("second")),
        db.grouped(add_if_read("r0"), prepare=read_ahead, key="r0"),
        db.grouped(add_if_read("r9"), alone=add_team("r9"), prepare=read_ahead, key="r9"),
        return_exceptions=True,
    )
    assert lone[0] == "second"
    assert isinstance(lone[1], ValueError)  # alone, with no read-ahead: its check fails
    assert lone[2] == "r9"
    assert calls[-1] == ["r0", "r9"]
    assert "r9" in await slugs(db)


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


async def test_a_disposed_database_still_commits_groups(db: Database) -> None:
    assert await db.grouped(add_team("before")) == "before"
    await db.dispose()
    assert await db.grouped(add_team("after")) == "after"
    assert await slugs(db) == ["after", "before"]


def where(n: int) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        session.add(Team(slug=f"w{n}", name="w"))
        return threading.current_thread().name

    return work


async def test_a_group_runs_in_the_event_loops_thread_without_hand_overs(db: Database) -> None:
    threads = await asyncio.gather(*(db.grouped(where(n)) for n in range(5)))
    assert await slugs(db) == [f"w{n}" for n in range(5)]
    # Not aiosqlite's thread (one hand-over per statement) nor a writer thread of its own
    # (which would wait for the GIL at every statement while the event loop runs).
    assert set(threads) == {threading.current_thread().name}


@pytest.mark.sqlite_only
async def test_the_group_writer_waits_for_the_disk_as_every_connection_does(db: Database) -> None:
    def synchronous(session: Session) -> object:
        return session.connection().exec_driver_sql("PRAGMA synchronous").scalar_one()

    assert await db.grouped(synchronous) == 2  # FULL: its commit returns once on disk


@pytest.mark.sqlite_only
async def test_while_the_disk_is_slow_to_flush_groups_wait_for_it_in_a_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a disk that takes milliseconds to flush, the event loop would serve nobody while
    it waits: groups move to a thread, and come back when flushes are fast again. (The
    thresholds are raised well above what a busy test machine's disk takes.)"""
    monkeypatch.setattr(sqlite, "SLOW_FLUSH_S", 0.02)
    monkeypatch.setattr(sqlite, "FAST_FLUSH_S", 0.01)
    slow = True

    def flush_slowly(_connection: object) -> None:
        if slow:
            time.sleep(0.08)

    assert db.writer_engine is not None
    event.listen(db.writer_engine, "commit", flush_slowly)
    main = threading.current_thread().name
    threads = [await db.grouped(where(n)) for n in range(6)]
    assert threads[0] == main
    assert threads[-1].startswith("lykta-writer")
    slow = False
    threads = [await db.grouped(where(n)) for n in range(6, 40)]
    assert threads[-1] == main
    assert await slugs(db) == sorted(f"w{n}" for n in range(40))


@pytest.mark.sqlite_only
async def test_a_group_waits_for_another_process_writing_without_stopping_the_app(
    db: Database, tmp_path: Path
) -> None:
    """``lykta purge`` from the command line, or a backup, holds SQLite's write lock for a
    while: sends wait for it, and everything else the app does goes on meanwhile."""
    other = sqlite3.connect(tmp_path / "data" / "lykta.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE other_process (x INTEGER)")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        sending = asyncio.create_task(db.grouped(where(1)))
        await asyncio.sleep(0.5)
        assert not sending.done()
        assert ticks >= 10  # the event loop was not held up by the wait
        other.execute("COMMIT")
        # It waited in a thread (never the event loop's), and is stored once the lock is free.
        assert await asyncio.wait_for(sending, 10) != threading.current_thread().name
    finally:
        ticking.cancel()
        other.close()
    assert await slugs(db) == ["w1"]
    assert await pragma(db, "table_list('other_process')") is not None  # its commit stood
    # And the next group runs in the event loop again.
    assert await db.grouped(where(2)) == threading.current_thread().name
    assert await slugs(db) == ["w1", "w2"]


@pytest.mark.sqlite_only
async def test_emptying_the_log_never_holds_sends_up_for_long_while_a_reader_holds_it(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redaction and the purge empty the write-ahead log (deleted text must not linger
    there). That waits for readers of older snapshots, and no write gets in meanwhile: a
    read held open must not stop every young person's sends (it did for ten seconds)."""
    monkeypatch.setattr(sqlite, "CHECKPOINT_PAUSE_S", 0.05)
    path = tmp_path / "data" / "lykta.db"
    await db.grouped(where(1))
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM teams").fetchall()  # its snapshot: w1
    await db.grouped(where(2))  # in the log, newer than the reader's snapshot
    try:
        checkpointing = asyncio.create_task(db.checkpoint())
        await asyncio.sleep(0.05)  # its first attempt is waiting for the reader
        # A send is stored while the reader still holds its snapshot (5 s: half the
        # connections' patience, which the checkpoint used to wait out in full).
        await asyncio.wait_for(db.grouped(where(3)), 5)
        assert await checkpointing is False
        assert db.checkpoint_owed
    finally:
        reader.close()
    assert await db.checkpoint() is True
    assert not db.checkpoint_owed
    assert path.with_name("lykta.db-wal").stat().st_size == 0
    assert await slugs(db) == ["w1", "w2", "w3"]
    # The connection it used waits as long as every other one again.
    assert await pragma(db, "busy_timeout") == sqlite.BUSY_WAIT_MS


async def test_a_group_whose_connection_died_is_written_on_a_new_one(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Group commits keep their connection between groups, without the pool's checkout
    and ping (three round trips on PostgreSQL); a connection the database dropped (a
    restart) costs the group a retry, never its writes."""
    assert await db.grouped(add_team("first")) == "first"
    if db.is_sqlite:
        writer = db._writer_connection
        assert writer is not None
        writer.connection.dbapi_connection.close()  # type: ignore[union-attr]
    else:
        assert db.group_engine is not None
        assert db.group_engine.pool._pre_ping is False
        async with db.write() as session:
            await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    with caplog.at_level(logging.INFO, logger="lykta.db"):
        done = await asyncio.gather(*(db.grouped(add_team(f"after{n}")) for n in range(3)))
    assert done == ["after0", "after1", "after2"]
    assert await slugs(db) == ["after0", "after1", "after2", "first"]
    # The dead connection refused the group: each write again, alone, on a new one.
    assert "a group of 3 writes was refused; writing each alone" in caplog.text


def team_slugs(session: Session) -> tuple[list[str], str]:
    found = sorted(session.execute(select(Team.slug)).scalars())
    return found, threading.current_thread().name


async def test_a_synchronous_read_sees_every_commit(db: Database) -> None:
    """``reading`` runs a whole read as one function, in the event loop's thread: on SQLite
    on a reading connection of its own (no hand-over between threads at all)."""
    assert (await db.reading(team_slugs))[0] == []
    await asyncio.gather(*(db.grouped(add_team(f"r{n}")) for n in range(3)))
    async with db.write() as session:
        session.add(Team(slug="plain", name="plain"))
    reads = await asyncio.gather(*(db.reading(team_slugs) for _ in range(4)))
    assert {tuple(found) for found, _ in reads} == {("plain", "r0", "r1", "r2")}
    assert {thread for _, thread in reads} == {threading.current_thread().name}


async def test_an_error_in_a_synchronous_read_is_the_callers_and_reads_go_on(db: Database) -> None:
    def refuse(session: Session) -> None:
        session.execute(select(Team.slug)).all()
        raise LookupError("not yours")

    with pytest.raises(LookupError, match="not yours"):
        await db.reading(refuse)
    await db.grouped(add_team("after"))
    assert (await db.reading(team_slugs))[0] == ["after"]
    await db.dispose()  # a disposed database still reads, as it still writes
    assert (await db.reading(team_slugs))[0] == ["after"]
