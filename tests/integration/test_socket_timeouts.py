"""Silent and dead sockets are let go; waiting ones are not.

A socket that never starts or resumes is closed after the hello timeout (4408), pings or
not; a peer that stops answering the server's protocol pings is dropped within
ping interval + ping timeout; a socket that sends nothing for the idle timeout is closed
(4408). A young person who waits quietly in the queue, with a browser that answers the
pings, is not disturbed. The timeouts are shortened here through the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from lykta.config import Settings
from lykta.realtime.broker import conversation_channel
from lykta.realtime.session import CLOSE_TIMEOUT
from lykta.runtime import Runtime
from tests.integration.staff_helpers import db_query
from tests.support.client import Peer
from tests.support.rawsocket import RawSocket
from tests.support.server import Seed, ServerThread, login_token, settings_for

HELLO = 0.5
PING_INTERVAL = 0.3
PING_TIMEOUT = 0.3
SLACK = 2.0
"""Scheduling allowance on a busy test machine, on top of each timeout."""


@pytest.fixture
def timeouts() -> dict[str, float]:
    """Per test, via ``@pytest.mark.parametrize("timeouts", …)``; an idle timeout far away."""
    return {
        "ws_hello_timeout": HELLO,
        "ws_idle_timeout": 60.0,
        "ws_ping_interval": PING_INTERVAL,
        "ws_ping_timeout": PING_TIMEOUT,
    }


@pytest.fixture
def settings(tmp_path: Path, timeouts: dict[str, float]) -> Settings:
    return settings_for(tmp_path / "data").model_copy(update=timeouts)


async def closed_code(peer: Peer, timeout: float) -> tuple[int | None, float]:
    """Read (answering pings) until the server closes; its close code and when."""
    assert peer.ws is not None
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as info:
        await peer.wait_for(lambda _frame: False, timeout=timeout)
    frame = info.value.rcvd
    return (frame.code if frame else None), time.monotonic() - started


async def worker(server: ServerThread, settings: Settings, seeded: Seed, name: str) -> Peer:
    peer = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers[name]))
    await peer.connect()
    await peer.hello()
    return peer


async def reply_reaches(youth: Peer, anna: Peer, body: str) -> None:
    """Anna opens the young person's conversation and answers; the young person sees it."""
    conversation_id = youth.conversation_id
    assert conversation_id is not None
    await anna.open_conversation(conversation_id)
    await anna.send(body, conversation_id)
    await anna.wait_for(lambda f: f["type"] == "ack")
    reply = await youth.wait_for(
        lambda f: f["type"] == "message" and f["sender"] == "staff" and f["event"] is None
    )
    assert reply["body"] == body


async def started_with_message(server: ServerThread, text: str = "Hej") -> Peer:
    youth = Peer(server.ws)
    await youth.connect()
    assert (await youth.start("demo"))["type"] == "ready"
    await youth.send(text)
    await youth.wait_for(lambda f: f["type"] == "ack")
    return youth


async def test_a_socket_that_never_starts_is_closed_after_the_hello_timeout(
    server: ServerThread,
) -> None:
    silent = Peer(server.ws)
    await silent.connect()
    code, took = await closed_code(silent, HELLO + SLACK)
    assert code == CLOSE_TIMEOUT == 4408
    assert HELLO * 0.9 <= took < HELLO + SLACK


async def test_pings_alone_do_not_keep_an_unstarted_socket_open(server: ServerThread) -> None:
    pinging = Peer(server.ws)
    await pinging.connect()
    started = time.monotonic()

    async def ping_until_closed() -> None:
        while time.monotonic() - started < HELLO + SLACK:
            await pinging.send_frame({"type": "ping"})
            await pinging.wait_for(lambda f: f["type"] == "pong")
            await asyncio.sleep(0.05)

    with pytest.raises(ConnectionClosed) as info:
        await ping_until_closed()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == CLOSE_TIMEOUT
    assert time.monotonic() - started < HELLO + SLACK


