"""Redis pub/sub between nodes (``LYKTA_REDIS_URL``).

Every node publishes the frames it produces to Redis and subscribes to the channels its
own sockets need. What Redis does not guarantee, this module makes up for:

* **Order.** One writer task sends everything this node publishes, in the order it was
  published, in batches: one call of a short Lua script that publishes each frame of the
  batch in turn (one command and one reply for the batch, where a pipeline of ``PUBLISH``es
  costs redis-py a command and a reply each), or, where the server refuses scripts (an
  ACL without ``EVALSHA``), a pipeline. A sender never waits for Redis: its message is
  already committed, and its ack goes out at once.
* **Subscriptions that are in place.** ``subscribe`` returns once Redis has confirmed the
  subscription (or Redis is unreachable), so a socket that subscribes and then reads the
  database misses nothing committed in between.
* **Outages.** When Redis goes away (a restart, a network fault) the reader reconnects
  with a short backoff, subscribes again and asks the hub to resynchronise its sockets
  from the database (``resync``). Whatever could not be published meanwhile is covered
  the same way: once Redis is back, the node that dropped frames broadcasts a resync to
  every node.

Payloads are the frames' JSON bytes as the sockets receive them, sealed (encrypted and
authenticated, see ``realtime/sealing.py``) behind the 16-character id of the node that sent
them: what Redis carries can be neither read nor forged without the master keys. A node
delivers what it publishes to its own sockets at once (as the in-process broker does) and
skips its own payloads when Redis echoes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

from lykta.crypto.keyring import Keyring
from lykta.realtime.broker import Deliver
from lykta.realtime.sealing import FrameSeal

log = logging.getLogger(__name__)

RESYNC_CHANNEL = "_resync"
"""Every node listens here; a message asks it to resynchronise its sockets."""

PUBLISH_QUEUE = 100_000
"""Frames waiting for Redis. Past this (Redis away for long) they are dropped and a
resync is broadcast once Redis is back."""

BATCH = 512
PUBLISH_ALL = "for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end"
"""Publishes a batch: ``ARGV`` is channel, payload, channel, payload, … in order."""
RECONNECT_MIN = 0.05
RECONNECT_MAX = 1.0
CONFIRM_TIMEOUT = 2.0
READ_TIMEOUT = 1.0


class RedisBroker:
    """The ``Broker`` for several nodes. ``url`` is a ``redis://``/``rediss://`` URL."""

    def __init__(
        self, url: str, *, keyring: Callable[[], Keyring], key_prefix: str = "lykta:"
    ) -> None:
        self.url = url
        self.prefix = key_prefix
        self._client: redis.Redis | None = None
        self._subscriber: redis.Redis | None = None
        self._deliver: Deliver | None = None
        self._resync: Callable[[], None] | None = None
        self._channels: set[str] = set()
        self._pending: dict[str, list[asyncio.Future[None]]] = {}
        self._pubsub: PubSub | None = None
        self._connected = asyncio.Event()
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(PUBLISH_QUEUE)
        self._dropped = False
        self._tasks: list[asyncio.Task[None]] = []
        self._publish_all: AsyncScript | None = None
        self.node = secrets.token_hex(8)
        self._origin = self.node.encode()
        """Starts every payload this node sends over Redis (fixed length)."""
        self._seal = FrameSeal(self.node, keyring)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _client_for(self, retries: int) -> redis.Redis:
        return redis.Redis.from_url(
            self.url,
            socket_connect_timeout=1,
            socket_timeout=5,
            socket_keepalive=True,
            health_check_interval=5,
            retry=Retry(NoBackoff(), retries),
        )

    async def start(self, deliver: Deliver, resync: Callable[[], None] | None = None) -> None:
        self._deliver = deliver
        self._resync = resync
        # Publishing retries once on a fresh connection (a pooled one may have died with
        # a Redis restart). Subscribing never retries inside redis-py: a lost subscription
        # must be noticed here, or the resync would not happen.
        self._client = self._client_for(retries=1)
        self._publish_all = self._client.register_script(PUBLISH_ALL)
        self._subscriber = self._client_for(retries=0)
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="redis-reader"),
            asyncio.create_task(self._write_loop(), name="redis-writer"),
        ]
        # Start serving either way; until Redis answers, this node only reaches its own.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=2)
        if not self.connected:
            log.warning("Redis is not reachable yet; retrying in the background")

    async def stop(self) -> None:
        # Give frames already queued a moment to leave.
        if self.connected and not self._queue.empty():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=1)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._tasks = []
        for client in (self._client, self._subscriber):
            if client is not None:
                await client.aclose()
        self._client = self._subscriber = None
        self._publish_all = None
        self._deliver = None
        self._channels.clear()

    # ----- publishing ------------------------------------------------------------------

    async def publish(self, channel: str, payload: bytes) -> None:
        # This node's own sockets get it at once, as with one node; Redis carries it to the
        # others, marked with this node's id so that it is not delivered here twice.
        if self._deliver is not None and channel in self._channels:
            result = self._deliver(channel, payload)
            if result is not None:
                await result
        try:
            self._queue.put_nowait((self.prefix + channel, payload))
        except asyncio.QueueFull:
            self._dropped = True

    async def _write_loop(self) -> None:
        while True:
            _unless_cancelled()  # redis-py may have absorbed a cancellation mid-command
            first = await self._queue.get()
            batch = [first]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[tuple[str, bytes]]) -> None:
        if not self.connected:
            # Redis is away: what cannot be delivered now is read from the database
            # after the resync.
            self._dropped = True
            return
        try:
            await self._send(batch)
        except (RedisError, OSError) as exc:
            _unless_cancelled()
            log.warning("could not publish to Redis (%s)", type(exc).__name__)
            self._dropped = True
            return
        if self._dropped:
            await self._broadcast_resync()

    async def _send(self, batch: list[tuple[str, bytes]]) -> None:
        assert self._client is not None  # noqa: S101 - set in start()
        # Sealed here, in the order they are sent: each frame's number is above the last.
        seal = self._seal.seal
        batch = [(channel, seal(channel.encode(), payload)) for channel, payload in batch]
        if self._publish_all is not None:
            try:
                # redis-py loads the script again if Redis lost it (a restart).
                await self._publish_all(args=[part for frame in batch for part in frame])
                return
            except ResponseError as exc:
                # Refused before it ran (no permission for scripts): publish with
                # pipelines from now on, and this batch counts as dropped, so every node
                # catches up from the database (nothing is published twice).
                log.warning("Redis refused the publishing script (%s); using pipelines", exc)
                self._publish_all = None
                raise
        async with self._client.pipeline(transaction=False) as pipe:
            for channel, payload in batch:
                pipe.publish(channel, payload)
            await pipe.execute()

    async def _broadcast_resync(self) -> None:
        assert self._client is not None  # noqa: S101 - set in start()
        channel = self.prefix + RESYNC_CHANNEL
        try:
            await self._client.publish(channel, self._seal.seal(channel.encode(), b""))
        except (RedisError, OSError):
            _unless_cancelled()
            return  # still dropped; tried again after the next successful publish
        self._dropped = False

    # ----- subscribing -----------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        if channel in self._channels:
            return
        self._channels.add(channel)
        pubsub = self._pubsub
        if pubsub is None or not self.connected:
            return  # subscribed on reconnect; the resync then covers the gap
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(self.prefix + channel, []).append(confirmed)
        try:
            await pubsub.subscribe(self.prefix + channel)
            await asyncio.wait_for(asyncio.shield(confirmed), timeout=CONFIRM_TIMEOUT)
        except (RedisError, OSError, TimeoutError) as exc:
            _unless_cancelled()
            # The reader reconnects, subscribes to every channel again and resyncs.
            log.info("subscribing to a Redis channel failed (%s)", type(exc).__name__)

    async def unsubscribe(self, channel: str) -> None:
        if channel not in self._channels:
            return
        self._channels.discard(channel)
        pubsub = self._pubsub
        if pubsub is None or not self.connected:
            return
        with contextlib.suppress(RedisError, OSError):
            await pubsub.unsubscribe(self.prefix + channel)

    async def _read_loop(self) -> None:
        delay = RECONNECT_MIN
        first = True
        while True:
            assert self._subscriber is not None  # noqa: S101 - set in start()
            pubsub = self._subscriber.pubsub()
            try:
                channels = [self.prefix + c for c in (RESYNC_CHANNEL, *self._channels)]
                await pubsub.subscribe(*channels)
                self._pubsub = pubsub
                await self._confirm_all(pubsub, len(channels))
                self._connected.set()
                delay = RECONNECT_MIN
                if not first:
                    log.warning("Redis is back; resynchronising this node's sockets")
                    self._signal_resync()
                first = False
                while True:
                    _unless_cancelled()
                    message = await pubsub.get_message(timeout=READ_TIMEOUT)
                    if message is not None:
                        self._handle(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                _unless_cancelled()
                if self._connected.is_set():
                    log.warning("lost Redis (%s); reconnecting", type(exc).__name__)
                self._connected.clear()
                self._pubsub = None
                first = False
                self._fail_pending()
            finally:
                with contextlib.suppress(RedisError, OSError, RuntimeError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            _unless_cancelled()
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX, delay * 2)

    async def _confirm_all(self, pubsub: PubSub, count: int) -> None:
        """Wait for Redis to confirm the subscriptions sent at (re)connection."""
        confirmed = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONFIRM_TIMEOUT
        while confirmed < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("Redis did not confirm the subscriptions")
            message = await pubsub.get_message(timeout=remaining)
            if message is None:
                continue
            if message["type"] == "subscribe":
                confirmed += 1
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = _text(message["channel"])
        if kind == "subscribe":
            for future in self._pending.pop(channel, []):
                if not future.done():
                    future.set_result(None)
            return
        if kind != "message":
            return
        data: bytes = message["data"]
        if channel == self.prefix + RESYNC_CHANNEL:
            if self._seal.open(channel.encode(), data) is not None:
                self._signal_resync()
            return
        if self._deliver is None or not channel.startswith(self.prefix):
            return
        name = channel[len(self.prefix) :]
        if name not in self._channels:
            return
        if FrameSeal.sender(data) == self._origin:
            return  # this node's own: its sockets had it when it was published
        payload = self._seal.open(channel.encode(), data)
        if payload is None:
            return  # not from a node of this installation (logged by the seal)
        result = self._deliver(name, payload)
        if result is not None:
            asyncio.ensure_future(result)  # noqa: RUF006 - the hub's dispatch is synchronous

    def _signal_resync(self) -> None:
        if self._resync is not None:
            self._resync()

    def _fail_pending(self) -> None:
        for futures in self._pending.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)
        self._pending.clear()


def _unless_cancelled() -> None:
    """redis-py turns a cancellation in the middle of a command into a connection error,
    or absorbs it and returns; a task being cancelled (the node stopping) must stop, not
    retry or wait for the next frame."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
