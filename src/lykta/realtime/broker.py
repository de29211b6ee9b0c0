"""Fan-out of events between nodes.

A ``Broker`` carries already-encoded frames on named channels (``conv:<id>``,
``team:<id>``). Each node's ``Hub`` subscribes to the channels its sockets need and hands
arriving payloads to them. ``MemoryBroker`` is the single-node default; ``RedisBroker``
(``redis_broker.py``) implements the same interface for several nodes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

Deliver = Callable[[str, bytes], Awaitable[None] | None]


class Broker(Protocol):
    async def start(self, deliver: Deliver, resync: Callable[[], None] | None = None) -> None:
        """Begin delivering messages of subscribed channels to ``deliver``; call ``resync``
        whenever messages may have been missed (the sockets then catch up)."""

    async def stop(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...


class MemoryBroker:
    """In-process broker: publishing delivers synchronously to this node's hub."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._channels: set[str] = set()

    async def start(self, deliver: Deliver, resync: Callable[[], None] | None = None) -> None:
        self._deliver = deliver  # nothing is ever missed in-process: no resync

    async def stop(self) -> None:
        self._deliver = None
        self._channels.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        if self._deliver is None or channel not in self._channels:
            return
        result = self._deliver(channel, payload)
        if result is not None:
            await result

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)


def conversation_channel(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def staff_channel(conversation_id: str) -> str:
    """Workers only: internal notes. A young person's socket never subscribes here."""
    return f"staffconv:{conversation_id}"


def team_channel(team_id: int) -> str:
    return f"team:{team_id}"
