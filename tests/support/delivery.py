"""Helpers for the delivery tests: a youth and a worker in one conversation, streams of
unique texts, pumping until both sides agree, and the checks that nothing acknowledged was
lost, duplicated or reordered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from tests.support.client import Peer

N = 40


async def pair(ws_base: str, token: str) -> tuple[Peer, Peer, str]:
    youth = Peer(ws_base)
    await youth.connect()
    await youth.start("demo")
    await youth.send("youth hej")
    await youth.wait_for(lambda f: f["type"] == "ack")
    assert youth.conversation_id is not None
    staff = Peer(ws_base, staff_cookie=token)
    await staff.connect()
    await staff.hello()
    await staff.open_conversation(youth.conversation_id)
    await staff.pump_until(lambda: staff.last_seq(youth.conversation_id) == 1)
    return youth, staff, youth.conversation_id


async def read_while_possible(peer: Peer, seconds: float) -> None:
    """Apply whatever arrives for a while; a dead connection just ends the reading."""
    with contextlib.suppress(Exception):
        await peer.wait_for(lambda f: False, timeout=seconds)


async def settle(youth: Peer, staff: Peer, conversation_id: str, limit: float = 20) -> None:
    """Pump both sides until both outboxes are empty and both have the whole sequence."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        if not youth.outbox and not staff.outbox:
            top = max(youth.last_seq(), staff.last_seq(conversation_id))
            if youth.last_seq() == top == staff.last_seq(conversation_id):
                # One more round trip each, so that nothing is still in flight.
                for peer in (youth, staff):
                    await peer.send_frame({"type": "ping"})
                    await peer.wait_for(lambda f: f["type"] == "pong")
                if youth.last_seq() == staff.last_seq(conversation_id) == top:
                    return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"did not settle: youth outbox {len(youth.outbox)}, staff outbox "
                f"{len(staff.outbox)}, seqs {youth.last_seq()} / {staff.last_seq(conversation_id)}"
            )
        await asyncio.gather(read_while_possible(youth, 0.1), read_while_possible(staff, 0.1))


def check(
    youth: Peer,
    staff: Peer,
    conversation_id: str,
    acked_before: dict[str, set[str]],
    sent: dict[str, list[str]],
) -> None:
    youth.assert_gap_free()
    staff.assert_gap_free(conversation_id)
    # Both sides hold the very same sequence.
    assert youth.seen[conversation_id] == staff.seen[conversation_id]
    bodies = youth.bodies()
    # Nothing duplicated: every body was unique when sent.
    assert len(bodies) == len(set(bodies))
    for side, texts in sent.items():
        mine = [b for b in bodies if b.startswith(side)]
        # Nothing lost (everything was eventually acknowledged), order kept.
        assert mine == texts, f"{side}: order or content differs"
        # And certainly nothing acknowledged before the failure went missing.
        assert acked_before[side] <= set(mine)


async def stream(
    peer: Peer, prefix: str, count: int, conversation_id: str | None = None
) -> list[str]:
    texts = [f"{prefix} {i:03d}" for i in range(count)]
    for text in texts:
        await peer.send(text, conversation_id)
    return texts


def acked_texts(peer: Peer, conversation_id: str) -> set[str]:
    by_seq = peer.seen.get(conversation_id, {})
    return {by_seq[seq]["body"] for seq in peer.acks.values() if seq in by_seq}


async def burst_then_kill(
    youth: Peer, staff: Peer, conversation_id: str, kill: Callable[[], None]
) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """Both write a burst; once part of it is acknowledged the server is killed hard, both
    connections drop, and the young person writes more while offline. Returns what was
    acknowledged before the kill and everything sent, per side."""
    sent = {"youth": ["youth hej"], "staff": []}
    sent["youth"] += await stream(youth, "youth", N)
    sent["staff"] += await stream(staff, "staff", N, conversation_id)
    await youth.pump_until(lambda: len(youth.acks) >= 10)
    kill()
    await read_while_possible(youth, 0.2)
    await read_while_possible(staff, 0.2)
    acked_before = {
        "youth": acked_texts(youth, conversation_id) | {"youth hej"},
        "staff": acked_texts(staff, conversation_id),
    }
    assert len(acked_before["youth"]) >= 10
    await youth.drop()
    await staff.drop()
    sent["youth"] += await stream(youth, "youth offline", 5)
    return acked_before, sent
