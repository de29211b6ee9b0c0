"""The worker's socket: authentication, team isolation, taking, replying, closing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from lykta.config import Settings
from tests.support.client import Peer
from tests.support.server import Seed, ServerThread, login_token


async def worker(server: ServerThread, settings: Settings, seeded: Seed, name: str) -> Peer:
    token = await login_token(settings, seeded.workers[name])
    peer = Peer(server.ws, staff_cookie=token)
    await peer.connect()
    return peer


async def youth_with_message(server: ServerThread, text: str = "Hej") -> Peer:
    youth = Peer(server.ws)
    await youth.connect()
    await youth.start("demo")
    await youth.send(text)
    await youth.wait_for(lambda f: f["type"] == "ack")
    return youth


async def test_no_session_is_closed_with_4401(server: ServerThread) -> None:
    for cookie in (None, "lykta_staff=not-a-real-session"):
        headers = {"Cookie": cookie} if cookie else {}
        async with websockets.connect(server.ws + "/ws/staff", additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 4401


async def test_cross_site_handshake_is_refused(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    token = await login_token(settings, seeded.workers["Anna"])
    headers = {"Cookie": f"lykta_staff={token}", "Origin": "https://evil.example"}
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(server.ws + "/ws/staff", additional_headers=headers):
            pass
    assert info.value.response.status_code == 403
    # Our own origin is accepted.
    headers["Origin"] = server.http
    async with websockets.connect(server.ws + "/ws/staff", additional_headers=headers) as ws:
        assert '"hello"' in await asyncio.wait_for(ws.recv(), 5)


async def test_hello_and_list_with_waiting_first(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    first = await youth_with_message(server, "först")
    second = await youth_with_message(server, "sen")
    anna = await worker(server, settings, seeded, "Anna")
    hello, listing = await anna.hello()
    assert hello["me"]["first_name"] == "Anna"
    assert hello["team_slug"] == "demo"
    # Anna takes the second: the waiting one must come first in a fresh list.
    await anna.send_frame({"type": "take", "conversation_id": second.conversation_id})
    await anna.wait_for(
        lambda f: f["type"] == "conversation" and f["conversation"]["state"] == "active"
    )
    bo = await worker(server, settings, seeded, "Bo")
    _, listing = await bo.hello()
    states = [(item["id"], item["state"]) for item in listing["items"]]
    assert states == [(first.conversation_id, "queued"), (second.conversation_id, "active")]
    assert listing["items"][1]["assigned"]["first_name"] == "Anna"
    for peer in (first, second, anna, bo):
        await peer.close()


async def test_new_conversation_appears_live_at_its_first_message(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    anna = await worker(server, settings, seeded, "Anna")
    await anna.hello()
    youth = Peer(server.ws)
    await youth.connect()
    await youth.start("demo")
    # Opening the chat (or retrying a lost start) is not yet something to answer.
    silent = Peer(server.ws)
    await silent.connect()
    await silent.start("demo")
    await youth.send("hej")
    await youth.wait_for(lambda f: f["type"] == "ack")
    update = await anna.wait_for(lambda f: f["type"] == "conversation")
    assert update["conversation"]["id"] == youth.conversation_id
    assert update["conversation"]["state"] == "queued"
    assert update["conversation"]["last_seq"] == 1
    bo = await worker(server, settings, seeded, "Bo")
    _, listing = await bo.hello()
    assert [item["id"] for item in listing["items"]] == [youth.conversation_id]
    for peer in (youth, silent, anna, bo):
        await peer.close()


async def test_worker_reply_reaches_youth_live_with_first_name_only(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    youth = await youth_with_message(server, "Är det någon där?")
    anna = await worker(server, settings, seeded, "Anna")
    await anna.hello()
    conversation_id = youth.conversation_id
    assert conversation_id is not None
    await anna.open_conversation(conversation_id)
    await anna.pump_until(lambda: anna.bodies(conversation_id) == ["Är det någon där?"])
    await anna.send("Hej! Jag heter Anna.", conversation_id)
    ack = await anna.wait_for(lambda f: f["type"] == "ack")
    assert ack["conversation_id"] == conversation_id
    # The reply implicitly took the conversation: the youth sees "joined", then the text.
    joined = await youth.wait_for(lambda f: f["type"] == "message" and f["event"] == "joined")
    assert joined["author"] == "Anna"
    reply = await youth.wait_for(
        lambda f: f["type"] == "message" and f["sender"] == "staff" and f["event"] is None
    )
    assert (reply["author"], reply["body"]) == ("Anna", "Hej! Jag heter Anna.")
    assert "email" not in str(reply)
    youth.assert_gap_free()
    await youth.close()
    await anna.close()


async def test_two_workers_take_at_once_exactly_one_wins(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    youth = await youth_with_message(server)
    anna = await worker(server, settings, seeded, "Anna")
    bo = await worker(server, settings, seeded, "Bo")
    await anna.hello()
    await bo.hello()
    take = {"type": "take", "conversation_id": youth.conversation_id}
    await asyncio.gather(anna.send_frame(take), bo.send_frame(take))
    for peer in (anna, bo):
        # Everything answering the take is queued before the pong.
        await peer.send_frame({"type": "ping"})
        await peer.wait_for(lambda f: f["type"] == "pong")
    errors = [f for f in anna.errors + bo.errors if f["code"] == "not_queued"]
    assert len(errors) == 1, anna.errors + bo.errors
    joined = await youth.wait_for(lambda f: f.get("event") == "joined")
    assert joined["author"] in ("Anna", "Bo")
    await asyncio.sleep(0.2)
    assert sum(1 for f in youth.frames if f.get("event") == "joined") == 1
    for peer in (youth, anna, bo):
        await peer.close()


async def test_close_ends_the_chat_for_the_youth(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    youth = await youth_with_message(server)
    anna = await worker(server, settings, seeded, "Anna")
    await anna.hello()
    await anna.send_frame({"type": "close", "conversation_id": youth.conversation_id})
    closed = await youth.wait_for(lambda f: f.get("event") == "closed")
    assert closed["sender"] == "system"
    await youth.send("hallå?")
    error = await youth.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == "closed"
    # Closing twice is harmless.
    await anna.send_frame({"type": "close", "conversation_id": youth.conversation_id})
    await anna.send_frame({"type": "ping"})
    await anna.wait_for(lambda f: f["type"] == "pong")
    assert not [e for e in anna.errors if e["code"] != "closed"]
    # A later resume sees the closed state.
    again = Peer(server.ws)
    await again.connect()
    again.team = "demo"
    ready = await again.resume(youth.code, last_seq=0)
    assert ready["state"] == "closed"
    for peer in (youth, anna, again):
        await peer.close()


async def test_youth_can_end_the_chat(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    youth = await youth_with_message(server)
    anna = await worker(server, settings, seeded, "Anna")
    await anna.hello()
    await youth.send_frame({"type": "close"})
    update = await anna.wait_for(
        lambda f: f["type"] == "conversation" and f["conversation"]["state"] == "closed"
    )
    assert update["conversation"]["id"] == youth.conversation_id
    await youth.close()
    await anna.close()


@pytest.mark.parametrize("frame_type", ["open", "take", "close", "sync", "send"])
async def test_other_teams_conversation_is_indistinguishable_from_missing(
    server: ServerThread, settings: Settings, seeded: Seed, frame_type: str
) -> None:
    youth = await youth_with_message(server, "bara för demo-teamet")
    cecilia = await worker(server, settings, seeded, "Cecilia")
    await cecilia.hello()
    answers = []
    for conversation_id in (youth.conversation_id, uuid.uuid4().hex):
        frame: dict[str, object] = {"type": frame_type, "conversation_id": conversation_id}
        if frame_type in ("open", "sync"):
            frame["last_seq"] = 0
        if frame_type == "send":
            frame.update(client_id=uuid.uuid4().hex, body="intrång")
        await cecilia.send_frame(frame)
        error = await cecilia.wait_for(lambda f: f["type"] == "error")
        answers.append((error["code"], error["message"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == "not_found"
    assert not any(f["type"] == "message" for f in cecilia.frames)
    # And the youth's conversation is untouched.
    await youth.send("fortfarande här")
    await youth.wait_for(lambda f: f["type"] == "ack" and f["seq"] == 2)
    assert youth.bodies() == ["bara för demo-teamet", "fortfarande här"]
    await youth.close()
    await cecilia.close()


async def test_other_teams_workers_get_no_live_updates(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    cecilia = await worker(server, settings, seeded, "Cecilia")
    _, listing = await cecilia.hello()
    youth = await youth_with_message(server)
    await cecilia.send_frame({"type": "ping"})
    await cecilia.wait_for(lambda f: f["type"] == "pong")
    assert listing["items"] == []
    assert not any(f["type"] in ("conversation", "message") for f in cecilia.frames)
    await youth.close()
    await cecilia.close()
