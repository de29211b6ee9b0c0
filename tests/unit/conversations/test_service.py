"""The conversation service on a real, migrated SQLite database."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update

from lykta.audit import service as audit
from lykta.audit.models import AuditEntry
from lykta.audit.service import Action
from lykta.config import MAX_MESSAGE_LENGTH, Settings
from lykta.conversations import content, resume_codes, service, summaries
from lykta.conversations.errors import (
    ConversationClosed,
    EmptyMessage,
    MessageTooLong,
    NotFound,
    NotQueued,
)
from lykta.conversations.models import (
    ALLOWED_TRANSITIONS,
    Conversation,
    ConversationState,
    Message,
    Sender,
)
from lykta.conversations.service import Author, check_body, check_transition
from lykta.db import Database
from lykta.realtime.broker import MemoryBroker, conversation_channel, team_channel
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.teams.models import Team
from lykta.teams.service import get_team_by_slug
from tests.support.server import Seed, Worker
from tests.unit.conftest import reload
from tests.unit.fakes import Commits, FakeWebSocket, eventually

_ids = itertools.count()


def client_id() -> str:
    return f"client-{next(_ids):08d}"


def staff(worker: Worker) -> Author:
    return Author(Sender.STAFF, worker.user_id, worker.first_name)


YOUTH = Author.youth()


async def start(rt: Runtime, team: Team) -> Conversation:
    conversation, _code = await service.do_start_conversation(rt, team)
    return conversation


async def rows(rt: Runtime, conversation_id: str) -> list[Message]:
    """The stored rows, with their sealed bodies opened as the service would."""
    async with rt.db.read() as session:
        result = await session.execute(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
        messages = list(result.scalars())
    for message in messages:
        assert message.legacy_body is None  # never stored in plaintext
        aead = await content.cipher(rt, message.team_id, conversation_id)
        message.body = content.open_text(
            aead, message.body_ct, content.message_aad(conversation_id, message.seq)
        )
    return messages


# ----- check_body ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        ("hej", "hej"),
        ("  hej  ", "hej"),
        ("\n\n hej \t\n", "hej"),
        ("rad ett\nrad två", "rad ett\nrad två"),
        ("kolumn\tkolumn", "kolumn\tkolumn"),
        ("a\x00b\x07c\x1bd\x7fe", "abcde"),
        ("a\r\nb", "a\nb"),
        ("\x00\x01 hej \x02", "hej"),
        ("<b>inte html</b> & 🙂", "<b>inte html</b> & 🙂"),
    ],
)
def test_check_body_trims_and_strips_control_characters(body: str, stored: str) -> None:
    assert check_body(body) == stored


@pytest.mark.parametrize("body", ["", " ", "\n\t \n", "\x00\x01\x1f\x7f", " \x00 \r "])
def test_check_body_refuses_empty(body: str) -> None:
    with pytest.raises(EmptyMessage):
        check_body(body)


def test_check_body_length_limit_counts_after_trimming() -> None:
    assert MAX_MESSAGE_LENGTH == 4000
    assert check_body("å" * 4000) == "å" * 4000
    assert check_body("  \n" + "a" * 4000 + "\n  ") == "a" * 4000
    assert check_body("a" * 4000 + "\x00" * 50) == "a" * 4000
    with pytest.raises(MessageTooLong):
        check_body("a" * 4001)
    with pytest.raises(MessageTooLong):
        check_body("  " + "a" * 4001 + "  ")


def test_check_body_strips_c1_control_characters() -> None:
    assert check_body("a\x80b\x9bc") == "abc"
    with pytest.raises(EmptyMessage):
        check_body("\x9b\x9c")  # would be stored and shown as an empty bubble


# ----- state transitions ---------------------------------------------------------------

ALLOWED = {
    (ConversationState.QUEUED, ConversationState.ACTIVE),
    (ConversationState.QUEUED, ConversationState.CLOSED),
    (ConversationState.ACTIVE, ConversationState.CLOSED),
    (ConversationState.ACTIVE, ConversationState.QUEUED),  # handed back to the queue
}


def test_transition_table() -> None:
    table = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert table == ALLOWED
    assert ALLOWED_TRANSITIONS[ConversationState.CLOSED] == frozenset()
    assert set(ALLOWED_TRANSITIONS) == set(ConversationState)


@pytest.mark.parametrize("current", list(ConversationState))
@pytest.mark.parametrize("target", list(ConversationState))
def test_check_transition(current: ConversationState, target: ConversationState) -> None:
    conversation = Conversation(state=current.value)
    if (current, target) in ALLOWED:
        check_transition(conversation, target)
    elif current is ConversationState.CLOSED:
        with pytest.raises(ConversationClosed):  # closed is terminal
            check_transition(conversation, target)
    else:
        with pytest.raises(NotQueued):
            check_transition(conversation, target)


# ----- starting ------------------------------------------------------------------------


async def test_start_numbers_conversations_per_team_and_returns_a_working_code(
    rt: Runtime, demo: Team, other: Team
) -> None:
    first, code = await service.do_start_conversation(rt, demo)
    second = await start(rt, demo)
    elsewhere = await start(rt, other)
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert first.id != second.id
    assert len(first.id) == 32
    assert int(first.id, 16) >= 0
    assert first.state == ConversationState.QUEUED
    assert first.last_seq == 0
    # Only the hash of the code is stored, and it is the hash of the code handed out.
    stored = await reload(rt, first.id)
    assert stored.resume_hash == resume_codes.hash_code(code)
    assert code.encode() not in stored.resume_hash


# ----- sending -------------------------------------------------------------------------


async def test_send_is_idempotent_per_client_id(rt: Runtime, demo: Team) -> None:
    conversation = await start(rt, demo)
    cid = client_id()
    first = await service.do_send_message(rt, demo.id, conversation.id, YOUTH, cid, " hej ")
    assert first.created
    assert first.message.seq == 1
    assert first.message.body == "hej"
    # A retry (a lost ack, a reconnect) stores nothing and answers the same seq.
    for body in ("hej", "hej igen"):
        again = await service.do_send_message(rt, demo.id, conversation.id, YOUTH, cid, body)
        assert not again.created
        assert again.message.seq == 1
        assert again.message.body == "hej"
        assert again.published == []
    assert [(m.seq, m.client_id, m.body) for m in await rows(rt, conversation.id)] == [
        (1, cid, "hej")
    ]
    assert (await reload(rt, conversation.id)).last_seq == 1


async def test_a_retry_is_not_published_again(rt: Runtime, demo: Team) -> None:
    conversation = await start(rt, demo)
    websocket = FakeWebSocket()
    connection = rt.hub.connect(websocket.as_websocket)
    await rt.hub.subscribe(connection, conversation_channel(conversation.id))
    cid = client_id()
    await service.do_send_message(rt, demo.id, conversation.id, YOUTH, cid, "hej")
    await service.do_send_message(rt, demo.id, conversation.id, YOUTH, cid, "hej")
    await service.do_send_message(rt, demo.id, conversation.id, YOUTH, client_id(), "två")

    def messages() -> list[int]:
        frames = websocket.frames
        return [f["seq"] for f in frames if f["type"] == "message"]

    await eventually(lambda: len(messages()) == 2)
    assert messages() == [1, 2]
    await rt.hub.disconnect(connection)


async def test_sends_arriving_together_are_stored_once_each_even_with_retries_among_them(
    rt: Runtime, demo: Team, caplog: pytest.LogCaptureFixture
) -> None:
    """Group commit: a retry that lands in a group with new messages (a page resending
    after a reconnect while others write) answers with its stored row, and every other
    message of the group is still stored exactly once."""
    a, b = await start(rt, demo), await start(rt, demo)
    first = client_id()
    stored = await service.do_send_message(rt, demo.id, a.id, YOUTH, first, "först")
    ids = [client_id() for _ in range(20)]
    sends = [
        service.do_send_message(rt, demo.id, (a if n % 2 else b).id, YOUTH, cid, f"m{n}")
        for n, cid in enumerate(ids)
    ]
    sends.insert(7, service.do_send_message(rt, demo.id, a.id, YOUTH, first, "först"))
    sends.insert(12, service.do_send_message(rt, demo.id, a.id, YOUTH, ids[3], "m3"))
    with caplog.at_level(logging.INFO, logger="lykta.db"):
        results = await asyncio.gather(*sends)
    assert "writing each alone" in caplog.text  # the duplicate made its group fall back
    retry = results[7]
    assert not retry.created
    assert retry.message.seq == stored.message.seq
    assert retry.message.body == "först"
    in_a = await rows(rt, a.id)
    in_b = await rows(rt, b.id)
    assert [m.seq for m in in_a] == list(range(1, len(in_a) + 1))  # gap-free
    assert [m.seq for m in in_b] == list(range(1, len(in_b) + 1))
    assert sorted(str(m.body) for m in in_a) == sorted(
        ["först"] + [f"m{n}" for n in range(1, 20, 2)]
    )
    assert sorted(str(m.body) for m in in_b) == sorted(f"m{n}" for n in range(0, 20, 2))
    # The duplicate of m3 answered with m3's own row.
    assert {r.message.seq for r in results if r.message.client_id == ids[3]} == {
        next(m.seq for m in in_a if m.client_id == ids[3])
    }


async def test_the_list_entry_names_the_holder_as_of_each_message_even_within_one_group(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    """A group reads its conversations and their holders' names in one statement; a take
    inside the group, and a worker renamed between groups, still show in the entries."""
    anna, bo = staff(seeded.workers["Anna"]), staff(seeded.workers["Bo"])
    fresh, held = await start(rt, demo), await start(rt, demo)
    await service.do_send_message(rt, demo.id, held.id, bo, client_id(), "hej")
    await service.do_send_message(rt, demo.id, fresh.id, YOUTH, client_id(), "först")
    websocket = FakeWebSocket()
    connection = rt.hub.connect(websocket.as_websocket)
    await rt.hub.subscribe(connection, team_channel(demo.id))

    def holders() -> list[tuple[str, int, str | None]]:
        frames = websocket.frames
        return [
            (
                "fresh" if f["conversation"]["id"] == fresh.id else "held",
                f["conversation"]["last_seq"],
                (f["conversation"]["assigned"] or {}).get("first_name"),
            )
            for f in frames
            if f["type"] == "conversation"
        ]

    commits = Commits(rt.db)
    await asyncio.gather(
        service.do_send_message(rt, demo.id, fresh.id, anna, client_id(), "svar"),  # takes it
        service.do_send_message(rt, demo.id, fresh.id, YOUTH, client_id(), "tack"),
        service.do_send_message(rt, demo.id, held.id, YOUTH, client_id(), "hallå"),
    )
    commits.stop()
    assert commits.count == 1  # one group
    async with rt.db.write() as session:
        await session.execute(
            update(StaffUser).where(StaffUser.id == bo.staff_id).values(first_name="Bosse")
        )
    await service.do_send_message(rt, demo.id, held.id, YOUTH, client_id(), "igen")
    await eventually(lambda: len(holders()) == 4)
    # Each entry is the row as committed with its group (seq 2 joined, 3 the reply).
    assert sorted(holders()) == [
        ("fresh", 4, "Anna"),
        ("fresh", 4, "Anna"),
        ("held", 3, "Bo"),
        ("held", 4, "Bosse"),
    ]
    await rt.hub.disconnect(connection)


async def test_workers_taking_chats_together_share_a_commit_and_the_list_names_them(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    """Takes are group-committed with the sends of the same moment; a young person's
    message in the same group as the take already names the new holder."""
    anna, bo = staff(seeded.workers["Anna"]), staff(seeded.workers["Bo"])
    first, second = await start(rt, demo), await start(rt, demo)
    for conversation in (first, second):
        await service.do_send_message(rt, demo.id, conversation.id, YOUTH, client_id(), "hej")
    websocket = FakeWebSocket()
    connection = rt.hub.connect(websocket.as_websocket)
    await rt.hub.subscribe(connection, team_channel(demo.id))
    commits = Commits(rt.db)
    results = await asyncio.gather(
        service.do_take(rt, demo.id, first.id, anna),
        service.do_take(rt, demo.id, second.id, bo),
        service.do_send_message(rt, demo.id, first.id, YOUTH, client_id(), "är du där?"),
        service.do_take(rt, demo.id, first.id, bo),  # too late: Anna has it
        return_exceptions=True,
    )
    commits.stop()
    assert commits.count == 1  # one group
    assert isinstance(results[3], NotQueued)  # refused alone; the others went on
    assert [(m.seq, m.event) for m in await rows(rt, first.id)] == [
        (1, None),
        (2, "joined"),
        (3, None),
    ]
    await eventually(lambda: len(websocket.frames) >= 3)
    entries = [
        (f["conversation"]["id"], f["conversation"]["last_seq"], f["conversation"]["assigned"])
        for f in websocket.frames
        if f["type"] == "conversation"
    ]
    names = {(cid, seq): (assigned or {}).get("first_name") for cid, seq, assigned in entries}
    assert names[(first.id, 3)] == "Anna"  # the young person's message, after the take
    assert names[(second.id, 2)] == "Bo"
    await rt.hub.disconnect(connection)


async def test_the_same_client_id_in_another_conversation_is_another_message(
    rt: Runtime, demo: Team
) -> None:
    a = await start(rt, demo)
    b = await start(rt, demo)
    cid = client_id()
    in_a = await service.do_send_message(rt, demo.id, a.id, YOUTH, cid, "till a")
    in_b = await service.do_send_message(rt, demo.id, b.id, YOUTH, cid, "till b")
    assert in_a.created
    assert in_b.created
    assert [m.body for m in await rows(rt, b.id)] == ["till b"]


async def test_seq_is_gap_free_across_youth_staff_and_events(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    anna = seeded.workers["Anna"]
    conversation = await start(rt, demo)
    cid = conversation.id
    await service.do_send_message(rt, demo.id, cid, YOUTH, client_id(), "hej")
    reply = await service.do_send_message(rt, demo.id, cid, staff(anna), client_id(), "hej!")
    # A reply to a waiting conversation takes it: "joined" comes first, then the text.
    assert [(m.seq, m.event, m.body) for m in reply.published] == [
        (2, "joined", None),
        (3, None, "hej!"),
    ]
    assert reply.message.seq == 3
    await service.do_send_message(rt, demo.id, cid, YOUTH, client_id(), "tack")
    closed = await service.do_close(rt, demo.id, cid, YOUTH)
    assert closed is not None
    assert closed.seq == 5

    stored = await rows(rt, cid)
    assert [m.seq for m in stored] == [1, 2, 3, 4, 5]
    assert [(m.sender, m.event, m.author, m.body) for m in stored] == [
        ("youth", None, None, "hej"),
        (stored[1].sender, "joined", "Anna", None),
        ("staff", None, "Anna", "hej!"),
        ("youth", None, None, "tack"),
        ("system", "closed", None, None),
    ]
    assert stored[2].staff_id == anna.user_id
    conversation = await reload(rt, cid)
    assert conversation.last_seq == 5
    assert conversation.state == ConversationState.CLOSED
    assert conversation.assigned_staff_id == anna.user_id
    assert conversation.closed_at is not None


async def test_a_second_reply_does_not_join_again(rt: Runtime, demo: Team, seeded: Seed) -> None:
    bo = staff(seeded.workers["Bo"])
    conversation = await start(rt, demo)
    await service.do_send_message(rt, demo.id, conversation.id, bo, client_id(), "ett")
    second = await service.do_send_message(rt, demo.id, conversation.id, bo, client_id(), "två")
    assert [m.event for m in second.published] == [None]
    assert [m.event for m in await rows(rt, conversation.id)] == ["joined", None, None]


async def test_send_after_close_is_refused(rt: Runtime, demo: Team, seeded: Seed) -> None:
    conversation = await start(rt, demo)
    cid = client_id()
    await service.do_send_message(rt, demo.id, conversation.id, YOUTH, cid, "hej")
    await service.do_close(rt, demo.id, conversation.id, YOUTH)
    for author in (YOUTH, staff(seeded.workers["Anna"])):
        with pytest.raises(ConversationClosed):
            await service.do_send_message(rt, demo.id, conversation.id, author, client_id(), "x")
    # A late retry of a message stored before the close still gets its ack.
    retry = await service.do_send_message(rt, demo.id, conversation.id, YOUTH, cid, "hej")
    assert not retry.created
    assert retry.message.seq == 1
    assert len(await rows(rt, conversation.id)) == 2


async def test_invalid_bodies_store_nothing(rt: Runtime, demo: Team) -> None:
    conversation = await start(rt, demo)
    with pytest.raises(EmptyMessage):
        await service.do_send_message(rt, demo.id, conversation.id, YOUTH, client_id(), " \n ")
    with pytest.raises(MessageTooLong):
        await service.do_send_message(rt, demo.id, conversation.id, YOUTH, client_id(), "a" * 4001)
    assert await rows(rt, conversation.id) == []
    assert (await reload(rt, conversation.id)).last_seq == 0


# ----- taking and closing --------------------------------------------------------------


async def test_take_assigns_and_adds_joined(rt: Runtime, demo: Team, seeded: Seed) -> None:
    anna = seeded.workers["Anna"]
    conversation = await start(rt, demo)
    joined = await service.do_take(rt, demo.id, conversation.id, staff(anna))
    assert (joined.seq, joined.event, joined.author, joined.body) == (1, "joined", "Anna", None)
    taken = await reload(rt, conversation.id)
    assert taken.state == ConversationState.ACTIVE
    assert taken.assigned_staff_id == anna.user_id
    profile = await service.worker_profile(rt, taken.assigned_staff_id)
    assert profile is not None
    assert (profile.first_name, profile.photo, profile.introduction) == ("Anna", None, None)


async def test_take_on_an_active_conversation_is_not_queued(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    conversation = await start(rt, demo)
    await service.do_take(rt, demo.id, conversation.id, staff(seeded.workers["Anna"]))
    with pytest.raises(NotQueued):
        await service.do_take(rt, demo.id, conversation.id, staff(seeded.workers["Bo"]))
    taken = await reload(rt, conversation.id)
    assert taken.assigned_staff_id == seeded.workers["Anna"].user_id
    assert taken.last_seq == 1


async def test_take_on_a_closed_conversation_is_refused(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    conversation = await start(rt, demo)
    await service.do_close(rt, demo.id, conversation.id, YOUTH)
    with pytest.raises(ConversationClosed):
        await service.do_take(rt, demo.id, conversation.id, staff(seeded.workers["Anna"]))
    assert (await reload(rt, conversation.id)).state == ConversationState.CLOSED


async def test_close_twice_is_a_no_op_the_second_time(rt: Runtime, demo: Team) -> None:
    conversation = await start(rt, demo)
    first = await service.do_close(rt, demo.id, conversation.id, YOUTH)
    assert first is not None
    assert (first.seq, first.sender, first.event, first.body) == (1, "system", "closed", None)
    closed_at = (await reload(rt, conversation.id)).closed_at
    assert await service.do_close(rt, demo.id, conversation.id, YOUTH) is None
    assert len(await rows(rt, conversation.id)) == 1
    assert (await reload(rt, conversation.id)).closed_at == closed_at


async def test_another_teams_conversation_is_not_found(
    rt: Runtime, demo: Team, other: Team, seeded: Seed
) -> None:
    conversation = await start(rt, demo)
    cid = client_id()
    await service.do_send_message(rt, demo.id, conversation.id, YOUTH, cid, "hemligt")
    cecilia = staff(seeded.workers["Cecilia"])
    with pytest.raises(NotFound):
        await service.do_send_message(rt, other.id, conversation.id, cecilia, client_id(), "x")
    with pytest.raises(NotFound):  # even when guessing an existing client_id
        await service.do_send_message(rt, other.id, conversation.id, cecilia, cid, "x")
    with pytest.raises(NotFound):
        await service.do_take(rt, other.id, conversation.id, cecilia)
    with pytest.raises(NotFound):
        await service.do_close(rt, other.id, conversation.id, cecilia)
    assert [b async for b in service.history(rt, other.id, conversation.id, 0)] == []
    unchanged = await reload(rt, conversation.id)
    assert unchanged.state == ConversationState.QUEUED
    assert unchanged.last_seq == 1


async def test_unknown_conversation_is_not_found(rt: Runtime, demo: Team) -> None:
    missing = "0" * 32
    with pytest.raises(NotFound):
        await service.do_send_message(rt, demo.id, missing, YOUTH, client_id(), "x")
    with pytest.raises(NotFound):
        await service.do_close(rt, demo.id, missing, YOUTH)


# ----- history -------------------------------------------------------------------------


async def test_history_returns_everything_after_seq_in_order_across_batches(
    rt: Runtime, demo: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "HISTORY_BATCH", 2)
    conversation = await start(rt, demo)
    for n in range(5):
        await service.do_send_message(rt, demo.id, conversation.id, YOUTH, client_id(), str(n))
    batches = [
        [m.seq for m in batch] async for batch in service.history(rt, demo.id, conversation.id, 0)
    ]
    assert batches == [[1, 2], [3, 4], [5]]
    after = [m.body async for b in service.history(rt, demo.id, conversation.id, 3) for m in b]
    assert after == ["3", "4"]
    assert [b async for b in service.history(rt, demo.id, conversation.id, 5)] == []


# ----- team list -----------------------------------------------------------------------


async def test_team_summaries_order_waiting_then_active_then_closed(
    rt: Runtime, demo: Team, other: Team, seeded: Seed
) -> None:
    anna = staff(seeded.workers["Anna"])
    made = {name: await start(rt, demo) for name in ("q1", "a1", "c1", "a2", "q2", "a3", "c2")}
    await start(rt, other)  # never listed for demo
    await start(rt, demo)  # opened but never written in: nothing for a worker to answer

    async def say(name: str, author: Author) -> None:
        await service.do_send_message(rt, demo.id, made[name].id, author, client_id(), name)

    await say("q1", YOUTH)
    for name in ("a1", "a2", "a3"):
        await say(name, anna)
    # Latest activity: a2, then a1, then a3 (neither creation order nor its reverse).
    await say("a3", YOUTH)
    await say("a1", YOUTH)
    await say("a2", YOUTH)
    await say("q2", YOUTH)  # activity does not reorder the waiting ones
    await service.do_close(rt, demo.id, made["c2"].id, YOUTH)
    await service.do_close(rt, demo.id, made["c1"].id, YOUTH)

    listed = await summaries.team_summaries(rt, demo.id)
    names = {c.id: name for name, c in made.items()}
    assert [names[s.id] for s in listed] == ["q1", "q2", "a2", "a1", "a3", "c1", "c2"]
    by_name = {names[s.id]: s for s in listed}
    assert by_name["a2"].assigned is not None
    assert by_name["a2"].assigned.first_name == "Anna"
    assert by_name["q1"].assigned is None
    assert by_name["q1"].state == "queued"
    assert by_name["c1"].state == "closed"
    assert by_name["a2"].last_seq == 3
    assert by_name["q2"].number == made["q2"].number


# ----- publishing happens after commit -------------------------------------------------


class CommitCheckingBroker(MemoryBroker):
    """Looks at the database through its own engine each time something is published."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.observer = Database(settings)
        self.seen: list[tuple[str, Any, bool]] = []

    async def publish(self, channel: str, payload: bytes) -> None:
        frame = orjson.loads(payload)
        async with self.observer.read() as session:
            if frame["type"] == "message":
                row = (
                    await session.execute(
                        select(Message).where(
                            Message.conversation_id == frame["conversation_id"],
                            Message.seq == frame["seq"],
                        )
                    )
                ).scalar_one_or_none()
                visible = row is not None and (row.body_ct is None) == (frame["body"] is None)
                self.seen.append((channel, frame["seq"], visible))
            elif frame["type"] != "conversation":
                # Queue places and worker profiles carry no stored row: deliver only.
                await super().publish(channel, payload)
                return
            else:
                summary = frame["conversation"]
                stored = await session.get(Conversation, summary["id"])
                visible = (
                    stored is not None
                    and stored.last_seq == summary["last_seq"]
                    and stored.state == summary["state"]
                )
                self.seen.append((channel, summary["state"], visible))
        await super().publish(channel, payload)


