"""Database engine, sessions and the declarative base.

One code path for SQLite (the embedded default, WAL mode) and PostgreSQL. SQLite allows
one writer at a time; writers in this process take ``Database.write_lock`` so they queue
in Python instead of spinning on ``SQLITE_BUSY``.

Group commits (``Database.grouped``) run as one synchronous function per group: on SQLite
in the event loop's own thread, on a synchronous connection of their own, with no
hand-over between threads at all (aiosqlite runs each call in its thread and wakes the
event loop for each result; a writer thread, used before, fought the event loop for the
GIL at every statement: see docs/performance.md); on PostgreSQL inside the async session
(``run_sync``). Should another process hold SQLite's write lock (``lykta purge`` from the
command line, a backup), the group waits for it in a thread instead, never in the event
loop; so do all groups while the disk is slow to flush (``lykta.sqlite.FlushClock``).
Reads that run often (a resume, the queue) take the same shortcut with
``Database.reading``: on SQLite in the event loop's thread too, on a reading connection of
their own (reader threads, used before, cost more than twice the CPU per resume for the
same reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session

from lykta import sqlite
from lykta.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Session], Any]
"""One write of a group (``Database.grouped``): synchronous, in the group's transaction."""
Prepare = Callable[[Session, list[Any]], None]
"""Reads a group's rows at once (``Database.grouped``): called with the keys of every
write of the group that named it, before any of them runs."""
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


@dataclass(frozen=True)
class _Write:
    work: Work
    alone: Work
    future: asyncio.Future[Any]
    prepare: Prepare | None = None
    key: Any = None


GROUP_LIMIT = 256
"""Most writes that share one commit."""

BEFORE_COMMIT = "lykta.before_commit"
"""``session.info`` key of a group commit's session: ``{name: fn(session)}``, each run once
after the works, before the last flush and the commit (one statement for what many writes
of the group added, say)."""


def _one_connection(url: str, pragmas: Callable[[Any, Any], None]) -> Engine:
    """SQLite: a synchronous engine of one connection (the group writer's, or the reading
    one), used in the event loop's thread and, now and then, in the writer thread."""
    engine = create_engine(
        make_url(url).set(drivername="sqlite+pysqlite"),
        hide_parameters=True,
        connect_args={"timeout": 10, "check_same_thread": False},
        pool_size=1,
        max_overflow=0,
    )
    event.listen(engine, "connect", pragmas)
    return engine


def _writer_thread() -> ThreadPoolExecutor:
    """SQLite: where a group waits when it must not wait in the event loop (another
    process's write lock, a disk slow to flush); started by the first such group."""
    return ThreadPoolExecutor(1, thread_name_prefix="lykta-writer")


def _in_transaction(connection: Connection, fn: Callable[[Session], T]) -> T:
    """``fn`` in a transaction on ``connection``, committed if it returns."""
    with Session(bind=connection, expire_on_commit=False) as session, session.begin():
        return fn(session)


