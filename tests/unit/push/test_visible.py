"""Which workers have the app in front, shared between nodes: three hubs on one bus (what
Redis is between real nodes), each node's ``VisibleApps`` joined to its hub."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import orjson
import pytest

from lykta.push import visible
from lykta.push.visible import EXPIRY_SECONDS, VisibleApps
from lykta.realtime.broker import Deliver
from lykta.realtime.hub import Hub

BO, ANNA = 11, 12


@dataclass
class Bus:
    """Carries what one node publishes to the others that subscribed (like Redis, which
    does not echo a node's own payloads back to it here: they never count anyway)."""

    brokers: list[BusBroker] = field(default_factory=list)
    published: list[bytes] = field(default_factory=list)
    up: bool = True
    gate: asyncio.Event | None = None
    """When set, publishing waits for it (a slow link)."""


class BusBroker:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.deliver: Deliver | None = None
        self.resync: Callable[[], None] | None = None
        self.channels: set[str] = set()
        bus.brokers.append(self)

    async def start(self, deliver: Deliver, resync: Callable[[], None] | None = None) -> None:
        self.deliver, self.resync = deliver, resync

    async def stop(self) -> None:
        self.deliver = None
        if self in self.bus.brokers:
            self.bus.brokers.remove(self)

    async def publish(self, channel: str, payload: bytes) -> None:
        if not self.bus.up:
            raise ConnectionError("the bus is down")
        if self.bus.gate is not None:
            await self.bus.gate.wait()
        self.bus.published.append(payload)
        for other in self.bus.brokers:
            if other is not self and other.deliver is not None and channel in other.channels:
                other.deliver(channel, payload)

    async def subscribe(self, channel: str) -> None:
        self.channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self.channels.discard(channel)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Node:
    hub: Hub
    broker: BusBroker
    apps: VisibleApps

    async def stop(self) -> None:
        await self.apps.stop()
        await self.hub.stop()


class Cluster:
    def __init__(self) -> None:
        self.bus, self.clock = Bus(), Clock()
        self.started: list[Node] = []

    async def start(self) -> Node:
        broker = BusBroker(self.bus)
        hub = Hub(broker, 16)
        await hub.start()
        apps = VisibleApps(self.clock)
        await apps.start(hub)
        node = Node(hub, broker, apps)
        self.started.append(node)
        await settle()
        return node


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    running = Cluster()
    yield running
    for node in running.started:
        if node.apps._hub is not None:
            await node.stop()


async def settle() -> None:
    """Let every snapshot scheduled so far go out."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_app_in_front_on_one_node_counts_on_the_others(cluster: Cluster) -> None:
    one, two = await cluster.start(), await cluster.start()
    phone, tablet = object(), object()
    one.apps.set(phone, BO, True)
    assert BO in one.apps  # its own node knows at once
    await settle()
    assert BO in two.apps
    assert ANNA not in two.apps
    # Bo's second device: hiding one app leaves him in front on the other.
    one.apps.set(tablet, BO, True)
    one.apps.set(phone, BO, False)
    await settle()
    assert BO in two.apps
    one.apps.forget(tablet, BO)  # the socket closed
    await settle()
    assert BO not in two.apps
    assert BO not in one.apps


async def test_a_change_made_while_a_snapshot_is_on_its_way_follows_it(
    cluster: Cluster,
) -> None:
    one, two = await cluster.start(), await cluster.start()
    cluster.bus.gate = gate = asyncio.Event()
    phone = object()
    one.apps.set(phone, BO, True)
    await settle()  # that snapshot is on its way
    one.apps.set(phone, BO, False)
    await settle()
    gate.set()
    await settle()
    assert BO not in two.apps


async def test_a_node_that_joins_later_learns_who_is_in_front_at_once(cluster: Cluster) -> None:
    one = await cluster.start()
    one.apps.set(object(), ANNA, True)
    await settle()
    two = await cluster.start()  # it asks; the others answer without waiting for a heartbeat
    assert ANNA in two.apps


async def test_a_node_that_stops_says_so_and_one_that_dies_expires(cluster: Cluster) -> None:
    one, two, three = await cluster.start(), await cluster.start(), await cluster.start()
    one.apps.set(object(), BO, True)
    two.apps.set(object(), ANNA, True)
    await settle()
    assert BO in three.apps
    assert ANNA in three.apps
    await one.stop()
    assert BO not in three.apps  # told on the way out
    # Node two dies without a word: its snapshot counts until it expires.
    cluster.bus.brokers.remove(two.broker)
    cluster.clock.now += EXPIRY_SECONDS - 1
    assert ANNA in three.apps
    cluster.clock.now += 2
    assert ANNA not in three.apps


async def test_heartbeats_keep_a_quiet_node_counting(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(visible, "HEARTBEAT_SECONDS", 0.01)
    one, two = await cluster.start(), await cluster.start()
    one.apps.set(object(), BO, True)
    await settle()
    sent = len(cluster.bus.published)
    cluster.clock.now += EXPIRY_SECONDS - 1
    await asyncio.sleep(0.05)  # a few heartbeats
    assert len(cluster.bus.published) > sent
    cluster.clock.now += 2
    assert BO in two.apps  # the heartbeat renewed it


async def test_after_an_outage_the_nodes_tell_each_other_again(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = await cluster.start(), await cluster.start()
    cluster.bus.up = False
    with caplog.at_level(logging.WARNING):
        one.apps.set(object(), BO, True)
        await settle()
    assert "could not tell the other nodes (ConnectionError)" in caplog.text
    assert BO not in two.apps
    cluster.bus.up = True
    assert one.broker.resync is not None
    one.broker.resync()  # what the Redis broker does once it is back
    await settle()
    assert BO in two.apps


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"users": [11]}',
        b'{"node": 7, "users": [11]}',
        b'{"node": "x", "users": "11"}',
        b'{"node": "x", "users": ["11"]}',
        b'{"node": "x", "users": [true]}',
    ],
)
async def test_a_payload_that_is_not_a_snapshot_is_ignored(
    payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    apps = VisibleApps()
    with caplog.at_level(logging.WARNING):
        apps.receive(payload)
    assert "ignored a payload that is not a snapshot" in caplog.text
    assert 11 not in apps
    assert True not in apps


def test_its_own_snapshot_never_counts_as_another_nodes() -> None:
    apps = VisibleApps()
    apps.receive(orjson.dumps({"node": apps.node, "users": [BO]}))
    assert BO not in apps
    apps.receive(orjson.dumps({"node": "elsewhere", "users": [BO]}))
    assert BO in apps
