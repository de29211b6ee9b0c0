"""Delivery guarantees from the outside: connections dropped mid-stream, and the server
process killed with SIGKILL and restarted. After reconnecting, no acknowledged message is
lost, none is duplicated, and each sender's order is preserved — for both the young person
and the worker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lykta.config import Settings
from tests.support.client import Peer
from tests.support.delivery import (
    N,
    acked_texts,
    burst_then_kill,
    check,
    pair,
    read_while_possible,
    settle,
    stream,
)
from tests.support.server import Seed, ServerProcess, ServerThread, login_token, seed, settings_for


async def test_dropped_connections_mid_stream_lose_and_duplicate_nothing(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    token = await login_token(settings, seeded.workers["Anna"])
    youth, staff, conversation_id = await pair(server.ws, token)
    sent = {"youth": ["youth hej"], "staff": []}
    # Both write a burst and read a little, then both connections die mid-stream.
    sent["youth"] += await stream(youth, "youth", N)
    sent["staff"] += await stream(staff, "staff", N, conversation_id)
    await read_while_possible(youth, 0.05)
    await read_while_possible(staff, 0.05)
    await youth.drop()
    await staff.drop()
    acked_before = {
        "youth": acked_texts(youth, conversation_id) | {"youth hej"},
        "staff": acked_texts(staff, conversation_id),
    }
    # Write more while offline: it waits in the outbox.
    sent["youth"] += await stream(youth, "youth offline", 5)
    sent["staff"] += await stream(staff, "staff offline", 5, conversation_id)
    await youth.reconnect()
    await staff.reconnect()
    await settle(youth, staff, conversation_id)
    check(youth, staff, conversation_id, acked_before, sent)
    await youth.close()
    await staff.close()


@pytest.fixture
def process_dir(tmp_path: Path) -> tuple[Path, Settings, Seed]:
    data = tmp_path / "data"
    settings = settings_for(data)
    return data, settings, asyncio.run(seed(settings))


@pytest.mark.slow
async def test_server_killed_and_restarted_loses_and_duplicates_nothing(
    process_dir: tuple[Path, Settings, Seed],
) -> None:
    data, settings, seeded = process_dir
    node = ServerProcess(data).start()
    try:
        token = await login_token(settings, seeded.workers["Anna"])
        youth, staff, conversation_id = await pair(node.ws, token)
        acked_before, sent = await burst_then_kill(youth, staff, conversation_id, node.kill)
        node = ServerProcess(data, port=node.port).start()
        await youth.reconnect()
        await staff.reconnect()
        await settle(youth, staff, conversation_id)
        check(youth, staff, conversation_id, acked_before, sent)
        # A brand-new reader sees exactly the same history from the database.
        fresh = Peer(node.ws)
        await fresh.connect()
        fresh.team = "demo"
        await fresh.resume(youth.code, last_seq=0)
        await fresh.pump_until(lambda: fresh.last_seq() == youth.last_seq())
        assert fresh.seen[conversation_id] == youth.seen[conversation_id]
        for peer in (youth, staff, fresh):
            await peer.close()
    finally:
        node.stop()