def _finish(session: Session) -> None:
    for finish in session.info.pop(BEFORE_COMMIT, {}).values():
        finish(session)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Database:
    """The engine, a session factory, and the single-writer lock used on SQLite."""

    def __init__(self, settings: Settings, url: str | None = None) -> None:
        url = url or settings.effective_database_url
        self.is_sqlite = url.startswith("sqlite")
        # Never put bound values (message bodies) into exception texts or logs.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.is_sqlite:
            settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 10}
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 10
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.writer_engine: Engine | None = None
        """SQLite: the synchronous engine of group commits."""
        self.group_engine: AsyncEngine | None = None
        """PostgreSQL: group commits' own connection (see ``_transaction``)."""
        self._writer: ThreadPoolExecutor | None = None
        self.reader_engine: Engine | None = None
        """SQLite: the synchronous engine of ``reading``."""
        self._reader_connection: Connection | None = None
        self.flushes = sqlite.FlushClock()
        """SQLite: how long group commits take to reach the disk."""
        if self.is_sqlite:
            pragmas = sqlite.pragmas(settings.sqlite_synchronous)
            event.listen(self.engine.sync_engine, "connect", pragmas)
            self.writer_engine = _one_connection(url, pragmas)
            event.listen(self.writer_engine, "connect", sqlite.never_wait)
            self._writer = _writer_thread()
            self.reader_engine = _one_connection(url, pragmas)
        else:
            # Without the pool's ping on every checkout (three round trips: BEGIN, an empty
            # query, ROLLBACK), which would cost a group more than its own statements. A
            # connection that died (a database restart) fails its group, and the group's
            # writes are retried alone (``_commit_group``) on a new one.
            self.group_engine = create_async_engine(
                url, hide_parameters=True, pool_size=1, max_overflow=0, pool_pre_ping=False
            )
        self._writer_connection: Connection | None = None
        self._group_connection: AsyncConnection | None = None
        """Group commits' connection, kept between groups (no checkout, no reset, no ping
        per group). One the database dropped is invalidated by the error, and SQLAlchemy
        connects it anew when it is next used."""
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._waiting: list[_Write] = []
        self.checkpoint_owed = False
        """SQLite: a checkpoint could not empty the write-ahead log (see ``checkpoint``)."""
        self._committer: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def reading(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)``'s result, read synchronously in a session of its own (nothing
        is committed): on SQLite in the event loop's thread, on a reading connection,
        without a hand-over between threads (with aiosqlite every statement, fetch and
        cursor is one; WAL lets it read while another connection writes); on PostgreSQL
        inside an async session (``run_sync``). ``fn`` must not touch the event loop; what
        it returns is detached from the session, with its columns loaded."""
        if self.reader_engine is None:
            async with self.sessions() as session:
                return await session.run_sync(fn)
        return self._reader_run(fn)

    def _reader_run(self, fn: Callable[[Session], T]) -> T:
        """SQLite: ``fn`` in a read transaction on the reading connection, ended when it
        returns (a snapshot held open would keep the log from being checkpointed)."""
        connection = self._reader_connection
        if connection is None:
            assert self.reader_engine is not None  # noqa: S101 - SQLite has it
            connection = self._reader_connection = self.reader_engine.connect()
        with Session(bind=connection) as session:
            return fn(session)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction, committed on normal exit, rolled back on error."""
        if self._write_lock is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._write_lock, self.sessions() as session, session.begin():
            yield session

    async def grouped(
        self,
        work: Callable[[Session], T],
        *,
        alone: Callable[[Session], T] | None = None,
        prepare: Prepare | None = None,
        key: Any = None,
    ) -> T:
        """Run ``work`` in a write transaction shared with the writes waiting at the same
        moment, and return its result once that transaction has committed (group commit):
        one commit, and one flush to disk, for all of them. Nothing waits on purpose: the
        writes that arrive while one group commits form the next.

        ``work`` is synchronous (on SQLite in the event loop's thread: see the module's text):
        everything it needs from outside the database is looked up before. It may
        raise only before it changes anything (a check that fails); that error is its own
        and the others go on. If the database refuses the group (a constraint, a lock),
        each write of the group runs again alone in its own transaction, so one bad write
        never costs the others theirs; ``alone``, if given, is what runs then instead of
        ``work`` (a careful version of an optimistic write).

        ``prepare`` reads ahead for the whole group: it is called once, in the group's
        transaction, with the ``key`` of every write that names it, before any ``work``
        runs (one statement for the rows of many writes, which find them in the session).
        It is not called for a write that runs alone.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Write(work, alone or work, future, prepare, key))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_groups())
        return await future

    async def _commit_groups(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[:GROUP_LIMIT]
                del self._waiting[:GROUP_LIMIT]
                await self._commit_group(group)
        except BaseException:
            # Stopping (cancelled): nobody may wait for a commit that will not come.
            for write in self._waiting:
                if not write.future.done():
                    write.future.set_exception(RuntimeError("the database is closing"))
            self._waiting.clear()
            raise

    async def _transaction(self, fn: Callable[[Session], T], writes: int = 1) -> T:
        """``fn`` (``writes`` writes) in a write transaction of its own, committed if it
        returns."""
        if self._writer is None:
            # The whole transaction (begin, the work, commit) in one hand-over to
            # SQLAlchemy's synchronous side, where an async session takes three.
            connection = await self._group_connected()
            return await connection.run_sync(_in_transaction, fn)
        assert self._write_lock is not None  # noqa: S101 - SQLite has both
        async with self._write_lock:
            if not self.flushes.slow:
                try:
                    # In the event loop's thread: a group holds the GIL for nearly all its
                    # time anyway, and a thread of its own would wait for it at every
                    # statement while the event loop runs (docs/performance.md, change 28).
                    return self._writer_transaction(fn, writes)
                except OperationalError as exc:
                    if not sqlite.busy(exc):
                        raise
                # Another process writes (``lykta purge``, a backup): wait for it, but not
                # in the event loop, which goes on serving everything else meanwhile.
                log.info("the database is locked by another process; waiting for it")
            # (Or the disk is slow to flush: the same, for every group while it is.)
            return await asyncio.get_running_loop().run_in_executor(
                self._writer, self._waiting_transaction, fn, writes
            )

    async def _group_connected(self) -> AsyncConnection:
        """PostgreSQL: the group commits' connection (one committer at a time: see
        ``_commit_groups``)."""
        if self._group_connection is None:
            assert self.group_engine is not None  # noqa: S101 - PostgreSQL has it
            self._group_connection = await self.group_engine.connect()
        return self._group_connection

    def _writer_transaction(self, fn: Callable[[Session], T], writes: int) -> T:
        """SQLite: ``fn`` in a transaction on the group writer's connection."""
        return self.flushes.transaction(self._writer_connected(), fn, writes)

    def _writer_connected(self) -> Connection:
        connection = self._writer_connection
        if connection is None:
            assert self.writer_engine is not None  # noqa: S101 - SQLite has it
            connection = self._writer_connection = self.writer_engine.connect()
        return connection

    def _waiting_transaction(self, fn: Callable[[Session], T], writes: int) -> T:
        """SQLite, in a thread: ``_writer_transaction``, waiting up to
        ``sqlite.BUSY_WAIT_MS`` for another process's write lock."""
        connection = self._writer_connected()
        sqlite.set_busy_timeout(connection, sqlite.BUSY_WAIT_MS)
        try:
            return self.flushes.transaction(connection, fn, writes)
        finally:
            sqlite.set_busy_timeout(connection, 0)

    @staticmethod
    def _run_group(group: list[_Write], session: Session) -> list[Outcome]:
        """A group's writes in one transaction (sync; futures are left to the caller, in
        the event loop's thread). A database error aborts the group."""
        reads: dict[Prepare, list[Any]] = {}
        for write in group:
            if write.prepare is not None:
                reads.setdefault(write.prepare, []).append(write.key)
        outcomes: list[Outcome] = []
        for prepare, keys in reads.items():
            with session.no_autoflush:
                prepare(session, keys)
        for write in group:
            try:
                with session.no_autoflush:
                    outcomes.append((write.future, write.work(session), None))
            except SQLAlchemyError:
                raise
            except Exception as exc:  # a check that failed: this write's own
                outcomes.append((write.future, None, exc))
        _finish(session)
        session.flush()
        return outcomes

    @staticmethod
    def _run_alone(work: Work, session: Session) -> Any:
        result = work(session)
        _finish(session)
        return result

    async def _commit_group(self, group: list[_Write]) -> None:
        try:
            outcomes = await self._transaction(
                functools.partial(self._run_group, group), len(group)
            )
        except SQLAlchemyError as exc:
            if len(group) == 1 and group[0].work is group[0].alone:
                if not group[0].future.done():
                    group[0].future.set_exception(exc)
                return
            log.info("a group of %d writes was refused; writing each alone", len(group))
            for write in group:
                await self._alone(write.alone, write.future)
            return
        except BaseException as exc:
            for write in group:
                if not write.future.done():
                    write.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            log.exception("a group of writes failed")  # its writers were told; go on
            return
        for future, result, error in outcomes:
            if future.done():  # its caller went away; the write stands
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    async def _alone(self, work: Work, future: asyncio.Future[Any]) -> None:
        try:
            result = await self._transaction(functools.partial(self._run_alone, work))
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(result)

    async def checkpoint(self) -> bool:
        """On SQLite, move the write-ahead log into the file and empty it, so that pages
        overwritten by a deletion do not linger in the log; whether it was emptied.

        Emptying it waits for every reader of an older snapshot to finish, and no writer
        gets in meanwhile: with the connections' usual ten seconds of patience, one read
        held open (or one waiting for a write) stopped every send for ten seconds. Each
        attempt waits ``sqlite.CHECKPOINT_WAIT_MS`` at most, and writers go on between
        attempts. If the log could not be emptied, ``checkpoint_owed`` says so, and the
        purge job tries again on its next run (``lykta.retention.purge``)."""
        if not self.is_sqlite:
            return True
        for attempt in range(1, sqlite.CHECKPOINT_ATTEMPTS + 1):
            if await self._checkpoint_once():
                self.checkpoint_owed = False
                return True
            if attempt < sqlite.CHECKPOINT_ATTEMPTS:
                await asyncio.sleep(sqlite.CHECKPOINT_PAUSE_S * attempt)
        log.info("readers kept the write-ahead log from being emptied; trying again later")
        self.checkpoint_owed = True
        return False

    async def _checkpoint_once(self) -> bool:
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql(f"PRAGMA busy_timeout={sqlite.CHECKPOINT_WAIT_MS}")
            try:
                row = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
            except OperationalError as exc:
                if not sqlite.busy(exc):
                    raise
                return False  # another connection is checkpointing right now
            finally:
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={sqlite.BUSY_WAIT_MS}")
        return not row[0]  # (busy, frames in the log, frames checkpointed)

    async def dispose(self) -> None:
        if self._committer is not None and not self._committer.done():
            await asyncio.wait({self._committer}, timeout=5)
        await self.engine.dispose()
        if self._group_connection is not None:
            with contextlib.suppress(SQLAlchemyError, OSError):
                await self._group_connection.close()
            self._group_connection = None
        if self.group_engine is not None:
            await self.group_engine.dispose()
        if self._writer is not None:
            # Its thread ends; a new executor starts one again only if the database is
            # used after all (like the engines, a disposed Database still works).
            self._writer.shutdown(wait=True)
            self._writer = _writer_thread()
        if self._writer_connection is not None:
            self._writer_connection.close()
            self._writer_connection = None
        if self.writer_engine is not None:
            self.writer_engine.dispose()
        if self._reader_connection is not None:
            self._reader_connection.close()
            self._reader_connection = None
        if self.reader_engine is not None:
            self.reader_engine.dispose()