@pytest.fixture
async def checked(settings: Settings, seeded: Seed) -> AsyncIterator[tuple[Runtime, Any]]:
    broker = CommitCheckingBroker(settings)
    runtime = Runtime.create(settings, broker)
    await runtime.start()
    try:
        yield runtime, broker
    finally:
        await runtime.stop()
        await broker.observer.dispose()


async def test_frames_are_published_only_after_commit(
    checked: tuple[Runtime, CommitCheckingBroker], seeded: Seed
) -> None:
    rt, broker = checked
    async with rt.db.read() as session:
        team = await get_team_by_slug(session, "demo")
    assert team is not None
    anna = staff(seeded.workers["Anna"])
    watcher = FakeWebSocket()
    connection = rt.hub.connect(watcher.as_websocket)
    await rt.hub.subscribe(connection, team_channel(team.id))

    conversation = await start(rt, team)
    await rt.hub.subscribe(connection, conversation_channel(conversation.id))
    await service.do_send_message(rt, team.id, conversation.id, YOUTH, client_id(), "hej")
    await service.do_send_message(rt, team.id, conversation.id, anna, client_id(), "hej!")
    await service.do_close(rt, team.id, conversation.id, anna)

    conv, team_ch = conversation_channel(conversation.id), team_channel(team.id)
    # Nothing is published for a conversation until its first message (see start).
    assert broker.seen == [
        (conv, 1, True),
        (team_ch, "queued", True),
        (conv, 2, True),
        (conv, 3, True),
        (team_ch, "active", True),
        (conv, 4, True),
        (team_ch, "closed", True),
    ]

    # And they reached the subscribed socket, in that order.
    def kinds_seen() -> list[str]:
        kinds = [f["type"] for f in watcher.frames]
        return [k for k in kinds if k in ("message", "conversation")]

    await eventually(lambda: len(kinds_seen()) == len(broker.seen))
    kinds = kinds_seen()
    assert kinds == [
        "message",
        "conversation",
        "message",
        "message",
        "conversation",
        "message",
        "conversation",
    ]
    await rt.hub.disconnect(connection)


