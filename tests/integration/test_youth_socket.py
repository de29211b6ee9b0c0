"""The young person's socket, driven over a real connection to the real app."""

from __future__ import annotations

import re

import orjson
import pytest

from tests.support.client import Peer, new_client_id
from tests.support.server import ServerThread

CODE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$")


async def started(server: ServerThread) -> Peer:
    youth = Peer(server.ws)
    await youth.connect()
    ready = await youth.start("demo")
    assert ready["type"] == "ready"
    return youth


async def test_start_gives_a_resume_code_to_write_down(server: ServerThread) -> None:
    youth = await started(server)
    ready = next(f for f in youth.frames if f["type"] == "ready")
    assert CODE_RE.match(ready["resume_code"]), ready["resume_code"]
    assert ready["state"] == "queued"
    assert ready["worker"] is None
    assert ready["max_length"] == 4000
    await youth.close()


async def test_message_is_echoed_then_acknowledged_with_its_sequence(server: ServerThread) -> None:
    youth = await started(server)
    client_id = await youth.send("  Hej, jag undrar en sak  ")
    ack = await youth.wait_for(lambda f: f["type"] == "ack")
    assert ack == {"type": "ack", "client_id": client_id, "seq": 1, "conversation_id": None}
    assert youth.bodies() == ["Hej, jag undrar en sak"]
    assert youth.seen[youth.conversation_id or ""][1]["sender"] == "youth"
    assert youth.seen[youth.conversation_id or ""][1]["author"] is None
    await youth.close()


async def test_retry_with_same_client_id_is_stored_once_and_acked_the_same(
    server: ServerThread,
) -> None:
    youth = await started(server)
    frame = {"type": "send", "client_id": new_client_id(), "body": "bara en gång"}
    for _ in range(3):
        await youth.send_frame(frame)
    acks = [await youth.wait_for(lambda f: f["type"] == "ack") for _ in range(3)]
    assert {a["seq"] for a in acks} == {1}
    await youth.send("nästa")
    await youth.wait_for(lambda f: f["type"] == "ack" and f["seq"] == 2)
    # Reconnect from scratch: the history holds the retried message exactly once.
    fresh = Peer(server.ws)
    await fresh.connect()
    fresh.team = "demo"
    ready = await fresh.resume(youth.code, last_seq=0)
    assert ready["last_seq"] == 2
    await fresh.pump_until(lambda: fresh.last_seq() == 2)
    assert fresh.bodies() == ["bara en gång", "nästa"]
    await youth.close()
    await fresh.close()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json at all", "bad_frame"),
        ("[1, 2, 3]", "bad_frame"),
        ('{"no_type": true}', "bad_frame"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "send", "client_id": "abcdefgh12", "body": 42}', "invalid"),
        ('{"type": "send", "client_id": "bad id!", "body": "hej"}', "invalid"),
        ('{"type": "send", "client_id": "abcdefgh12"}', "invalid"),
        ('{"type": "send", "client_id": "abcdefgh12", "body": "hej", "extra": 1}', "invalid"),
        ('{"type": "send", "client_id": "abcdefgh13", "body": "   \\n\\t "}', "empty"),
        ('{"type": "sync", "last_seq": -1}', "invalid"),
    ],
)
async def test_bad_frames_get_an_error_and_the_conversation_goes_on(
    server: ServerThread, raw: str, code: str
) -> None:
    youth = await started(server)
    await youth.send("före")
    await youth.wait_for(lambda f: f["type"] == "ack")
    assert youth.ws is not None
    await youth.ws.send(raw)
    error = await youth.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in error["message"]
    await youth.send("efter")
    await youth.wait_for(lambda f: f["type"] == "ack" and f["seq"] == 2)
    assert youth.bodies() == ["före", "efter"]
    await youth.close()


async def test_binary_frame_is_refused_even_if_it_holds_json(server: ServerThread) -> None:
    youth = await started(server)
    assert youth.ws is not None
    await youth.ws.send(orjson.dumps({"type": "send", "client_id": "abcdefgh12", "body": "hej"}))
    error = await youth.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == "bad_frame"
    assert youth.bodies() == []
    await youth.close()


async def test_over_long_message_is_refused_with_its_client_id(server: ServerThread) -> None:
    youth = await started(server)
    client_id = await youth.send("x" * 4001)
    error = await youth.wait_for(lambda f: f["type"] == "error")
    assert (error["code"], error["client_id"]) == ("too_long", client_id)
    assert "4" in error["message"]  # the limit is stated
    exactly = await youth.send("y" * 4000)
    ack = await youth.wait_for(lambda f: f["type"] == "ack")
    assert ack["client_id"] == exactly
    assert youth.bodies() == ["y" * 4000]
    await youth.close()


