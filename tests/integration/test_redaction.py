"""A worker removes a message over real sockets: the young person and a colleague see it
removed live, clients that were away learn it when they come back, and a fresh page gets
it removed in the history."""

from __future__ import annotations

import json
from typing import Any

from lykta.config import Settings
from tests.integration.staff_helpers import db_query
from tests.support.client import Peer
from tests.support.server import Seed, ServerThread, login_token


async def worker(server: ServerThread, settings: Settings, seeded: Seed, name: str) -> Peer:
    peer = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers[name]))
    await peer.connect()
    await peer.hello()
    return peer


def removed(peer: Peer, conversation_id: str, seq: int) -> bool:
    message = peer.seen.get(conversation_id, {}).get(seq)
    return message is not None and message["redacted"] and message["body"] is None


def is_redacted(seq: int) -> Any:
    return lambda f: f["type"] == "redacted" and f["seq"] == seq


async def test_both_sides_see_a_removed_message_live_and_after_reconnecting(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    young = Peer(server.ws)
    await young.connect()
    await young.start("demo")
    await young.send("jag heter Kim Lindqvist")
    await young.send("och jag behöver prata")
    await young.wait_for(lambda f: f["type"] == "ack" and f["seq"] == 2)
    cid = young.conversation_id
    assert cid is not None
    anna = await worker(server, settings, seeded, "Anna")
    bo = await worker(server, settings, seeded, "Bo")
    await anna.open_conversation(cid)
    await anna.send("Hej! Skriv inte ditt namn här.", cid)  # seq 3 joined, seq 4 the reply
    await bo.open_conversation(cid)
    await bo.pump_until(lambda: bo.last_seq(cid) == 4)
    await young.pump_until(lambda: young.last_seq() == 4)

    # Live: everyone on the conversation is told, the worker who removed it too.
    await anna.send_frame({"type": "redact", "conversation_id": cid, "seq": 1})
    for peer in (young, bo, anna):
        assert await peer.wait_for(is_redacted(1)) == {
            "type": "redacted",
            "conversation_id": cid,
            "seq": 1,
        }
    assert young.bodies() == [None, "och jag behöver prata", "Hej! Skriv inte ditt namn här."]

    # Away while the worker's own message is removed: told when they come back.
    await young.drop()
    await bo.drop()
    await anna.send_frame({"type": "redact", "conversation_id": cid, "seq": 4})
    await anna.wait_for(is_redacted(4))
    await young.connect()
    assert (await young.resume())["type"] == "ready"
    await young.wait_for(is_redacted(4))
    await bo.reconnect()
    await bo.wait_for(is_redacted(4))
    for peer in (young, bo):
        assert removed(peer, cid, 1)
        assert removed(peer, cid, 4)
        assert not removed(peer, cid, 2)

    # A fresh page (resume from 0) gets both in the history, already removed.
    fresh = Peer(server.ws)
    await fresh.connect()
    assert (await fresh.resume(young.code, last_seq=0))["type"] == "ready"
    await fresh.pump_until(lambda: fresh.last_seq(cid) == 4)
    assert [(s, m["body"], m["redacted"]) for s, m in sorted(fresh.seen[cid].items())] == [
        (1, None, True),
        (2, "och jag behöver prata", False),
        (3, None, False),
        (4, None, True),
    ]
    assert not any(f["type"] == "redacted" for f in fresh.frames)  # nothing it had shown

    # Again: nothing more is sent or logged. A "joined" event cannot be removed.
    await anna.send_frame({"type": "redact", "conversation_id": cid, "seq": 1})
    await anna.send_frame({"type": "redact", "conversation_id": cid, "seq": 3})
    error = await anna.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == "invalid"
    assert error["message"] == "Bara ett meddelande som någon har skrivit kan tas bort."  # sv
    assert [f["seq"] for f in anna.frames if f["type"] == "redacted"] == [1, 4]
    logged = db_query(
        settings,
        "SELECT target_id, details FROM audit_log WHERE action = 'message.redacted' ORDER BY id",
    )
    details = [json.loads(d) if isinstance(d, str) else d for _target, d in logged]
    assert [target for target, _details in logged] == [cid, cid]
    assert details == [{"seq": 1}, {"seq": 4}]  # which message, never its text
    for peer in (young, anna, bo, fresh):
        await peer.close()
