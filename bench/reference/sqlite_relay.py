"""Reference (b), the cost of guarantees: the ``echo`` relay (same stack, same code) that
first INSERTs each message into SQLite and commits it, then acks and forwards.

What a typical developer writes with plain aiosqlite (the driver under Lykta's SQLAlchemy):
one connection opened at start-up, shared by all sockets. The connection is in autocommit
mode (``isolation_level=None``), so each INSERT is its own transaction, committed before
``execute`` returns: exactly one commit per message. (The usual ``execute`` + ``commit()``
pair on a shared connection would let concurrent sockets' INSERTs share one transaction,
fewer commits than messages.) Journal in WAL mode with ``synchronous=FULL``, Lykta's
defaults: every commit is synced to disk before the ack (``--synchronous normal``, like
``LYKTA_SQLITE_SYNCHRONOUS=normal``, syncs only at checkpoints: a commit then survives a
crash of the process, not of the machine). No ids, sequences, encryption or access checks.

    python -m bench.reference.sqlite_relay --host 127.0.0.1 --port 8102 --db relay.sqlite3

The table ``messages(conversation_id, client_id, body, created_at)`` is created if missing;
``created_at`` is ISO 8601 in UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import aiosqlite
from starlette.applications import Starlette

from bench.reference.common import parse_args, serve, server_config
from bench.reference.relay import Relay, create_app

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
)
"""
INSERT = "INSERT INTO messages (conversation_id, client_id, body, created_at) VALUES (?, ?, ?, ?)"


class SQLiteStore:
    def __init__(self, path: Path, synchronous: Literal["full", "normal"] = "full") -> None:
        self.path = path
        self.synchronous = synchronous
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        db = await aiosqlite.connect(self.path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
        await db.execute("PRAGMA busy_timeout=10000")
        await db.execute(SCHEMA)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __call__(self, conversation_id: str, client_id: str, body: str) -> None:
        assert self._db is not None, "store not opened"  # noqa: S101
        created_at = dt.datetime.now(dt.UTC).isoformat()
        await self._db.execute(INSERT, (conversation_id, client_id, body, created_at))


def build(path: Path, synchronous: Literal["full", "normal"] = "full") -> Starlette:
    store = SQLiteStore(path, synchronous)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        try:
            yield
        finally:
            await store.close()

    return create_app(Relay(store), lifespan)


def main(argv: list[str] | None = None) -> None:
    options = parse_args(
        "python -m bench.reference.sqlite_relay",
        "WebSocket relay that commits every message to SQLite before acking it.",
        argv,
        needs_db=True,
        supports_redis=False,
    )
    assert options.db is not None  # noqa: S101 (required by the parser)
    serve(server_config(build(options.db, options.synchronous), options.host, options.port))


if __name__ == "__main__":
    main()
