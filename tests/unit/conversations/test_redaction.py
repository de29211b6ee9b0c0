"""A worker removing a message afterwards, on a real, migrated SQLite database."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lykta.audit import service as audit
from lykta.audit.models import AuditEntry
from lykta.audit.service import Action
from lykta.config import Settings
from lykta.conversations import redaction, service
from lykta.conversations.errors import NotFound
from lykta.conversations.models import Conversation, Message, Sender
from lykta.conversations.redaction import NotRedactable
from lykta.conversations.service import Author
from lykta.realtime.broker import conversation_channel
from lykta.runtime import Runtime
from lykta.staff.service import StaffIdentity
from lykta.teams.models import Team
from tests.support.server import Seed, Worker
from tests.unit.fakes import FakeWebSocket, eventually

_ids = itertools.count()
YOUTH = Author.youth()


def client_id() -> str:
    return f"redact-{next(_ids):08d}"


def identity(worker: Worker, team: Team) -> StaffIdentity:
    return StaffIdentity(
        user_id=worker.user_id,
        team_id=team.id,
        first_name=worker.first_name,
        team_slug=team.slug,
        team_name=team.name,
        email=worker.email,
    )


async def conversation_with(rt: Runtime, team: Team, worker: Worker, *texts: str) -> Conversation:
    """Seq 1: the young person's first text; 2: the worker joined; 3…: the rest, taking
    turns (worker, young person, …)."""
    conversation, _code = await service.do_start_conversation(rt, team)
    await service.do_send_message(rt, team.id, conversation.id, YOUTH, client_id(), texts[0])
    staff = Author(Sender.STAFF, worker.user_id, worker.first_name)
    for i, text in enumerate(texts[1:]):
        author = staff if i % 2 == 0 else YOUTH
        await service.do_send_message(rt, team.id, conversation.id, author, client_id(), text)
    return conversation


async def history(
    rt: Runtime, team: Team, conversation_id: str
) -> list[tuple[int, str | None, bool]]:
    frames = []
    async for batch in service.history(rt, team.id, conversation_id, 0):
        frames += [service.message_frame(m) for m in batch]
    return [(f.seq, f.body, f.redacted) for f in frames]


async def stored(rt: Runtime, conversation_id: str, seq: int) -> Message:
    async with rt.db.read() as session:
        message = (
            await session.execute(
                select(Message).where(
                    Message.conversation_id == conversation_id, Message.seq == seq
                )
            )
        ).scalar_one()
    return message


async def redactions(rt: Runtime) -> list[AuditEntry]:
    async with rt.db.read() as session:
        return list(
            (
                await session.execute(
                    select(AuditEntry).where(AuditEntry.action == Action.MESSAGE_REDACTED)
                )
            ).scalars()
        )


async def test_the_text_is_destroyed_and_history_shows_it_removed(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    anna = seeded.workers["Anna"]
    conversation = await conversation_with(rt, demo, anna, "jag heter Kim", "hej Kim", "tack")
    assert await redaction.do_redact(rt, identity(anna, demo), conversation.id, 1)

    message = await stored(rt, conversation.id, 1)
    assert message.body_ct is None
    assert message.legacy_body is None
    assert message.redacted_at is not None
    assert await history(rt, demo, conversation.id) == [
        (1, None, True),
        (2, None, False),  # the "joined" event
        (3, "hej Kim", False),
        (4, "tack", False),
    ]
    assert (await stored(rt, conversation.id, 3)).body_ct is not None  # the rest untouched

    def seqs(up_to: int) -> Callable[[Session], list[int]]:
        return lambda session: redaction.redacted_seqs(session, demo.id, conversation.id, up_to)

    assert await rt.db.reading(seqs(4)) == [1]
    assert await rt.db.reading(seqs(0)) == []


async def test_a_workers_own_message_in_a_closed_conversation(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    bo = seeded.workers["Bo"]
    conversation = await conversation_with(rt, demo, bo, "hej", "fel chatt, förlåt")
    await service.do_close(rt, demo.id, conversation.id, YOUTH)
    assert await redaction.do_redact(rt, identity(bo, demo), conversation.id, 3)
    assert await history(rt, demo, conversation.id) == [
        (1, "hej", False),
        (2, None, False),
        (3, None, True),
        (4, None, False),  # closed
    ]


async def test_everyone_on_the_conversation_is_told_once(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    anna = seeded.workers["Anna"]
    conversation = await conversation_with(rt, demo, anna, "hemligt", "svar")
    websocket = FakeWebSocket()
    connection = rt.hub.connect(websocket.as_websocket)
    await rt.hub.subscribe(connection, conversation_channel(conversation.id))

    assert await redaction.do_redact(rt, identity(anna, demo), conversation.id, 1)
    assert not await redaction.do_redact(rt, identity(anna, demo), conversation.id, 1)
    await service.do_send_message(rt, demo.id, conversation.id, YOUTH, client_id(), "mer")

    def frames() -> list[dict[str, object]]:
        return websocket.frames

    await eventually(lambda: any(f["type"] == "message" for f in frames()))
    assert [f for f in frames() if f["type"] == "redacted"] == [
        {"type": "redacted", "conversation_id": conversation.id, "seq": 1}
    ]
    await rt.hub.disconnect(connection)


async def test_redacting_twice_is_a_no_op_with_one_audit_entry(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    anna = seeded.workers["Anna"]
    conversation = await conversation_with(rt, demo, anna, "ta bort mig")
    assert await redaction.do_redact(rt, identity(anna, demo), conversation.id, 1)
    first = (await stored(rt, conversation.id, 1)).redacted_at
    assert not await redaction.do_redact(rt, identity(anna, demo), conversation.id, 1)
    assert (await stored(rt, conversation.id, 1)).redacted_at == first

    entries = await redactions(rt)
    assert [(e.team_id, e.actor_id, e.actor, e.target_type, e.target_id) for e in entries] == [
        (demo.id, anna.user_id, anna.email, "conversation", conversation.id)
    ]
    assert entries[0].details == {"seq": 1}  # where, never what
    async with rt.db.read() as session:
        assert [r.broken_at for r in await audit.verify(session, [demo.id])] == [None]


async def test_another_teams_worker_gets_not_found_and_nothing_changes(
    rt: Runtime, demo: Team, other: Team, seeded: Seed
) -> None:
    conversation = await conversation_with(rt, demo, seeded.workers["Anna"], "bara för demo")
    before = (await stored(rt, conversation.id, 1)).body_ct
    for name in ("Cecilia", "Dag"):
        with pytest.raises(NotFound):
            await redaction.do_redact(rt, identity(seeded.workers[name], other), conversation.id, 1)
    assert (await stored(rt, conversation.id, 1)).body_ct == before
    assert (await stored(rt, conversation.id, 1)).redacted_at is None
    assert await redactions(rt) == []
    assert await history(rt, demo, conversation.id) == [(1, "bara för demo", False)]


@pytest.mark.parametrize("seq", [2, 4, 0, 99])
async def test_system_events_and_missing_messages_cannot_be_redacted(
    rt: Runtime, demo: Team, seeded: Seed, seq: int
) -> None:
    anna = seeded.workers["Anna"]
    conversation = await conversation_with(rt, demo, anna, "hej", "hej!")
    await service.do_close(rt, demo.id, conversation.id, YOUTH)  # seq 4: closed
    with pytest.raises(NotRedactable) as info:
        await redaction.do_redact(rt, identity(anna, demo), conversation.id, seq)
    assert info.value.code == "invalid"
    assert info.value.message == "Only a message someone wrote can be removed."
    assert await redactions(rt) == []
    assert [body for _seq, body, _r in await history(rt, demo, conversation.id)] == [
        "hej",
        None,
        "hej!",
        None,
    ]


def files_holding(data_dir: Path, needle: bytes) -> list[str]:
    return sorted(p.name for p in data_dir.rglob("*") if p.is_file() and needle in p.read_bytes())


@pytest.mark.sqlite_only  # looks at the SQLite files in the data directory
async def test_the_sealed_text_is_gone_from_every_file_on_disk(
    rt: Runtime, demo: Team, seeded: Seed, settings: Settings
) -> None:
    anna = seeded.workers["Anna"]
    secret = "Kim Lindqvist, Storgatan 12, 070-123 45 67 qx7"
    conversation = await conversation_with(rt, demo, anna, secret, "jag förstår")
    sealed = (await stored(rt, conversation.id, 1)).body_ct
    assert sealed is not None
    await rt.db.checkpoint()  # before: the sealed bytes are in the database file itself
    assert "lykta.db" in files_holding(settings.data_dir, sealed)
    assert files_holding(settings.data_dir, secret.encode()) == []  # sealed, never plain

    assert await redaction.do_redact(rt, identity(anna, demo), conversation.id, 1)
    assert files_holding(settings.data_dir, sealed) == []
    assert files_holding(settings.data_dir, sealed[-16:]) == []  # not even the GCM tag
    assert files_holding(settings.data_dir, secret.encode()) == []
    # The other message is still there, readable.
    assert (await history(rt, demo, conversation.id))[2] == (3, "jag förstår", False)
