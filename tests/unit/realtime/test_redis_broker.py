"""RedisBroker against a real Redis: order, confirmed subscriptions, and catching up after
Redis goes away and comes back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as redis

from lykta.crypto.envelope import new_key
from lykta.crypto.keyring import Keyring
from lykta.realtime.redis_broker import RedisBroker
from tests.support.services import RedisServer, redis_url, unique_prefix

pytestmark = pytest.mark.services

MASTER = Keyring([new_key()])


def master_keys() -> Keyring:
    """What the key store gives a node: the installation's master keys."""
    return MASTER


class Node:
    """What a hub sees of its broker: delivered frames and resync requests."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.resyncs = 0
        self.arrived = asyncio.Event()

    def deliver(self, channel: str, payload: bytes) -> None:
        self.got.append((channel, payload))
        self.arrived.set()

    def resync(self) -> None:
        self.resyncs += 1
        self.arrived.set()

    async def until(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()


Pair = tuple[RedisBroker, Node, RedisBroker, Node]


@contextlib.asynccontextmanager
async def two_nodes(url_a: str, url_b: str | None = None) -> AsyncIterator[Pair]:
    """Two started brokers of one installation (one prefix, the same master keys)."""
    prefix = unique_prefix()
    a = RedisBroker(url_a, keyring=master_keys, key_prefix=prefix)
    b = RedisBroker(url_b or url_a, keyring=master_keys, key_prefix=prefix)
    node_a, node_b = Node(), Node()
    await a.start(node_a.deliver, node_a.resync)
    await b.start(node_b.deliver, node_b.resync)
    try:
        yield a, node_a, b, node_b
    finally:
        await a.stop()
        await b.stop()


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    async with two_nodes(redis_url()) as brokers:
        assert brokers[0].connected
        assert brokers[2].connected
        yield brokers


async def test_a_frame_published_on_one_node_reaches_the_other_in_order(pair) -> None:
    a, _, b, node_b = pair
    await b.subscribe("conv:x")
    # No pause: subscribe returned only once Redis had confirmed it.
    for n in range(2000):
        await a.publish("conv:x", str(n).encode())
    await node_b.until(lambda: len(node_b.got) == 2000)
    assert [int(p) for _, p in node_b.got] == list(range(2000))
    assert {c for c, _ in node_b.got} == {"conv:x"}


async def test_only_subscribed_channels_arrive_and_unsubscribing_stops_them(pair) -> None:
    a, _, b, node_b = pair
    await b.subscribe("team:1")
    await a.publish("team:2", b"other team")
    await a.publish("team:1", b"one")
    await node_b.until(lambda: len(node_b.got) == 1)
    await b.unsubscribe("team:1")
    await b.subscribe("team:3")
    await a.publish("team:1", b"after unsubscribing")
    await a.publish("team:3", b"three")
    await node_b.until(lambda: len(node_b.got) == 2)
    assert node_b.got == [("team:1", b"one"), ("team:3", b"three")]


async def test_installations_sharing_a_redis_do_not_hear_each_other() -> None:
    url = redis_url()
    a = RedisBroker(url, keyring=master_keys, key_prefix=unique_prefix())
    b = RedisBroker(url, keyring=master_keys, key_prefix=unique_prefix())
    node_a, node_b = Node(), Node()
    await a.start(node_a.deliver)
    await b.start(node_b.deliver)
    try:
        await a.subscribe("team:1")
        await b.subscribe("team:1")
        await a.publish("team:1", b"mine")
        await node_a.until(lambda: len(node_a.got) == 1)
        await asyncio.sleep(0.2)
        assert node_b.got == []
    finally:
        await a.stop()
        await b.stop()


async def test_after_a_redis_restart_delivery_resumes_and_sockets_are_told_to_catch_up(
    private_redis: RedisServer,
) -> None:
    async with two_nodes(private_redis.url) as (a, node_a, b, node_b):
        await b.subscribe("conv:x")
        await a.publish("conv:x", b"before")
        await node_b.until(lambda: len(node_b.got) == 1)

        private_redis.stop()
        async with asyncio.timeout(5):
            while b.connected:  # noqa: ASYNC110 - polling a flag the broker sets
                await asyncio.sleep(0.01)
        await a.publish("conv:x", b"while away")  # dropped: the database has it
        await b.subscribe("conv:y")  # a socket that subscribed meanwhile
        private_redis.start()

        loop = asyncio.get_running_loop()
        back = loop.time()
        await node_b.until(lambda: node_b.resyncs >= 1, timeout=5)
        # Until a node is back it drops what it publishes (and resyncs everyone later);
        # both are back within the 5 s.
        async with asyncio.timeout(5):
            while not a.connected:  # noqa: ASYNC110 - polling a flag the broker sets
                await asyncio.sleep(0.01)
        assert loop.time() - back < 5
        await a.publish("conv:x", b"after")
        await a.publish("conv:y", b"new channel")
        await node_b.until(lambda: len(node_b.got) >= 3, timeout=5)
        assert [p for _, p in node_b.got] == [b"before", b"after", b"new channel"]
        # The node that had to drop a frame told everyone (itself included) to catch up.
        await node_a.until(lambda: node_a.resyncs >= 1, timeout=5)


async def test_a_node_starts_while_redis_is_down_and_connects_when_it_comes_up(
    private_redis: RedisServer,
) -> None:
    private_redis.stop()
    prefix = unique_prefix()
    broker = RedisBroker(private_redis.url, keyring=master_keys, key_prefix=prefix)
    node = Node()
    await broker.start(node.deliver, node.resync)
    other = RedisBroker(private_redis.url, keyring=master_keys, key_prefix=prefix)
    try:
        assert not broker.connected
        await broker.subscribe("team:1")
        # Its own sockets still hear each other: a node alone needs no Redis.
        await broker.publish("team:1", b"local")
        assert node.got == [("team:1", b"local")]
        private_redis.start()
        await node.until(lambda: broker.connected, timeout=5)
        await other.start(Node().deliver)
        await other.publish("team:1", b"from the other node")
        await node.until(lambda: len(node.got) == 2, timeout=5)
        assert node.got[1] == ("team:1", b"from the other node")
    finally:
        await other.stop()
        await broker.stop()


async def test_what_redis_carries_can_be_neither_read_nor_forged(pair) -> None:
    """Anyone who can reach Redis can subscribe to every channel and publish into any:
    they see no text, and what they publish is not delivered."""
    a, _, b, node_b = pair
    spy = redis.Redis.from_url(redis_url())
    pubsub = spy.pubsub()
    await pubsub.psubscribe(a.prefix + "*")
    try:
        await b.subscribe("conv:x")
        await b.subscribe("conv:y")
        await a.publish("conv:x", b'{"body":"jag m\xc3\xa5r inte bra"}')
        await node_b.until(lambda: len(node_b.got) == 1)
        seen: list[bytes] = []
        async with asyncio.timeout(5):
            while not seen:
                message = await pubsub.get_message(timeout=1)
                if message is not None and message["type"] == "pmessage":
                    seen.append(message["data"])
        assert b"inte bra" not in seen[0]

        # Forgeries: a frame from "another node" in the clear, a copy of a real frame
        # replayed, and one moved to another channel.
        await spy.publish(a.prefix + "conv:x", b"0123456789abcdef" + b'{"body":"forged"}')
        await spy.publish(a.prefix + "conv:x", seen[0])
        await spy.publish(a.prefix + "conv:y", seen[0])
        await spy.publish(a.prefix + "_resync", b"0123456789abcdef")
        await a.publish("conv:x", b"real")
        await node_b.until(lambda: len(node_b.got) == 2)
        await asyncio.sleep(0.2)
        assert node_b.got[1] == ("conv:x", b"real")
        assert len(node_b.got) == 2
        assert node_b.resyncs == 0
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await spy.aclose()


async def test_a_redis_that_refuses_scripts_still_carries_every_frame_once(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A node publishes its batches with a Lua script; where an ACL forbids scripts it
    falls back to pipelines. The batch the script was refused for counts as dropped:
    every node catches up from the database, and nothing arrives twice."""
    admin = redis.Redis.from_url(private_redis.url)
    await admin.acl_setuser(
        "noscripts",
        enabled=True,
        nopass=True,
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-@scripting"],
    )
    await admin.aclose()
    limited = private_redis.url.replace("redis://", "redis://noscripts@")
    async with two_nodes(limited, private_redis.url) as (a, _, b, node_b):
        await b.subscribe("conv:x")
        with caplog.at_level(logging.WARNING, "lykta.realtime.redis_broker"):
            await a.publish("conv:x", b"refused")
            async with asyncio.timeout(5):
                while "could not publish" not in caplog.text:  # noqa: ASYNC110 - its log
                    await asyncio.sleep(0.01)
            await a.publish("conv:x", b"piped")
            await node_b.until(lambda: len(node_b.got) == 1 and node_b.resyncs >= 1)
        assert "refused the publishing script" in caplog.text
        for n in range(3):
            await a.publish("conv:x", str(n).encode())
        await node_b.until(lambda: len(node_b.got) == 4)
        await asyncio.sleep(0.2)
        assert [p for _, p in node_b.got] == [b"piped", b"0", b"1", b"2"]


