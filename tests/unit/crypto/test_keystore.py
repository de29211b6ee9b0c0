"""Data keys: made per conversation, cached, destroyed for good, re-wrapped online."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import select

from lykta.conversations import content, service
from lykta.conversations.models import Message
from lykta.conversations.service import Author
from lykta.crypto.envelope import new_key
from lykta.crypto.keyring import KeyConfigError, write_key_file
from lykta.crypto.keystore import DataKey, KeyStore
from lykta.crypto.rotation import rotate
from lykta.runtime import Runtime
from lykta.teams.models import Team

Nodes = Callable[[], Awaitable[KeyStore]]


@pytest.fixture
async def nodes(rt: Runtime) -> AsyncIterator[Callable[[], Awaitable[KeyStore]]]:
    """Other nodes' (or the operator's) views of the same key store, nothing cached."""
    opened: list[KeyStore] = []

    async def fresh_store() -> KeyStore:
        store = KeyStore(rt.settings, rt.db)
        await store.open()
        opened.append(store)
        return store

    yield fresh_store
    for store in opened:
        await store.close()


async def test_a_data_key_opens_on_another_node_and_only_for_its_team(
    rt: Runtime, demo: Team, other: Team, nodes: Nodes
) -> None:
    made = await rt.keys.create(demo.id, "c" * 32)
    store = await nodes()
    found = await store.get(demo.id, "c" * 32)
    assert found is not None
    assert found.decrypt(b"\0" * 12, made.encrypt(b"\0" * 12, b"x", None), None) == b"x"
    assert await store.get(other.id, "c" * 32) is None


async def test_the_key_store_holds_keys_wrapped_never_raw(rt: Runtime, demo: Team) -> None:
    await rt.keys.create(demo.id, "d" * 32)
    async with rt.keys.db.read() as session:
        row = (await session.execute(select(DataKey))).scalar_one()
    assert row.kek_id == rt.keys.keyring.current.id
    assert len(row.wrapped) == 1 + 12 + 32 + 16  # version, nonce, key, tag


async def test_a_destroyed_key_is_gone_for_whoever_reads_after(
    rt: Runtime, demo: Team, nodes: Nodes
) -> None:
    """(A node that had it cached keeps it until evicted; the purge deletes the content
    right after, so nothing is left for that key to open.)"""
    await rt.keys.create(demo.id, "e" * 32)
    assert await rt.keys.get(demo.id, "e" * 32) is not None
    assert await rt.keys.destroy(["e" * 32]) == 1
    assert await rt.keys.get(demo.id, "e" * 32) is None
    assert await (await nodes()).get(demo.id, "e" * 32) is None


async def test_rotation_rewraps_everything_while_messages_keep_flowing(
    rt: Runtime, demo: Team, nodes: Nodes
) -> None:
    conversations = [(await service.do_start_conversation(rt, demo))[0] for _ in range(30)]
    for conversation in conversations:
        await service.do_send_message(rt, demo.id, conversation.id, Author.youth(), "a", "före")
    old = rt.keys.keyring.current.id
    operator = await nodes()  # `lykta rotate-keys` is another process

    async def keep_writing() -> None:
        for i, conversation in enumerate(conversations):
            await service.do_send_message(
                rt, demo.id, conversation.id, Author.youth(), f"b{i}", "under"
            )
            new, _code = await service.do_start_conversation(rt, demo)
            await service.do_send_message(rt, demo.id, new.id, Author.youth(), "c", "ny")
            await asyncio.sleep(0.05)

    report, _ = await asyncio.gather(rotate(operator, grace=1.2), keep_writing())
    assert report.added
    assert report.current != old
    assert report.retired == [old]
    assert report.still_needed == {}
    assert await operator.count_by_master_key() == {report.current: 60}
    # Every message, from before and during the rotation, reads back on a node that
    # starts now with nothing cached.
    later = await nodes()
    async with rt.db.read() as session:
        messages = list((await session.execute(select(Message))).scalars())
    assert len(messages) == 90
    for message in messages:
        aead = await later.get(demo.id, message.conversation_id)
        text = content.open_text(
            aead, message.body_ct, content.message_aad(message.conversation_id, message.seq)
        )
        assert text in ("före", "under", "ny")


async def test_a_key_wrapped_by_a_master_key_no_longer_given_is_a_clear_error(
    rt: Runtime, demo: Team, nodes: Nodes
) -> None:
    await rt.keys.create(demo.id, "f" * 32)
    path = rt.settings.effective_master_key_file
    write_key_file(path, [new_key()])  # the old key lost: an operator's mistake
    store = await nodes()
    with pytest.raises(KeyConfigError, match="not given"):
        await store.get(demo.id, "f" * 32)
