"""SQLite's side of the database layer (``lykta.db``): the settings of every connection,
and how the group writer's connection runs in the event loop's thread without ever
making it wait, for another process's lock or for a slow disk."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

log = logging.getLogger("lykta.db")
T = TypeVar("T")

BUSY_WAIT_MS = 10_000
"""How long a connection waits for another's lock before it fails (a group that found the
database locked by another process waits this long in a thread)."""

CHECKPOINT_WAIT_MS = 200
"""How long one attempt to empty the write-ahead log (``Database.checkpoint``) waits for
readers of older snapshots. Writers wait while it does, so it is kept short; the attempt
is repeated a few times, with writers let through in between."""

CHECKPOINT_ATTEMPTS = 5

CHECKPOINT_PAUSE_S = 0.5
"""Between two attempts (times the attempt's number): readers finish, writers write."""

SLOW_FLUSH_S = 0.002
"""Group commits whose commit (nearly all of it the flush to disk) takes longer than this
on average run in a thread: the event loop would otherwise wait out the disk, and serve
nobody meanwhile. A local SSD flushes in well under a millisecond."""

FAST_FLUSH_S = 0.001
"""...and they come back to the event loop's thread once commits take less than this."""

TIMED_WRITES = 4
"""Only the commits of groups this small are timed: a large group's commit writes much
more to the log, and takes longer on any disk (under load, on a fast one, 2–3 ms)."""


def pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    """Every connection's settings (a ``connect`` listener)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted content is overwritten with zeros, not left in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")
        cursor.close()

    return on_connect


def never_wait(dbapi_connection: Any, _record: Any) -> None:
    """The group writer's connection runs in the event loop: it fails at once, instead of
    waiting, while another process holds the write lock (``Database._transaction``)."""
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def set_busy_timeout(connection: Connection, ms: int) -> None:
    connection.exec_driver_sql(f"PRAGMA busy_timeout={ms}")
    connection.commit()  # ends the transaction the statement began (nothing to commit)


def busy(exc: OperationalError) -> bool:
    """Whether SQLite refused because another connection holds a lock."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class FlushClock:
    """How long the group writer's commits take, on average over about the last ten; says
    whether the disk is too slow to be waited for in the event loop's thread."""

    def __init__(self) -> None:
        self.average = 0.0
        self.slow = False

    def record(self, seconds: float) -> None:
        # One long commit (one that ran a checkpoint, say) counts for no more than a few
        # slow ones: it takes several in a row to move the groups.
        seconds = min(seconds, 4 * SLOW_FLUSH_S)
        self.average += (seconds - self.average) * 0.1
        slow = self.average > (FAST_FLUSH_S if self.slow else SLOW_FLUSH_S)
        if slow != self.slow:
            self.slow = slow
            if slow:
                log.warning(
                    "commits take %.1f ms (the disk's flush): group commits now wait in a "
                    "thread; a faster disk for the data directory serves more",
                    self.average * 1000,
                )
            else:
                log.info("commits are fast again: group commits run in the event loop")

    def transaction(self, connection: Connection, fn: Callable[[Session], T], writes: int) -> T:
        """``fn`` (a group of ``writes`` writes) in a transaction on ``connection``,
        committed if it returns, the commit timed if the group is small."""
        with Session(bind=connection, expire_on_commit=False) as session:
            with session.begin():
                result = fn(session)
                started = time.perf_counter()
            if writes <= TIMED_WRITES:
                self.record(time.perf_counter() - started)
            return result
