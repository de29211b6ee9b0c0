"""A client that stops reading is let go, and holds nobody up meanwhile.

A worker's phone whose app froze with its socket open (or a phone on a train) stops
reading what the server sends. The server never waits for it: once the kernel's buffers
and the connection's own (64 KiB) are full, frames queue for that socket alone, and when
its queue is full the socket is closed with 1013 (docs/protocol.md). Everybody else is
served throughout. The server's pings would drop such a socket too, but only after ping
interval + ping timeout (40 s by default), holding on to what it was sent meanwhile;
they are far away here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from lykta.config import Settings
from lykta.realtime.broker import team_channel
from tests.integration.test_socket_timeouts import runtime_of, started_with_message
from tests.support.client import Peer
from tests.support.rawsocket import RawSocket
from tests.support.server import Seed, ServerThread, login_token, settings_for

QUEUE = 8
"""The sockets' send queue (the smallest allowed; 256 by default)."""

BODY = "Jag vet inte hur jag ska säga det här. " * 100  # 3,900 characters
YOUTHS = 3 * QUEUE
"""Young people writing at once: their list entries outnumber the queue."""

MOST_SENDS = 6000
"""At most 23 MB of frames for the worker, sent in rounds of a hundred until the server
lets go of her socket: far more than the kernel's buffers take (on Linux the sending
side's grows to 4 MB by default; it took about 3 MB here)."""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data").model_copy(
        update={"send_queue_size": QUEUE, "ws_ping_interval": 600.0, "ws_ping_timeout": 600.0}
    )


async def acked(youth: Peer, client_ids: set[str]) -> None:
    """Until the server has acknowledged every one of ``client_ids``."""
    waiting = set(client_ids)

    def is_ack(frame: dict[str, Any]) -> bool:
        return frame["type"] == "ack" and frame["client_id"] in waiting

    while waiting:
        waiting.discard((await youth.wait_for(is_ack))["client_id"])


async def test_a_worker_whose_app_stops_reading_is_closed_1013_and_nobody_waits(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    youth = await started_with_message(server)
    conversation_id = youth.conversation_id
    assert conversation_id is not None
    cookie = await login_token(settings, seeded.workers["Anna"])
    anna = await RawSocket.connect(server.port, "/ws/staff", cookie=cookie, receive_buffer=4096)
    while (await anna.read_text())["type"] != "conversations":
        pass
    await anna.send_json({"type": "open", "conversation_id": conversation_id, "last_seq": 0})
    team = team_channel(seeded.team_ids["demo"])
    hub = runtime_of(server).hub
    [connection] = hub.connections(team)
    # From here on Anna's app reads nothing. The young person goes on writing, and every
    # message is stored and acknowledged as if she did.
    sends = 0
    while not connection.closing and sends < MOST_SENDS:
        await acked(youth, {await youth.send(BODY) for _ in range(100)})
        sends += 100

    # The server let go of her socket: nothing more is queued for it.
    assert connection.closing
    assert connection.pending == 0

    # When her app reads again, it finds what was written before, then the close: 1013,
    # "try again", and the app reconnects and catches up from the database.
    frames = await asyncio.wait_for(anna.read_until_closed(), 30)
    assert anna.close_code == 1013
    delivered = [f for f in frames if f["type"] == "message"]
    assert 0 < len(delivered) < sends
    anna.writer.close()
    await youth.close()


async def test_a_burst_larger_than_the_queue_reaches_a_worker_who_reads(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    """Young people writing at the same moment share one group commit, whose list
    entries (one per message, for every worker of the team) go on each worker's queue at
    once, far over its size: a socket that takes them gets them all, and is not closed
    for it (it was, before)."""
    youths = [await started_with_message(server) for _ in range(YOUTHS)]
    anna = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers["Anna"]))
    await anna.connect()
    await anna.hello()

    async def write(youth: Peer) -> None:
        client_id = await youth.send("Är det någon där?")
        await youth.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == client_id)

    await asyncio.gather(*(write(youth) for youth in youths))
    written = {youth.conversation_id for youth in youths}
    while written:
        entry = await anna.wait_for(lambda f: f["type"] == "conversation")
        if entry["conversation"]["last_seq"] == 2:
            written.discard(entry["conversation"]["id"])
    # Still connected: she answers one of them, and the young person gets it.
    first = youths[0].conversation_id
    assert first is not None
    await anna.open_conversation(first)
    await anna.send("Ja, jag är här.", first)
    await youths[0].wait_for(lambda f: f["type"] == "message" and f["sender"] == "staff")
    await anna.close()
    for youth in youths:
        await youth.close()
