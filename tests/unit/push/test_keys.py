"""Each team's VAPID key: made once, shared by every node, never stored in clear."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from lykta.config import Settings
from lykta.crypto.rotation import rotate
from lykta.db import utcnow
from lykta.push.keys import public_key_text
from lykta.push.models import PushSubscription, VapidKey
from lykta.retention.purge import purge
from lykta.runtime import Runtime
from tests.support.pushservice import verify_jwt
from tests.support.server import Seed
from tests.unit.conftest import running


@pytest.fixture
async def node(settings: Settings, seeded: Seed) -> AsyncIterator[Runtime]:
    """A second node on the same database and key store."""
    async with running(settings) as runtime:
        yield runtime


async def stored(rt: Runtime) -> list[VapidKey]:
    async with rt.db.read() as session:
        return list((await session.execute(select(VapidKey))).scalars())


async def test_a_teams_key_is_made_on_first_use_and_then_kept(rt: Runtime, seeded: Seed) -> None:
    team = seeded.team_ids["demo"]
    assert await stored(rt) == []
    first = await rt.push.keys.get(team)
    again = await rt.push.keys.get(team)
    assert again.public_key == first.public_key
    assert [row.public_key for row in await stored(rt)] == [first.public_key]
    other = await rt.push.keys.get(seeded.team_ids["other"])
    assert other.public_key != first.public_key


async def test_two_nodes_asking_at_once_get_one_key(
    rt: Runtime, node: Runtime, seeded: Seed
) -> None:
    team = seeded.team_ids["demo"]
    mine, theirs = await asyncio.gather(rt.push.keys.get(team), node.push.keys.get(team))
    assert mine.public_key == theirs.public_key
    assert len(await stored(rt)) == 1
    # Both can sign with it: the public key checks either node's token.
    for key in (mine, theirs):
        token = key.signer.sign({"sub": "mailto:t@localhost", "aud": "https://push.example"})
        jwt = token["Authorization"].split("t=")[1].split(",k=")[0]
        claims = verify_jwt(jwt, mine.public_key, "https://push.example")
        assert claims["sub"] == "mailto:t@localhost"


async def test_a_restarted_node_reads_the_same_key(
    rt: Runtime, settings: Settings, seeded: Seed
) -> None:
    team = seeded.team_ids["demo"]
    made = await rt.push.keys.get(team)
    later = Runtime.create(settings)
    await later.start()
    try:
        assert (await later.push.keys.get(team)).public_key == made.public_key
    finally:
        await later.stop()


async def test_the_private_key_is_not_stored_in_clear(rt: Runtime, seeded: Seed) -> None:
    key = await rt.push.keys.get(seeded.team_ids["demo"])
    private = key.signer.private_key
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    scalar = private.private_numbers().private_value.to_bytes(32, "big")
    [row] = await stored(rt)
    assert row.public_key == public_key_text(private)
    assert der not in row.private_sealed
    assert scalar not in row.private_sealed
    await rt.db.checkpoint()
    files = [p for p in rt.settings.data_dir.iterdir() if p.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        assert scalar not in content, path.name
        assert der[-40:] not in content, path.name


async def test_the_key_survives_a_purge_and_a_master_key_rotation(
    rt: Runtime, settings: Settings, seeded: Seed
) -> None:
    """The key store holds the data key that seals it, apart from any conversation: the
    sweep of orphaned conversation keys leaves it, and rotation re-wraps it."""
    team = seeded.team_ids["demo"]
    made = await rt.push.keys.get(team)
    report = await purge(rt, now=utcnow() + dt.timedelta(days=2))
    assert report.ran
    await rotate(rt.keys, grace=0)
    fresh = Runtime.create(settings)
    await fresh.start()
    try:
        assert (await fresh.push.keys.get(team)).public_key == made.public_key
    finally:
        await fresh.stop()


async def test_a_key_that_no_longer_opens_is_replaced_and_its_devices_forgotten(
    rt: Runtime, settings: Settings, seeded: Seed
) -> None:
    team = seeded.team_ids["demo"]
    old = await rt.push.keys.get(team)
    await rt.keys.destroy([f"service:vapid/{team}"])  # as if the key store were lost
    fresh = Runtime.create(settings)
    await fresh.start()
    try:
        new = await fresh.push.keys.get(team)
        assert new.public_key != old.public_key
        assert [row.public_key for row in await stored(fresh)] == [new.public_key]
        async with fresh.db.read() as session:
            count = await session.scalar(select(func.count()).select_from(PushSubscription))
        assert count == 0
    finally:
        await fresh.stop()
