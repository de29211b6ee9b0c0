"""MemoryBroker: the single-node fan-out."""

from __future__ import annotations

from lykta.realtime.broker import MemoryBroker, conversation_channel, team_channel


class Inbox:
    def __init__(self) -> None:
        self.got: list[tuple[str, bytes]] = []

    def deliver(self, channel: str, payload: bytes) -> None:
        self.got.append((channel, payload))

    async def deliver_async(self, channel: str, payload: bytes) -> None:
        self.got.append((channel, payload))


async def test_publish_reaches_only_subscribed_channels() -> None:
    inbox = Inbox()
    broker = MemoryBroker()
    await broker.start(inbox.deliver)
    await broker.subscribe("conv:a")
    await broker.subscribe("team:1")
    await broker.publish("conv:a", b"1")
    await broker.publish("conv:b", b"2")
    await broker.publish("team:1", b"3")
    await broker.publish("team:2", b"4")
    assert inbox.got == [("conv:a", b"1"), ("team:1", b"3")]


async def test_unsubscribed_channels_no_longer_deliver() -> None:
    inbox = Inbox()
    broker = MemoryBroker()
    await broker.start(inbox.deliver)
    await broker.subscribe("conv:a")
    await broker.unsubscribe("conv:a")
    await broker.unsubscribe("conv:never")  # harmless
    await broker.publish("conv:a", b"1")
    assert inbox.got == []


async def test_nothing_is_delivered_before_start_or_after_stop() -> None:
    inbox = Inbox()
    broker = MemoryBroker()
    await broker.subscribe("conv:a")
    await broker.publish("conv:a", b"early")
    await broker.start(inbox.deliver)
    await broker.publish("conv:a", b"on time")
    await broker.stop()
    await broker.publish("conv:a", b"late")
    await broker.start(inbox.deliver)
    await broker.publish("conv:a", b"after restart, not resubscribed")
    assert inbox.got == [("conv:a", b"on time")]


async def test_async_deliver_is_awaited() -> None:
    inbox = Inbox()
    broker = MemoryBroker()
    await broker.start(inbox.deliver_async)
    await broker.subscribe("conv:a")
    await broker.publish("conv:a", b"1")
    assert inbox.got == [("conv:a", b"1")]


def test_channel_names_do_not_collide() -> None:
    assert conversation_channel("abc") == "conv:abc"
    assert team_channel(7) == "team:7"
    assert conversation_channel("7") != team_channel(7)
