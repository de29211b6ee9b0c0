"""The shared receive loop: every failure becomes an error frame; the socket stays open."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from lykta.conversations.errors import ConversationClosed, EmptyMessage, NotFound
from lykta.realtime.broker import MemoryBroker
from lykta.realtime.hub import Hub
from lykta.realtime.protocol import (
    PingFrame,
    StaffCloseFrame,
    YouthSendFrame,
    parse_staff_frame,
    parse_youth_frame,
)
from lykta.realtime.session import CLOSE_TIMEOUT, Deadlines, error_frame, receive_loop
from tests.unit.fakes import FakeWebSocket, eventually

CID = "0123456789abcdef0123456789abcdef"
PATIENT = Deadlines(hello=None, idle=60)


def text(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "websocket.receive", "text": orjson.dumps(data).decode()}


async def run(
    incoming: list[dict[str, Any]], handle: Any, parse: Any = parse_youth_frame
) -> list[Any]:
    hub = Hub(MemoryBroker(), 64)
    await hub.start()
    websocket = FakeWebSocket(incoming=incoming)
    connection = hub.connect(websocket.as_websocket)
    try:
        await receive_loop(
            websocket.as_websocket,
            connection,
            "en",
            parse,
            handle,
            deadlines=PATIENT,
            identified=lambda: True,
        )
        await connection.drain_and_stop()
    finally:
        await hub.stop()
    assert websocket.closed_with is None, "a bad frame must not close the socket"
    return websocket.frames


async def test_every_kind_of_failure_is_answered_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handled: list[Any] = []

    async def handle(frame: Any) -> None:
        handled.append(frame)
        match frame:
            case YouthSendFrame(body=""):
                raise EmptyMessage
            case YouthSendFrame(body="boom"):
                raise RuntimeError("unexpected")

    frames = await run(
        [
            {"type": "websocket.receive", "text": "not json"},
            text({"type": "open", "conversation_id": CID}),
            text({"type": "send", "client_id": "short", "body": "x"}),
            text({"type": "send", "client_id": "abcdefgh", "body": ""}),
            text({"type": "send", "client_id": "abcdefgh", "body": "boom"}),
            {"type": "websocket.receive", "bytes": orjson.dumps({"type": "ping"})},
            text({"type": "ping"}),
        ],
        handle,
    )
    codes = [f["code"] for f in frames]
    # Binary frames are refused like malformed ones (the protocol is JSON text).
    assert codes == ["bad_frame", "unknown_type", "invalid", "empty", "busy", "bad_frame"]
    assert all(f["type"] == "error" for f in frames)
    assert "(invalid field(s): client_id)" in frames[2]["message"]
    # Errors answering a send carry its client_id so the client can mark that message.
    assert frames[3]["client_id"] == "abcdefgh"
    assert frames[3]["message"] == "Write something before sending."
    assert frames[4]["client_id"] == "abcdefgh"
    # The last frame, after all those failures, was still handled.
    assert [type(f).__name__ for f in handled] == ["YouthSendFrame", "YouthSendFrame", "PingFrame"]
    assert "unexpected error while handling a send frame" in caplog.messages


async def test_conversation_errors_name_the_conversation_on_the_staff_socket() -> None:
    async def handle(frame: Any) -> None:
        if isinstance(frame, StaffCloseFrame):
            raise ConversationClosed
        raise NotFound

    frames = await run(
        [text({"type": "close", "conversation_id": CID})], handle, parse=parse_staff_frame
    )
    assert frames == [
        {
            "type": "error",
            "code": "closed",
            "message": "This conversation has ended.",
            "client_id": None,
            "conversation_id": CID,
        }
    ]


async def test_the_loop_ends_when_the_socket_disconnects() -> None:
    calls: list[Any] = []

    async def handle(frame: Any) -> None:
        calls.append(frame)

    frames = await run([text({"type": "ping"})], handle)
    assert frames == []
    assert calls == [PingFrame(type="ping")]


async def test_the_loop_stops_reading_once_the_connection_is_closing() -> None:
    hub = Hub(MemoryBroker(), 64)
    await hub.start()
    websocket = FakeWebSocket(incoming=[text({"type": "ping"}) for _ in range(5)])
    connection = hub.connect(websocket.as_websocket)
    calls: list[Any] = []

    async def handle(frame: Any) -> None:
        calls.append(frame)
        connection.close(1013)

    try:
        await receive_loop(
            websocket.as_websocket,
            connection,
            "en",
            parse_youth_frame,
            handle,
            deadlines=PATIENT,
            identified=lambda: True,
        )
        await eventually(lambda: websocket.closed_with == 1013)
    finally:
        await hub.stop()
    assert len(calls) == 1
    assert len(websocket.incoming) == 4


class SlowWebSocket(FakeWebSocket):
    """Delivers each incoming frame after ``gap`` seconds, then stays silent (but open)."""

    def __init__(self, incoming: list[dict[str, Any]], gap: float) -> None:
        super().__init__(incoming=incoming)
        self.gap = gap

    async def receive(self) -> dict[str, Any]:
        if not self.incoming:
            await asyncio.Event().wait()
        await asyncio.sleep(self.gap)
        return self.incoming.pop(0)


async def silent_run(
    websocket: SlowWebSocket, deadlines: Deadlines, identified: Callable[[], bool]
) -> tuple[list[Any], float]:
    """Run the loop until it closes the socket; the frames handled and the time it took."""
    hub = Hub(MemoryBroker(), 64)
    await hub.start()
    connection = hub.connect(websocket.as_websocket)
    handled: list[Any] = []

    async def handle(frame: Any) -> None:
        handled.append(frame)

    started = time.monotonic()
    try:
        async with asyncio.timeout(5):
            await receive_loop(
                websocket.as_websocket,
                connection,
                "en",
                parse_youth_frame,
                handle,
                deadlines=deadlines,
                identified=identified,
            )
        await connection.drain_and_stop()
    finally:
        await hub.stop()
    return handled, time.monotonic() - started


async def test_pings_do_not_stop_the_hello_timeout() -> None:
    websocket = SlowWebSocket([text({"type": "ping"}) for _ in range(100)], gap=0.01)
    handled, took = await silent_run(websocket, Deadlines(hello=0.2, idle=60), lambda: False)
    assert websocket.closed_with == CLOSE_TIMEOUT == 4408
    assert 0.2 <= took < 1
    assert handled
    assert all(isinstance(f, PingFrame) for f in handled)


async def test_once_identified_any_frame_keeps_the_socket_open_until_it_goes_quiet() -> None:
    # Pings 0.05 s apart for about 0.5 s, with an idle timeout of 0.2 s and a hello timeout
    # that has long passed: the socket stays open while it talks, and closes once it stops.
    websocket = SlowWebSocket([text({"type": "ping"}) for _ in range(10)], gap=0.05)
    handled, took = await silent_run(websocket, Deadlines(hello=0.01, idle=0.2), lambda: True)
    assert len(handled) == 10
    assert websocket.closed_with == CLOSE_TIMEOUT
    assert 0.5 + 0.2 <= took < 2


async def test_malformed_frames_are_not_activity() -> None:
    junk = [{"type": "websocket.receive", "text": "not json"} for _ in range(100)]
    websocket = SlowWebSocket(junk, gap=0.01)
    handled, took = await silent_run(websocket, Deadlines(hello=None, idle=0.2), lambda: True)
    assert websocket.closed_with == CLOSE_TIMEOUT
    assert handled == []
    assert took < 1


def test_error_frame_translates_and_keeps_ids() -> None:
    raw = error_frame(
        "en", "not_found", NotFound.message, client_id="abcdefgh", conversation_id=CID
    )
    assert orjson.loads(raw) == {
        "type": "error",
        "code": "not_found",
        "message": "That conversation could not be found.",
        "client_id": "abcdefgh",
        "conversation_id": CID,
    }


@pytest.fixture(autouse=True)
def _quiet_unexpected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="lykta.realtime.session")