async def test_a_young_person_waiting_quietly_is_not_disturbed(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    youth = await started_with_message(server, "Finns det någon där?")
    anna = await worker(server, settings, seeded, "Anna")
    # Several hello timeouts and ping rounds without a frame from the young person; the
    # client library answers the server's pings, as a browser does.
    await asyncio.sleep(max(2 * HELLO, 2 * (PING_INTERVAL + PING_TIMEOUT)))
    await reply_reaches(youth, anna, "Hej, jag heter Anna.")
    await youth.close()
    await anna.close()


async def test_a_worker_socket_has_no_hello_timeout(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    anna = await worker(server, settings, seeded, "Anna")
    await asyncio.sleep(3 * HELLO)
    youth = await started_with_message(server)
    # Still connected and receiving the team's live updates.
    await anna.wait_for(lambda f: f["type"] == "conversation")
    await reply_reaches(youth, anna, "Hej!")
    await youth.close()
    await anna.close()


IDLE = 1.0


@pytest.mark.parametrize(
    "timeouts",
    [
        {
            "ws_hello_timeout": HELLO,
            "ws_idle_timeout": IDLE,
            "ws_ping_interval": PING_INTERVAL,
            "ws_ping_timeout": PING_TIMEOUT,
        }
    ],
)
async def test_any_frame_keeps_a_socket_open_and_silence_closes_it(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    youth = await started_with_message(server)
    anna = await worker(server, settings, seeded, "Anna")
    # Pings (as the pages send every 25 s) for twice the idle timeout keep both open.
    until = time.monotonic() + 2 * IDLE
    while time.monotonic() < until:
        for peer in (youth, anna):
            await peer.send_frame({"type": "ping"})
            await peer.wait_for(lambda f: f["type"] == "pong")
        await asyncio.sleep(IDLE / 4)
    # Then silence, although the protocol pings are still answered: both are closed.
    for peer in (youth, anna):
        code, took = await closed_code(peer, IDLE + SLACK)
        assert code == CLOSE_TIMEOUT
        assert took < IDLE + SLACK
    # Coming back is the usual reconnect: resume, catch up, carry on.
    await youth.reconnect()
    assert youth.bodies() == ["Hej"]
    await youth.close()


# ----- a peer that never answers pings, over a raw TCP connection ---------------------------


def runtime_of(server: ServerThread) -> Runtime:
    """The running app's ``Runtime``, under the ASGI wrappers of ``build_app``."""
    app: Any = server.app
    while not hasattr(app, "state"):
        app = app.app
    rt: Runtime = app.state.runtime
    return rt


async def test_a_peer_that_never_answers_pings_is_dropped(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    # The server pings on a timer from the handshake on, whatever the socket does: the
    # drop comes at least an interval and a timeout after the connection was opened.
    opened = time.monotonic()
    raw = await RawSocket.connect(server.port)
    await raw.send_json({"type": "start", "team": "demo"})
    assert (await raw.read_text())["type"] == "ready"
    await raw.send_json({"type": "send", "client_id": "rawclient1", "body": "Hallå"})
    assert (await raw.read_text())["type"] in ("message", "ack")
    await asyncio.wait_for(raw.read_until_dropped(), PING_INTERVAL + PING_TIMEOUT + SLACK)
    took = time.monotonic() - opened
    raw.writer.close()
    with contextlib.suppress(OSError):
        await raw.writer.wait_closed()
    # The server pinged, got no answer, and gave up with 1011 ("keepalive ping timeout").
    assert 0x9 in raw.opcodes
    assert raw.close_code == 1011
    assert PING_INTERVAL + PING_TIMEOUT <= took < PING_INTERVAL + PING_TIMEOUT + SLACK

    # The server let go of it: the conversation has no socket left.
    [(conversation_id,)] = db_query(settings, "SELECT id FROM conversations")
    channel = conversation_channel(conversation_id)
    async with asyncio.timeout(SLACK):
        while True:
            if not runtime_of(server).hub.connections(channel):
                break
            await asyncio.sleep(0.05)

    # And goes on serving everyone else.
    youth = await started_with_message(server)
    anna = await worker(server, settings, seeded, "Anna")
    await reply_reaches(youth, anna, "Hej!")
    await youth.close()
    await anna.close()