async def test_send_before_start_is_refused(server: ServerThread) -> None:
    youth = Peer(server.ws)
    await youth.connect()
    await youth.send("hallå?")
    error = await youth.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == "not_started"
    ready = await youth.start("demo")
    assert ready["type"] == "ready"
    await youth.close()


async def test_unknown_team_is_not_found(server: ServerThread) -> None:
    youth = Peer(server.ws)
    await youth.connect()
    error = await youth.start("no-such-team")
    assert error["code"] == "not_found"
    await youth.close()


async def test_resume_code_opens_whole_history_on_another_device(server: ServerThread) -> None:
    youth = await started(server)
    for text in ("ett", "två", "tre"):
        await youth.send(text)
    await youth.pump_until(lambda: not youth.outbox)
    await youth.close()
    assert youth.code is not None
    typed = youth.code.lower().replace("-", " ")  # as someone might copy it off paper
    other_device = Peer(server.ws)
    await other_device.connect()
    other_device.team = "demo"
    ready = await other_device.resume(typed, last_seq=0)
    assert ready["type"] == "ready"
    assert "resume_code" not in ready or ready["resume_code"] is None
    await other_device.pump_until(lambda: other_device.last_seq() == 3)
    assert other_device.bodies() == ["ett", "två", "tre"]
    await other_device.send("fyra")
    await other_device.wait_for(lambda f: f["type"] == "ack" and f["seq"] == 4)
    await other_device.close()


async def test_resume_with_last_seq_sends_only_what_is_new(server: ServerThread) -> None:
    youth = await started(server)
    for text in ("a", "b", "c"):
        await youth.send(text)
    await youth.pump_until(lambda: not youth.outbox)
    await youth.close()
    again = Peer(server.ws)
    await again.connect()
    again.team = "demo"
    await again.resume(youth.code, last_seq=2)
    message = await again.wait_for(lambda f: f["type"] == "message")
    assert (message["seq"], message["body"]) == (3, "c")
    assert again.last_seq() == 3
    await again.close()


@pytest.mark.parametrize(
    "code",
    ["AAAA-AAAA-AAAA-AAAA-AAAA", "too-short", "x" * 65, "ÅÄÖÅ-ÅÄÖÅ-ÅÄÖÅ-ÅÄÖÅ-ÅÄÖÅ", ""],
)
async def test_wrong_code_fails_without_saying_why(server: ServerThread, code: str) -> None:
    youth = Peer(server.ws)
    await youth.connect()
    youth.team = "demo"
    error = await youth.resume(code, last_seq=0)
    assert error["type"] == "error"
    assert error["code"] in ("resume_failed", "invalid")
    # The socket is still usable: a real start works afterwards.
    ready = await youth.start("demo")
    assert ready["type"] == "ready"
    await youth.close()


async def test_code_from_another_team_does_not_open(server: ServerThread) -> None:
    youth = await started(server)
    await youth.close()
    elsewhere = Peer(server.ws)
    await elsewhere.connect()
    elsewhere.team = "other"
    error = await elsewhere.resume(youth.code, last_seq=0)
    assert error["code"] == "resume_failed"
    await elsewhere.close()


async def test_html_in_a_message_is_stored_and_delivered_verbatim(server: ServerThread) -> None:
    youth = await started(server)
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)> ' OR 1=1; --"
    await youth.send(payload)
    await youth.wait_for(lambda f: f["type"] == "ack")
    assert youth.bodies() == [payload]
    await youth.close()


async def test_ping_is_answered(server: ServerThread) -> None:
    youth = Peer(server.ws)
    await youth.connect()
    await youth.send_frame({"type": "ping"})
    assert (await youth.wait_for(lambda f: True))["type"] == "pong"
    await youth.close()


async def test_oversize_frame_closes_with_1009(server: ServerThread) -> None:
    youth = await started(server)
    assert youth.ws is not None
    await youth.ws.send(
        orjson.dumps({"type": "send", "client_id": "abcdefgh12", "body": "x" * 70_000}).decode()
    )
    with pytest.raises(Exception) as info:  # noqa: PT011 - the close is what matters
        await youth.wait_for(lambda f: False, timeout=5)
    assert getattr(info.value, "rcvd", None) is not None
    assert info.value.rcvd.code == 1009  # type: ignore[attr-defined]
