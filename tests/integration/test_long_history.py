"""A long conversation's history reaches the apps in full, with the default settings.

Catching up sends up to 500 messages at once, more than a socket's send queue holds
(256 frames). Before, that closed the socket with 1013 ("fell behind") although it was
reading: the app reconnected, caught up again, and was closed again, so a young person
whose conversation had grown past 256 messages could never come back to it.
"""

from __future__ import annotations

from lykta.config import Settings
from tests.integration.test_slow_reader import acked
from tests.integration.test_socket_timeouts import started_with_message
from tests.support.client import Peer
from tests.support.server import Seed, ServerThread, login_token

MESSAGES = 300
"""More than the send queue's 256 frames, fewer than a history batch's 500."""


async def test_a_young_person_and_a_worker_catch_up_on_a_long_conversation(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    assert settings.send_queue_size < MESSAGES
    youth = await started_with_message(server)
    conversation_id = youth.conversation_id
    assert conversation_id is not None
    for first in range(0, MESSAGES, 100):
        await acked(youth, {await youth.send(f"Meddelande {n}") for n in range(first, first + 100)})
    await youth.close()
    last = MESSAGES + 1  # and the first "Hej"

    # The young person comes back on another phone, from the start.
    back = Peer(server.ws)
    await back.connect()
    assert (await back.resume(youth.code, last_seq=0))["type"] == "ready"
    await back.wait_for(lambda f: f["type"] == "message" and f["seq"] == last)
    assert sorted(back.seen[conversation_id]) == list(range(1, last + 1))

    # A worker opens it.
    anna = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers["Anna"]))
    await anna.connect()
    await anna.hello()
    await anna.open_conversation(conversation_id)
    await anna.wait_for(lambda f: f["type"] == "message" and f["seq"] == last)
    assert sorted(anna.seen[conversation_id]) == list(range(1, last + 1))

    # Both sockets are still open: the worker answers and the young person gets it.
    await anna.send("Jag har läst allt.", conversation_id)
    reply = await back.wait_for(
        lambda f: f["type"] == "message" and f["sender"] == "staff" and f["event"] is None
    )
    assert reply["body"] == "Jag har läst allt."
    await anna.close()
    await back.close()
