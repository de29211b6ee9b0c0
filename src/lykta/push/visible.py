"""Which workers have the app in front, on any node.

A worker's app says whether it is in front (``visibility`` frames). While it is, a new
message in a conversation the worker holds needs no push: they see it arrive. The node
the app is connected to knows at once. The node that commits a young person's message
may be another one, so every node tells the others, over the broker, which of its
workers have the app in front: a snapshot of their ids (nothing else about them) on
``ctl:visible``, sent

* when the set changes,
* every ``HEARTBEAT_SECONDS``,
* when another node asks (it has just started, or Redis was away),
* and, empty, when the node stops.

A node's snapshot counts for ``EXPIRY_SECONDS`` after it arrived, so the workers of a
node that died without a word count as not in front within that time. In doubt a worker
is not in front: an extra push is better than a missed one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import orjson

if TYPE_CHECKING:
    from lykta.realtime.hub import Hub

log = logging.getLogger(__name__)

CHANNEL: Final = "ctl:visible"
HEARTBEAT_SECONDS: Final = 20.0
EXPIRY_SECONDS: Final = 3 * HEARTBEAT_SECONDS
MAX_USERS: Final = 100_000
"""A snapshot naming more workers than this is refused (not one Lykta sent)."""


class VisibleApps:
    """Which workers have the app in front: on this node, by socket (``set``/``forget``);
    on the others, by their snapshots (``start`` joins them)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.node = secrets.token_hex(8)
        self._sockets: dict[int, set[object]] = {}
        self._others: dict[str, tuple[frozenset[int], float]] = {}
        """Another node's id -> its workers with the app in front, and until when that
        counts."""
        self._hub: Hub | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._telling: asyncio.Task[None] | None = None
        self._dirty = False
        self._ask = False

    # ----- this node's sockets ---------------------------------------------------------

    def set(self, socket: object, user_id: int, visible: bool) -> None:
        if not visible:
            self.forget(socket, user_id)
            return
        sockets = self._sockets.setdefault(user_id, set())
        sockets.add(socket)
        if len(sockets) == 1:
            self._changed()

    def forget(self, socket: object, user_id: int) -> None:
        sockets = self._sockets.get(user_id)
        if sockets is None:
            return
        sockets.discard(socket)
        if not sockets:
            del self._sockets[user_id]
            self._changed()

    def __contains__(self, user_id: object) -> bool:
        if user_id in self._sockets:
            return True
        if not self._others:
            return False
        now = self.clock()
        return any(user_id in users and now < until for users, until in self._others.values())

    # ----- the other nodes -------------------------------------------------------------

    async def start(self, hub: Hub) -> None:
        """Join the other nodes: listen to their snapshots, ask for them, send ours."""
        self._hub = hub
        await hub.listen(CHANNEL, self.receive, on_resync=self._resync)
        await self._publish(ask=True)
        self._heartbeat = asyncio.create_task(self._beat(), name="visible-apps")

    async def stop(self) -> None:
        """Tell the others that none of ours count any more, and stop listening."""
        tasks = [t for t in (self._heartbeat, self._telling) if t is not None]
        self._heartbeat = self._telling = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._hub is not None:
            await self._publish(goodbye=True)
        self._hub = None
        self._others.clear()

    def receive(self, payload: bytes) -> None:
        """Another node's snapshot (a payload of ``CHANNEL``); anything else is ignored."""
        try:
            message = orjson.loads(payload)
            node, users, ask = message["node"], message["users"], message.get("ask", False)
            if not (
                isinstance(node, str)
                and isinstance(users, list)
                and len(users) <= MAX_USERS
                and all(type(u) is int for u in users)
            ):
                raise ValueError("not a snapshot")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("visible apps: ignored a payload that is not a snapshot")
            return
        if node == self.node:
            return
        if users:
            self._others[node] = (frozenset(users), self.clock() + EXPIRY_SECONDS)
        else:
            self._others.pop(node, None)
        if ask:
            self._changed()  # a node that has just joined: it hears ours now

    def _resync(self) -> None:
        """Snapshots may have been missed (Redis was away): ask again, and tell ours."""
        self._changed(ask=True)

    def _changed(self, *, ask: bool = False) -> None:
        """Send our snapshot soon: once for changes made together, again for a change
        made while one is being sent."""
        if self._hub is None:
            return
        self._dirty = True
        self._ask = self._ask or ask
        if self._telling is None or self._telling.done():
            self._telling = asyncio.get_running_loop().create_task(self._tell())

    async def _tell(self) -> None:
        while self._dirty:
            self._dirty = False
            ask, self._ask = self._ask, False
            await self._publish(ask=ask)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self._drop_expired()
            await self._publish()

    def _drop_expired(self) -> None:
        now = self.clock()
        for node in [n for n, (_, until) in self._others.items() if until <= now]:
            del self._others[node]

    async def _publish(self, *, ask: bool = False, goodbye: bool = False) -> None:
        """Our snapshot (an empty one on ``goodbye``: none of ours count any more)."""
        hub = self._hub
        if hub is None:
            return
        payload = {"node": self.node, "users": [] if goodbye else sorted(self._sockets), "ask": ask}
        try:
            await hub.publish(CHANNEL, orjson.dumps(payload))
        except Exception as exc:  # the next heartbeat, or the resync after an outage, tells
            log.warning("visible apps: could not tell the other nodes (%s)", type(exc).__name__)
