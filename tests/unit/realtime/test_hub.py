"""The hub: per-socket bounded queues, reference-counted channel subscriptions, fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import orjson
import pytest
from starlette.websockets import WebSocketState

from lykta.realtime.hub import BATCH_BYTES, CLOSE_TRY_AGAIN, Connection, Hub
from tests.unit.fakes import FakeWebSocket, RecordingBroker, eventually

QUEUE = 3

Connect = Callable[..., tuple[Connection, FakeWebSocket]]


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
async def hub(broker: RecordingBroker) -> AsyncIterator[Hub]:
    hub = Hub(broker, QUEUE)
    await hub.start()
    yield hub
    await hub.stop()


@pytest.fixture
async def connect(hub: Hub) -> AsyncIterator[Connect]:
    made: list[tuple[Connection, FakeWebSocket]] = []

    def factory(*, block: bool = False) -> tuple[Connection, FakeWebSocket]:
        websocket = FakeWebSocket(block=block)
        connection = hub.connect(websocket.as_websocket)
        made.append((connection, websocket))
        return connection, websocket

    yield factory
    for connection, websocket in made:
        websocket.release.set()
        await hub.disconnect(connection)


def frame(n: int) -> bytes:
    return f'{{"type":"message","seq":{n}}}'.encode()


async def test_a_socket_that_falls_behind_is_closed_1013_and_others_still_receive(
    hub: Hub, connect: Connect
) -> None:
    slow, slow_ws = connect(block=True)  # stopped reading: its first send never returns
    fast, fast_ws = connect()
    for connection in (slow, fast):
        await hub.subscribe(connection, "conv:x")

    # One frame in the slow socket's stuck send, QUEUE frames queued; the next overflows.
    def fast_got(count: int) -> Callable[[], bool]:
        return lambda: len(fast_ws.sent) == count

    total = QUEUE + 4
    for n in range(total):
        await hub.publish("conv:x", frame(n))
        await eventually(fast_got(n + 1))  # the fast reader keeps up

    await eventually(lambda: slow_ws.closed_with is not None)
    assert slow_ws.closed_with == CLOSE_TRY_AGAIN == 1013
    assert slow.closing
    assert slow_ws.application_state == WebSocketState.DISCONNECTED
    assert slow_ws.sent == []
    # Everybody else got every frame, in order, and was not closed.
    assert fast_ws.sent == [frame(n).decode() for n in range(total)]
    assert fast_ws.closed_with is None
    assert not fast.closing
    # And keeps getting them after the slow socket is gone.
    await hub.publish("conv:x", frame(99))
    await eventually(lambda: len(fast_ws.sent) == total + 1)


async def test_the_queue_holds_exactly_its_size_before_closing(hub: Hub, connect: Connect) -> None:
    slow, slow_ws = connect(block=True)
    await hub.subscribe(slow, "conv:x")
    await hub.publish("conv:x", frame(0))
    await eventually(lambda: slow.pending == 0)  # the writer is stuck sending frame 0
    for n in range(1, QUEUE + 1):
        await hub.publish("conv:x", frame(n))
    assert not slow.closing
    await hub.publish("conv:x", frame(QUEUE + 1))
    assert slow.closing
    await eventually(lambda: slow_ws.closed_with == CLOSE_TRY_AGAIN)


async def test_a_burst_over_the_queue_size_reaches_a_socket_that_takes_it(
    hub: Hub, connect: Connect
) -> None:
    """A group commit's frames arrive in one turn of the event loop, before the writer
    has written anything: only a socket whose write waits (it stopped reading) falls
    behind."""
    connection, websocket = connect()
    await hub.subscribe(connection, "conv:x")
    burst = 3 * QUEUE
    for n in range(burst):
        hub.dispatch("conv:x", frame(n))
    assert connection.pending == burst
    await eventually(lambda: len(websocket.frames) == burst)
    assert [f["seq"] for f in websocket.frames] == list(range(burst))
    assert not connection.closing
    assert websocket.closed_with is None


async def test_an_idle_socket_has_no_writer_task_and_frames_still_go_out_in_order(
    hub: Hub, connect: Connect
) -> None:
    connection, websocket = connect()
    await hub.subscribe(connection, "conv:x")
    assert not connection.writing
    for n in range(QUEUE):
        await hub.publish("conv:x", frame(n))
    assert connection.writing
    await eventually(lambda: len(websocket.frames) == QUEUE)
    await eventually(lambda: not connection.writing)  # gone once everything is written
    await hub.publish("conv:x", frame(QUEUE))  # a later frame starts a writer again
    await eventually(lambda: len(websocket.frames) == QUEUE + 1)
    assert [f["seq"] for f in websocket.frames] == list(range(QUEUE + 1))
    assert not connection.closing
    await eventually(lambda: not connection.writing)


async def test_frames_after_close_are_dropped(hub: Hub, connect: Connect) -> None:
    connection, websocket = connect()
    await hub.subscribe(connection, "conv:x")
    connection.close()
    await eventually(lambda: websocket.closed_with == 1000)
    await hub.publish("conv:x", frame(1))
    connection.send(frame(2))
    await asyncio.sleep(0.02)
    assert websocket.sent == []


async def test_subscriptions_are_reference_counted(
    hub: Hub, broker: RecordingBroker, connect: Connect
) -> None:
    a, _ = connect()
    b, _ = connect()
    await hub.subscribe(a, "conv:x")
    await hub.subscribe(b, "conv:x")
    await hub.subscribe(a, "conv:x")  # twice from the same socket counts once
    await hub.subscribe(a, "team:1")
    assert broker.subscribed == ["conv:x", "team:1"]
    assert hub.connections("conv:x") == {a, b}

    await hub.unsubscribe(a, "conv:x")
    assert broker.unsubscribed == []
    assert hub.connections("conv:x") == {b}
    await hub.unsubscribe(a, "conv:x")  # again: nothing changes
    assert broker.unsubscribed == []
    await hub.unsubscribe(b, "conv:x")
    assert broker.unsubscribed == ["conv:x"]
    assert hub.connections("conv:x") == frozenset()

    # Subscribing again after the last one left asks the broker again, once.
    await hub.subscribe(b, "conv:x")
    assert broker.subscribed == ["conv:x", "team:1", "conv:x"]


async def test_disconnect_leaves_every_channel_once(
    hub: Hub, broker: RecordingBroker, connect: Connect
) -> None:
    a, _ = connect()
    b, _ = connect()
    for channel in ("conv:1", "conv:2", "team:1"):
        await hub.subscribe(a, channel)
    await hub.subscribe(b, "team:1")
    await hub.disconnect(a)
    assert sorted(broker.unsubscribed) == ["conv:1", "conv:2"]
    assert a.channels == set()
    assert hub.connections("team:1") == {b}


async def test_dispatch_sends_the_same_text_to_every_subscriber_and_nobody_else(
    hub: Hub, connect: Connect
) -> None:
    subscribers = [connect() for _ in range(3)]
    outsider, outsider_ws = connect()
    for connection, _ in subscribers:
        await hub.subscribe(connection, "conv:x")
    await hub.subscribe(outsider, "conv:y")
    payload = '{"type":"message","body":"Hej då 🙂 <b>"}'.encode()

    hub.dispatch("conv:x", payload)
    await eventually(lambda: all(ws.sent for _, ws in subscribers))
    for _, websocket in subscribers:
        assert websocket.sent == [payload.decode()]
    assert outsider_ws.sent == []


async def test_publish_reaches_only_subscribed_sockets_in_order(hub: Hub, connect: Connect) -> None:
    a, a_ws = connect()
    b, b_ws = connect()
    await hub.subscribe(a, "conv:x")
    await hub.subscribe(b, "team:1")
    for n in range(3):
        await hub.publish("conv:x", frame(n))
    await hub.publish("team:1", frame(100))
    await hub.publish("conv:nobody", frame(200))
    await eventually(lambda: len(a_ws.frames) == 3 and len(b_ws.frames) == 1)
    assert a_ws.frames == [orjson.loads(frame(n)) for n in range(3)]
    assert b_ws.sent == [frame(100).decode()]


async def test_drain_sends_what_was_queued_before_stopping(hub: Hub, connect: Connect) -> None:
    connection, websocket = connect()
    for n in range(QUEUE - 1):
        connection.send(frame(n))
    async with asyncio.timeout(0.5):  # ends as soon as the queue is empty, not by timeout
        await connection.drain_and_stop()
    assert websocket.frames == [orjson.loads(frame(n)) for n in range(QUEUE - 1)]
    assert connection.closing


async def test_stop_closes_every_socket_as_going_away(broker: RecordingBroker) -> None:
    hub = Hub(broker, QUEUE)
    await hub.start()
    sockets = [FakeWebSocket() for _ in range(2)]
    for n, websocket in enumerate(sockets):
        await hub.subscribe(hub.connect(websocket.as_websocket), f"conv:{n}")
    await hub.stop()
    assert [ws.closed_with for ws in sockets] == [1001, 1001]
    # The broker stopped too: publishing delivers nothing any more.
    await broker.publish("conv:0", frame(1))
    assert sockets[0].sent == []


async def test_control_channels_never_reach_the_socket(hub: Hub, connect: Connect) -> None:
    connection, websocket = connect()
    control: list[bytes] = []
    connection.on_control = control.append
    await hub.subscribe(connection, "ctl:user:1")
    await hub.subscribe(connection, "conv:x")
    await hub.publish("ctl:user:1", b'{"end":"all"}')
    await hub.publish("conv:x", frame(1))
    await eventually(lambda: len(websocket.sent) == 1)
    assert control == [b'{"end":"all"}']
    assert websocket.sent == [frame(1).decode()]
    # A socket without a control handler just ignores control payloads.
    other, other_ws = connect()
    await hub.subscribe(other, "ctl:user:1")
    await hub.publish("ctl:user:1", b'{"end":"all"}')
    await asyncio.sleep(0.01)
    assert other_ws.sent == []
    assert not other.closing


async def test_the_nodes_own_listener_hears_its_channel_and_keeps_it_subscribed(
    hub: Hub, broker: RecordingBroker, connect: Connect
) -> None:
    heard: list[bytes] = []
    resyncs: list[str] = []
    await hub.listen("ctl:visible", heard.append, on_resync=lambda: resyncs.append("again"))
    assert broker.subscribed == ["ctl:visible"]
    connection, websocket = connect()
    await hub.subscribe(connection, "ctl:visible")  # a socket on the same channel
    await hub.unsubscribe(connection, "ctl:visible")
    assert broker.subscribed == ["ctl:visible"]
    assert broker.unsubscribed == []  # the listener still needs it
    await hub.publish("ctl:visible", b'{"node":"a","users":[]}')
    assert heard == [b'{"node":"a","users":[]}']
    assert websocket.sent == []
    hub.resync()
    assert resyncs == ["again"]
    with pytest.raises(ValueError, match="control channels only"):
        await hub.listen("team:1", heard.append)


async def test_frames_queued_in_one_turn_go_out_as_one_array_and_a_lone_frame_as_itself(
    hub: Hub, connect: Connect
) -> None:
    connection, websocket = connect()
    await hub.subscribe(connection, "team:1")
    await hub.publish("team:1", frame(0))
    await eventually(lambda: len(websocket.sent) == 1)
    assert websocket.sent == [frame(0).decode()]  # alone: an object, as before
    for n in range(1, QUEUE + 1):  # queued before the writer runs
        await hub.publish("team:1", frame(n))
    await eventually(lambda: len(websocket.frames) == QUEUE + 1)
    assert len(websocket.sent) == 2  # one write for the three
    assert orjson.loads(websocket.sent[1]) == [orjson.loads(frame(n)) for n in range(1, QUEUE + 1)]


async def test_a_batch_stays_within_its_size_and_a_large_frame_goes_alone(
    broker: RecordingBroker,
) -> None:
    hub = Hub(broker, 100)
    await hub.start()
    websocket = FakeWebSocket()
    connection = hub.connect(websocket.as_websocket)
    filler = "x" * (BATCH_BYTES // 4)
    small = [f'{{"type":"message","seq":{n},"body":"{filler}"}}'.encode() for n in range(6)]
    large = f'{{"type":"message","seq":6,"body":"{"y" * BATCH_BYTES}"}}'.encode()
    for payload in [*small, large, frame(7)]:
        connection.send(payload)
    await eventually(lambda: len(websocket.frames) == 8)
    assert [f["seq"] for f in websocket.frames] == list(range(8))
    assert all(len(text.encode()) <= BATCH_BYTES for text in websocket.sent if text[0] == "[")
    assert websocket.sent[-2] == large.decode()  # too large to share: alone, an object
    assert websocket.sent[-1] == frame(7).decode()
    assert len(websocket.sent) == 4  # three small ones a batch, then three, then each alone
    await hub.disconnect(connection)
    await hub.stop()


@pytest.mark.parametrize("spare", [0, 1])
async def test_two_frames_share_an_array_only_if_it_fits_and_never_make_one_alone(
    broker: RecordingBroker, spare: int
) -> None:
    hub = Hub(broker, 10)
    await hub.start()
    websocket = FakeWebSocket()
    connection = hub.connect(websocket.as_websocket)

    def sized(seq: int, length: int) -> bytes:
        head = f'{{"type":"message","seq":{seq},"body":"'.encode()
        return head + b"x" * (length - len(head) - 2) + b'"}'

    half = (BATCH_BYTES - 3) // 2
    first, second = sized(0, half), sized(1, BATCH_BYTES - 3 - half + spare)
    connection.send(first)
    connection.send(second)
    await eventually(lambda: len(websocket.frames) == 2)
    if spare == 0:  # "[" + first + "," + second + "]" is exactly BATCH_BYTES
        assert websocket.sent == [f"[{first.decode()},{second.decode()}]"]
    else:  # one byte too many: each alone, as objects, not an array of one
        assert websocket.sent == [first.decode(), second.decode()]
    await hub.disconnect(connection)
    await hub.stop()