async def test_nothing_is_published_when_the_write_fails(
    checked: tuple[Runtime, CommitCheckingBroker], seeded: Seed
) -> None:
    rt, broker = checked
    async with rt.db.read() as session:
        team = await get_team_by_slug(session, "demo")
    assert team is not None
    conversation = await start(rt, team)
    await service.do_close(rt, team.id, conversation.id, YOUTH)
    before = list(broker.seen)
    with pytest.raises(ConversationClosed):
        await service.do_send_message(rt, team.id, conversation.id, YOUTH, client_id(), "x")
    with pytest.raises(ConversationClosed):
        await service.do_take(rt, team.id, conversation.id, staff(seeded.workers["Anna"]))
    assert await service.do_close(rt, team.id, conversation.id, YOUTH) is None
    assert broker.seen == before


async def test_activity_timestamps_move_forward(rt: Runtime, demo: Team) -> None:
    conversation = await start(rt, demo)
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    async with rt.db.write() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(last_activity_at=long_ago)
        )
    await service.do_send_message(rt, demo.id, conversation.id, YOUTH, client_id(), "hej")
    assert (await reload(rt, conversation.id)).last_activity_at > long_ago
    async with rt.db.read() as session:
        count = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
    assert count == 1


async def test_openings_recorded_together_share_a_commit_and_keep_the_chain(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    conversations = [await start(rt, demo) for _ in range(4)]
    workers = [seeded.workers["Anna"].identity(), seeded.workers["Bo"].identity()]
    commits = Commits(rt.db)
    await asyncio.gather(
        *(service.do_record_opened(rt, workers[n % 2], c.id) for n, c in enumerate(conversations))
    )
    commits.stop()
    assert commits.count == 1
    async with rt.db.read() as session:
        (report,) = await audit.verify(session, [demo.id])
        opened = (
            await session.execute(
                select(AuditEntry.target_id).where(AuditEntry.action == Action.CONVERSATION_OPENED)
            )
        ).scalars()
        assert sorted(str(target) for target in opened) == sorted(c.id for c in conversations)
    assert report.broken_at is None
    assert report.entries >= len(conversations)
