"""Small stand-ins for the unit tests: a WebSocket the hub can write to, and a broker that
records what the hub asks of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import event
from starlette.websockets import WebSocket, WebSocketState

from lykta.db import Database
from lykta.realtime.broker import MemoryBroker
from lykta.realtime.hub import Connection, Hub
from tests.support.frames import frames_in


class FakeWebSocket:
    """What ``Connection`` uses of a WebSocket: ``send_text``, ``close`` and
    ``application_state``; plus ``receive`` for the receive loop.

    With ``block=True`` every ``send_text`` waits for ``release`` — a phone that stopped
    reading."""

    def __init__(self, *, block: bool = False, incoming: list[dict[str, Any]] | None = None):
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.application_state = WebSocketState.CONNECTED
        self.release = asyncio.Event()
        if not block:
            self.release.set()
        self.incoming = list(incoming or [])

    async def send_text(self, text: str) -> None:
        await self.release.wait()
        self.sent.append(text)

    @property
    def frames(self) -> list[dict[str, Any]]:
        """Every frame sent, in order (a text frame may hold several: docs/protocol.md)."""
        return [frame for text in self.sent for frame in frames_in(text)]

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = code
        self.application_state = WebSocketState.DISCONNECTED

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(0)
        if self.incoming:
            return self.incoming.pop(0)
        return {"type": "websocket.disconnect", "code": 1000}

    @property
    def as_websocket(self) -> WebSocket:
        return cast(WebSocket, self)


class RecordingBroker(MemoryBroker):
    """A ``MemoryBroker`` that counts the hub's subscribe and unsubscribe calls."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribed: list[str] = []
        self.unsubscribed: list[str] = []

    async def subscribe(self, channel: str) -> None:
        self.subscribed.append(channel)
        await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        self.unsubscribed.append(channel)
        await super().unsubscribe(channel)


def connect(hub: Hub, websocket: FakeWebSocket) -> Connection:
    return hub.connect(websocket.as_websocket)


async def eventually(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    """Let the event loop run until ``predicate`` holds (writer tasks, spawned closes)."""
    async with asyncio.timeout(timeout):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.001)


class Commits:
    """Counts the commits that reach the database."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        # The async engine's, and group commits' (SQLite: the group writer's connection).
        group = db.group_engine.sync_engine if db.group_engine is not None else None
        self._engines = [e for e in (db.engine.sync_engine, db.writer_engine, group) if e]
        for engine in self._engines:
            event.listen(engine, "commit", self._seen)

    def _seen(self, _connection: object) -> None:
        self.count += 1

    def stop(self) -> None:
        for engine in self._engines:
            event.remove(engine, "commit", self._seen)
