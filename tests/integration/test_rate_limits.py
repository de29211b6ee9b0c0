"""Socket limits fail closed: floods are refused (and never stored), a refused message is
sent again later, starting conversations and guessing resume codes are limited per client
(a keyed hash of the address), and guessing a code stays infeasible within the limits."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed

from lykta.conversations import resume_codes
from lykta.realtime import ratelimit
from tests.support.client import Peer, new_client_id
from tests.support.server import ServerThread


@pytest.fixture(autouse=True)
def production_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other tests raise the limits a hundredfold; these test the real ones."""
    monkeypatch.setenv("LYKTA_TEST_RATE_LIMIT_SCALE", "1")


async def started(server: ServerThread, source: str = "127.0.0.1") -> Peer:
    peer = Peer(server.ws, source=source)
    await peer.connect()
    ready = await peer.start("demo")
    assert ready["type"] == "ready", ready
    return peer


async def test_a_flood_of_messages_is_refused_then_sent_again_later(
    server: ServerThread,
) -> None:
    young = await started(server, "127.0.0.21")
    burst = int(ratelimit.SOCKET_SENDS[1])
    for i in range(burst + 10):
        await young.send(f"meddelande {i:02d}")
    await young.pump_until(lambda: len(young.acks) + len(young.errors) >= burst + 10)
    refused = [e for e in young.errors if e["code"] == "rate_limited"]
    assert len(refused) >= 5
    assert all(e["client_id"] in young.outbox for e in refused)  # kept, to send again
    stored_now = young.last_seq()
    assert stored_now == len(young.acks) < burst + 10
    # A little later the client sends what was refused; nothing is lost or doubled.
    await asyncio.sleep(10 / ratelimit.SOCKET_SENDS[0])
    await young.resend_outbox()
    await young.pump_until(lambda: not young.outbox, timeout=20)
    bodies = young.bodies()
    assert sorted(bodies) == sorted(f"meddelande {i:02d}" for i in range(burst + 10))
    assert len(bodies) == len(set(bodies))
    await young.close()


async def test_a_socket_that_keeps_pushing_is_closed(server: ServerThread) -> None:
    young = await started(server, "127.0.0.22")
    assert young.ws is not None
    frames = int(ratelimit.SOCKET_FRAMES[1]) + ratelimit.STRIKES_BEFORE_CLOSE + 50
    assert await flood_until_closed(young, frames) == 1008


async def flood_until_closed(peer: Peer, frames: int) -> int:
    """Send pings without reading, then read until the server closes; the close code."""
    assert peer.ws is not None
    try:
        for _ in range(frames):
            await peer.ws.send('{"type": "ping"}')
        await peer.wait_for(lambda f: False, timeout=5)
    except ConnectionClosed as closed:
        frame = closed.rcvd
    assert frame is not None, "the server did not close the socket"
    return frame.code


async def test_starting_conversations_is_limited_per_client(server: ServerThread) -> None:
    peers = []
    for _ in range(int(ratelimit.CLIENT_STARTS[1])):
        peers.append(await started(server, "127.0.0.23"))
    flooder = Peer(server.ws, source="127.0.0.23")
    await flooder.connect()
    assert (await flooder.start("demo"))["code"] == "rate_limited"
    # Someone else, at another address, starts as usual.
    peers.append(await started(server, "127.0.0.24"))
    for peer in [*peers, flooder]:
        await peer.close()


async def test_guessing_resume_codes_is_limited_per_client(server: ServerThread) -> None:
    owner = await started(server, "127.0.0.25")
    await owner.send("hej")
    await owner.wait_for(lambda f: f["type"] == "ack")
    guesser = Peer(server.ws, source="127.0.0.26")
    await guesser.connect()
    guesser.team = "demo"
    for _ in range(ratelimit.RESUME_FAILURES_PER_WINDOW):
        assert (await guesser.resume(resume_codes.generate(), 0))["code"] == "resume_failed"
    # From now on even the right code is refused for this client: no oracle left.
    assert (await guesser.resume(owner.code, 0))["code"] == "rate_limited"
    # The owner, elsewhere, is not affected.
    elsewhere = Peer(server.ws, source="127.0.0.27")
    await elsewhere.connect()
    elsewhere.team = "demo"
    assert (await elsewhere.resume(owner.code, 0))["type"] == "ready"
    for peer in (owner, guesser, elsewhere):
        await peer.close()


def test_enumerating_codes_is_infeasible_within_the_limits() -> None:
    """Even an attacker with a million addresses, guessing at the limit all day, against a
    million live conversations, is expected to need far longer than the universe is old."""
    addresses = 10**6
    guesses_per_day = (
        addresses * ratelimit.RESUME_FAILURES_PER_WINDOW * (86_400 / ratelimit.RESUME_WINDOW)
    )
    live_codes = 10**6
    chance_per_guess = live_codes / 2**resume_codes.ENTROPY_BITS
    expected_days = 1 / (guesses_per_day * chance_per_guess)
    assert resume_codes.ENTROPY_BITS >= 80
    universe_age_years = 1.38e10
    assert expected_days / 365 > 10 * universe_age_years


async def test_a_refused_send_is_not_stored(server: ServerThread) -> None:
    young = await started(server, "127.0.0.28")
    assert young.ws is not None
    ids = [new_client_id() for _ in range(int(ratelimit.SOCKET_SENDS[1]) + 5)]
    for client_id in ids:
        await young.send_frame({"type": "send", "client_id": client_id, "body": "x"})
    await young.pump_until(lambda: len(young.acks) + len(young.errors) >= len(ids))
    refused = {e["client_id"] for e in young.errors if e["code"] == "rate_limited"}
    assert refused
    fresh = Peer(server.ws, source="127.0.0.29")
    await fresh.connect()
    fresh.team = "demo"
    await fresh.resume(young.code, last_seq=0)
    await fresh.pump_until(lambda: fresh.last_seq() == len(young.acks))
    stored = {m["client_id"] for m in fresh.seen[fresh.conversation_id or ""].values()}
    assert stored.isdisjoint(refused)
    await young.close()
    await fresh.close()
