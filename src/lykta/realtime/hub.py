"""This node's sockets, what each is subscribed to, and a bounded send queue per socket.

Only a socket's own writer task writes to it, so replies and broadcast frames keep their
order. A socket that has stopped taking what is sent to it (its connection's buffer is
full: the server's write waits) while its queue fills up is closed (1013) rather than
waited for: one slow phone on a train never holds up anybody else. It catches up from
the database when it reconnects. Frames arriving together (a group commit's, a catch-up's)
may outnumber the queue for a moment: a socket that takes them is not closed for that.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from lykta.realtime.broker import Broker

log = logging.getLogger(__name__)

CLOSE_TRY_AGAIN = 1013
CONTROL_PREFIX = "ctl:"
BATCH_BYTES = 32_768
"""At most this many bytes of frames go out together as one array (a frame larger than
this goes alone)."""


class Connection:
    """One socket: its subscriptions and the frames waiting to go out. A writer task
    exists only while there is something to send, so an idle socket costs no task."""

    __slots__ = (
        "_closer",
        "_closing",
        "_in_send",
        "_pending",
        "_writer",
        "channels",
        "hub",
        "on_control",
        "on_resync",
        "queue_size",
        "websocket",
    )

    def __init__(self, websocket: WebSocket, hub: Hub, queue_size: int) -> None:
        self.websocket = websocket
        self.hub = hub
        self.queue_size = queue_size
        self.channels: set[str] = set()
        self._pending: collections.deque[bytes] = collections.deque()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._in_send = False
        """The writer is inside a write to the socket. Seen from outside the writer only
        while that write waits: the connection's buffer is full (the peer reads slower
        than it is sent to, or not at all)."""
        self._closer: asyncio.Task[None] | None = None
        self.on_control: Callable[[bytes], None] | None = None
        """Receives payloads of ``ctl:`` channels, which are never sent to the socket."""
        self.on_resync: Callable[[], None] | None = None
        """Called when the broker may have lost events: the socket catches up."""

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def pending(self) -> int:
        """Frames waiting to be written (the one being written is no longer counted)."""
        return len(self._pending)

    @property
    def writing(self) -> bool:
        """Whether a writer task exists now (only while there is something to send)."""
        return self._writer is not None

    def send(self, payload: bytes) -> None:
        """Queue a frame without waiting. A full queue disconnects this socket if the
        socket is not taking frames (its write is waiting)."""
        if self._closing:
            return
        if self._in_send and len(self._pending) >= self.queue_size:
            log.info("closing a socket that fell %d frames behind", self.queue_size)
            self.close(CLOSE_TRY_AGAIN)
            return
        self._pending.append(payload)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop())

    def close(self, code: int = 1000) -> None:
        """Stop sending and close the socket; the receive loop then ends."""
        if self._closing:
            return
        self._closing = True
        self._pending.clear()
        if self._writer is not None:
            self._writer.cancel()
        self._closer = self.hub.spawn(self._close(code))

    async def _close(self, code: int) -> None:
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            # The peer may be gone already (a reconnect storm): nothing left to close.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.websocket.close(code)

    def _next_text(self) -> str:
        """The next WebSocket text frame: the oldest pending frame alone, or, when more are
        waiting, a JSON array of as many as fit in ``BATCH_BYTES`` (docs/protocol.md).
        One frame costs one write to the socket: a worker whose team's list changes many
        times in one turn of the event loop gets one write, not one per change."""
        pending = self._pending
        first = pending.popleft()
        if not pending or len(first) + len(pending[0]) + 3 > BATCH_BYTES:  # "[", ",", "]"
            return first.decode()
        batch, size = [first], len(first) + 2
        while pending and size + len(pending[0]) + 1 <= BATCH_BYTES:
            frame = pending.popleft()
            batch.append(frame)
            size += len(frame) + 1
        return (b"[" + b",".join(batch) + b"]").decode()

    async def _write_loop(self) -> None:
        """Send what is pending, in order, then end (``send`` starts the next one)."""
        try:
            while self._pending:
                text = self._next_text()
                self._in_send = True
                await self.websocket.send_text(text)
                self._in_send = False
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            log.debug("socket write failed: %s", type(exc).__name__)
            self._closing = True
            self._pending.clear()
        finally:
            self._in_send = False
            self._writer = None

    async def drain_and_stop(self) -> None:
        """After the receive loop ended: let queued frames go out, then stop writing."""
        self._closing = True
        writer = self._writer
        if writer is not None:
            try:
                await asyncio.wait_for(asyncio.shield(writer), timeout=1)
            except (TimeoutError, asyncio.CancelledError):
                writer.cancel()
        self._pending.clear()
        if self._closer is not None:
            # The close frame (and its code) goes out before the server lets go of the socket.
            await asyncio.wait({self._closer}, timeout=1)


class Hub:
    def __init__(self, broker: Broker, queue_size: int) -> None:
        self.broker = broker
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Connection]] = defaultdict(set)
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._listeners: dict[str, Callable[[bytes], None]] = {}
        """The node's own listeners (not sockets), by channel: see ``listen``."""
        self._on_resync: list[Callable[[], None]] = []

    async def start(self) -> None:
        await self.broker.start(self.dispatch, self.resync)

    async def stop(self) -> None:
        for connection in list(self._connections):
            connection.close(1001)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        self._listeners.clear()
        self._on_resync.clear()
        await self.broker.stop()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def connect(self, websocket: WebSocket) -> Connection:
        connection = Connection(websocket, self, self.queue_size)
        self._connections.add(connection)
        return connection

    async def listen(
        self,
        channel: str,
        handler: Callable[[bytes], None],
        on_resync: Callable[[], None] | None = None,
    ) -> None:
        """Hand every payload on ``channel`` (a ``ctl:`` one: never for sockets) to
        ``handler``, this node's own, as long as the hub runs; ``on_resync`` is called
        when payloads may have been missed (a Redis outage)."""
        if not channel.startswith(CONTROL_PREFIX):
            raise ValueError(f"a node listens on control channels only, not {channel!r}")
        self._listeners[channel] = handler
        if on_resync is not None:
            self._on_resync.append(on_resync)
        if not self._subscribers.get(channel):
            await self.broker.subscribe(channel)

    def resync(self) -> None:
        """Events may have been lost between nodes: every socket catches up from the
        database (see ``Connection.on_resync``), and so does every listener."""
        for hook in list(self._on_resync):
            hook()
        for connection in list(self._connections):
            if connection.on_resync is not None and not connection.closing:
                connection.on_resync()

    async def subscribe(self, connection: Connection, channel: str) -> None:
        if channel in connection.channels:
            return
        connection.channels.add(channel)
        subscribers = self._subscribers[channel]
        subscribers.add(connection)
        if len(subscribers) == 1 and channel not in self._listeners:
            await self.broker.subscribe(channel)

    async def unsubscribe(self, connection: Connection, channel: str) -> None:
        connection.channels.discard(channel)
        subscribers = self._subscribers.get(channel)
        if subscribers is None:
            return
        subscribers.discard(connection)
        if not subscribers:
            del self._subscribers[channel]
            if channel not in self._listeners:
                await self.broker.unsubscribe(channel)

    async def disconnect(self, connection: Connection) -> None:
        self._connections.discard(connection)
        for channel in list(connection.channels):
            await self.unsubscribe(connection, channel)
        await connection.drain_and_stop()

    def connections(self, channel: str) -> frozenset[Connection]:
        return frozenset(self._subscribers.get(channel, ()))

    def dispatch(self, channel: str, payload: bytes) -> None:
        control = channel.startswith(CONTROL_PREFIX)
        if control and channel in self._listeners:
            self._listeners[channel](payload)
        for connection in list(self._subscribers.get(channel, ())):
            if not control:
                connection.send(payload)
            elif connection.on_control is not None:
                connection.on_control(payload)

    async def publish(self, channel: str, payload: bytes) -> None:
        await self.broker.publish(channel, payload)
