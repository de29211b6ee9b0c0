"""Helpers shared by the staff-account integration tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.config import Settings
from lykta.db import Database
from tests.support.server import ServerThread

T = TypeVar("T")


@contextmanager
def browser(server: ServerThread, source: str = "127.0.0.1") -> Iterator[httpx.Client]:
    """A cookie-keeping HTTP client, optionally from another loopback address."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=server.http, follow_redirects=False, transport=transport) as c:
        yield c


def _on_own_loop(work: Callable[[AsyncSession], Awaitable[T]], settings: Settings) -> T:
    """Run ``work`` in a write transaction on the test's database, in a thread of its own,
    so that this works from sync and async tests alike."""

    async def run() -> T:
        db = Database(settings)
        try:
            async with db.write() as session:
                return await work(session)
        finally:
            await db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def db_update(settings: Settings, model: Any, where: Any, **values: Any) -> None:
    """Change rows directly, as time passing (or an attacker with the database) would."""

    async def work(session: AsyncSession) -> None:
        await session.execute(update(model).where(where).values(**values))

    _on_own_loop(work, settings)


def db_query(settings: Settings, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run SQL on the test's database (SQLite or PostgreSQL), as an attacker might."""

    async def work(session: AsyncSession) -> list[tuple[Any, ...]]:
        result = await session.execute(text(sql), params)
        if not sql.lstrip().upper().startswith("SELECT"):
            return []
        return [tuple(row) for row in result.all()]

    return _on_own_loop(work, settings)
