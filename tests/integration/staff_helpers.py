"""Helpers shared by the staff-account integration tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import text, update

from lykta.config import Settings
from lykta.db import Database
from tests.support.server import ServerThread


@contextmanager
def browser(server: ServerThread, source: str = "127.0.0.1") -> Iterator[httpx.Client]:
    """A cookie-keeping HTTP client, optionally from another loopback address."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=server.http, follow_redirects=False, transport=transport) as c:
        yield c


def db_update(settings: Settings, model: Any, where: Any, **values: Any) -> None:
    """Change rows directly, as time passing (or an attacker with the database) would."""

    async def run() -> None:
        db = Database(settings)
        try:
            async with db.write() as session:
                await session.execute(update(model).where(where).values(**values))
        finally:
            await db.dispose()

    # A thread of its own, so that this works from sync and async tests alike.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def db_query(settings: Settings, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run SQL on the test's database (SQLite or PostgreSQL), as an attacker might."""

    async def run() -> list[tuple[Any, ...]]:
        db = Database(settings)
        try:
            async with db.write() as session:
                result = await session.execute(text(sql), params)
                if not sql.lstrip().upper().startswith("SELECT"):
                    return []
                return [tuple(row) for row in result.all()]
        finally:
            await db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()