async def test_a_node_may_publish_before_it_starts_and_before_its_keys_are_loaded() -> None:
    """The master keys are loaded when the runtime starts (the key store opens first), but
    a runtime may publish before that (the benchmark's seeding did, and failed): frames
    are sealed only when they are sent. One published before the node reached Redis is
    dropped, as while Redis is away, and the other nodes are told to catch up."""
    opened = False

    def keys_once_open() -> Keyring:
        if not opened:
            raise RuntimeError("the key store is not open")
        return MASTER

    url, prefix = redis_url(), unique_prefix()
    early = RedisBroker(url, keyring=keys_once_open, key_prefix=prefix)
    other = RedisBroker(url, keyring=master_keys, key_prefix=prefix)
    node = Node()
    await other.start(node.deliver, node.resync)
    try:
        await other.subscribe("team:1")
        await early.publish("team:1", b"before start")
        opened = True
        await early.start(Node().deliver)
        await early.publish("team:1", b"after start")
        await node.until(lambda: len(node.got) == 1 and node.resyncs >= 1)
        assert node.got == [("team:1", b"after start")]
    finally:
        await early.stop()
        await other.stop()


async def test_a_nodes_own_frames_reach_its_sockets_once(pair) -> None:
    a, node_a, b, node_b = pair
    await a.subscribe("conv:x")
    await b.subscribe("conv:x")
    await a.publish("conv:x", b"1")
    assert node_a.got == [("conv:x", b"1")]  # at once, before Redis has seen it
    await node_b.until(lambda: len(node_b.got) == 1)
    await b.publish("conv:x", b"2")
    await node_a.until(lambda: len(node_a.got) == 2)
    await asyncio.sleep(0.2)  # the echoes of a node's own frames from Redis are ignored
    assert node_a.got == [("conv:x", b"1"), ("conv:x", b"2")]
    assert node_b.got == [("conv:x", b"1"), ("conv:x", b"2")]


async def test_stopping_ends_the_broker_even_if_redis_py_swallows_the_cancellation(
    pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py may absorb the cancellation of a command in flight and return normally;
    the node must still stop at once, not wait out the 5 s and leave a task behind (it
    did: every node with Redis took 5 s longer to shut down)."""
    a, _, _, _ = pair
    sending = asyncio.Event()

    async def swallowing_send(batch: list[tuple[str, bytes]]) -> None:
        sending.set()
        with contextlib.suppress(asyncio.CancelledError):  # as redis-py's pipeline may do
            await asyncio.sleep(30)

    monkeypatch.setattr(a, "_send", swallowing_send)
    await a.publish("conv:x", b"goodbye")
    await sending.wait()
    tasks = list(a._tasks)
    await a.stop()
    assert [t.get_name() for t in tasks if not t.done()] == []
