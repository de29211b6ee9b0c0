"""The retention purge, in the manner of Zulip's retention tests: day boundaries either
side, per-team settings, a failure in the middle of a batch, and backups made before."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from lykta import sqlite
from lykta.audit import service as audit_service
from lykta.audit.models import AuditEntry
from lykta.audit.service import Action
from lykta.commands import run_purge
from lykta.config import Settings
from lykta.conversations import content, service
from lykta.conversations.models import Conversation, Kind, Message, Note, Sender
from lykta.conversations.service import Author
from lykta.conversations.workflow import do_add_note
from lykta.db import utcnow
from lykta.retention import lease, purge
from lykta.retention.models import DailyStats
from lykta.runtime import Runtime
from lykta.staff.service import StaffIdentity
from lykta.teams.models import Team
from tests.support.server import Seed

DAY = dt.timedelta(days=1)


async def closed_conversation(
    rt: Runtime, team: Team, worker: Any, text: str = "hemligt", **close: Any
) -> Conversation:
    conversation, _code = await service.do_start_conversation(rt, team)
    await service.do_send_message(rt, team.id, conversation.id, Author.youth(), "y1", text)
    staff = Author(Sender.STAFF, worker.user_id, worker.first_name)
    await service.do_send_message(rt, team.id, conversation.id, staff, "s1", "svar")
    await service.do_close(rt, team.id, conversation.id, staff, **close)
    return conversation


async def exists(rt: Runtime, conversation_id: str) -> bool:
    async with rt.db.read() as session:
        return await session.get(Conversation, conversation_id) is not None


async def count(rt: Runtime, model: Any, conversation_id: str) -> int:
    async with rt.db.read() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).where(model.conversation_id == conversation_id)
                )
            ).scalar_one()
        )


async def set_team(rt: Runtime, team: Team, **values: Any) -> None:
    async with rt.db.write() as session:
        await session.execute(update(Team).where(Team.id == team.id).values(**values))


async def readable_texts(settings: Settings, conversation_id: str) -> list[str | None]:
    """What the content database given in ``settings`` yields with the current keys."""
    reader = Runtime.create(settings)
    await reader.keys.open()
    try:
        async with reader.db.read() as session:
            messages = list(
                (
                    await session.execute(
                        select(Message)
                        .where(Message.conversation_id == conversation_id)
                        .order_by(Message.seq)
                    )
                ).scalars()
            )
        aead = await reader.keys.get(messages[0].team_id, conversation_id)
        return [
            content.open_text(aead, m.body_ct, content.message_aad(conversation_id, m.seq))
            for m in messages
            if m.body_ct is not None
        ]
    finally:
        await reader.keys.close()
        await reader.db.dispose()


@pytest.mark.parametrize(("days", "purged"), [(29, False), (31, True)])
async def test_closed_conversations_go_after_the_default_30_days(
    rt: Runtime, demo: Team, seeded: Seed, days: int, purged: bool
) -> None:
    conversation = await closed_conversation(rt, demo, seeded.workers["Bo"])
    report = await purge.purge(rt, utcnow() + days * DAY)
    assert await exists(rt, conversation.id) is not purged
    assert await count(rt, Message, conversation.id) == (0 if purged else 4)
    assert report.conversations == int(purged)
    assert (await rt.keys.get(demo.id, conversation.id) is None) is purged


async def test_each_team_keeps_its_own_period(
    rt: Runtime, demo: Team, other: Team, seeded: Seed
) -> None:
    await set_team(rt, demo, retention_days=7)
    short = await closed_conversation(rt, demo, seeded.workers["Bo"])
    default = await closed_conversation(rt, other, seeded.workers["Dag"])
    await purge.purge(rt, utcnow() + 6 * DAY)
    assert await exists(rt, short.id)
    await purge.purge(rt, utcnow() + 8 * DAY)
    assert not await exists(rt, short.id)
    assert await exists(rt, default.id)  # the other team keeps 30 days
    await purge.purge(rt, utcnow() + 31 * DAY)
    assert not await exists(rt, default.id)


async def test_zero_days_means_at_the_next_run(rt: Runtime, demo: Team, seeded: Seed) -> None:
    await set_team(rt, demo, retention_days=0)
    conversation = await closed_conversation(rt, demo, seeded.workers["Bo"])
    open_one, _code = await service.do_start_conversation(rt, demo)
    await service.do_send_message(rt, demo.id, open_one.id, Author.youth(), "y", "hallå?")
    await purge.purge(rt, utcnow() + dt.timedelta(seconds=1))
    assert not await exists(rt, conversation.id)
    assert await exists(rt, open_one.id)  # still going on: never purged for being short


@pytest.mark.parametrize(("days", "purged"), [(13, False), (15, True)])
async def test_an_unanswered_question_waits_the_teams_days(
    rt: Runtime, demo: Team, days: int, purged: bool
) -> None:
    question, _code = await service.do_start_conversation(rt, demo, kind=Kind.QUESTION.value)
    await service.do_send_message(rt, demo.id, question.id, Author.youth(), "q", "en fråga")
    await purge.purge(rt, utcnow() + days * DAY)
    assert await exists(rt, question.id) is not purged


async def test_an_answered_question_is_kept_for_the_young_person_to_read(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    question, _code = await service.do_start_conversation(rt, demo, kind=Kind.QUESTION.value)
    await service.do_send_message(rt, demo.id, question.id, Author.youth(), "q", "en fråga")
    worker = seeded.workers["Bo"]
    staff = Author(Sender.STAFF, worker.user_id, worker.first_name)
    await service.do_send_message(rt, demo.id, question.id, staff, "a", "ett svar")
    await purge.purge(rt, utcnow() + 20 * DAY)
    assert await exists(rt, question.id)


async def test_chats_nobody_wrote_in_go_after_a_day(rt: Runtime, demo: Team) -> None:
    empty, _code = await service.do_start_conversation(rt, demo)
    await purge.purge(rt, utcnow() + dt.timedelta(hours=23))
    assert await exists(rt, empty.id)
    await purge.purge(rt, utcnow() + dt.timedelta(hours=25))
    assert not await exists(rt, empty.id)
    assert await rt.keys.get(demo.id, empty.id) is None


async def test_statistics_survive_without_content(rt: Runtime, demo: Team, seeded: Seed) -> None:
    worker = seeded.workers["Bo"]
    conversation = await closed_conversation(
        rt, demo, worker, topics=["Family"], outcome="Listened"
    )
    identity = StaffIdentity(
        user_id=worker.user_id,
        team_id=demo.id,
        first_name=worker.first_name,
        team_slug=demo.slug,
        team_name=demo.name,
    )
    await do_add_note(rt, identity, conversation.id, "n1", "en anteckning")
    await closed_conversation(rt, demo, worker, topics=["Family", "School"], outcome="Listened")
    await purge.purge(rt, utcnow() + 31 * DAY)
    async with rt.db.read() as session:
        stats = list((await session.execute(select(DailyStats))).scalars())
        notes = (await session.execute(select(func.count()).select_from(Note))).scalar_one()
        messages = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
    assert (notes, messages) == (0, 0)
    assert len(stats) == 1
    day = stats[0]
    assert (day.team_id, day.kind, day.conversations, day.answered) == (demo.id, "chat", 2, 2)
    assert (day.youth_messages, day.staff_messages) == (2, 2)
    assert day.topics == {"Family": 2, "School": 1}
    assert day.outcomes == {"Listened": 2}
    assert day.wait_seconds >= 0


async def test_each_purge_is_in_the_teams_audit_log(rt: Runtime, demo: Team, seeded: Seed) -> None:
    for _ in range(3):
        await closed_conversation(rt, demo, seeded.workers["Bo"])
    await purge.purge(rt, utcnow() + 31 * DAY)
    async with rt.db.read() as session:
        entries = list(
            (
                await session.execute(
                    select(AuditEntry).where(AuditEntry.action == Action.RETENTION_PURGED)
                )
            ).scalars()
        )
    assert [(e.team_id, e.actor, e.details["conversations"]) for e in entries] == [
        (demo.id, "system", 3)
    ]


async def test_a_failure_mid_batch_rolls_back_and_the_next_run_finishes(
    rt: Runtime, demo: Team, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = await closed_conversation(rt, demo, seeded.workers["Bo"])

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    # After the statistics and the deletes, before the commit.
    monkeypatch.setattr(audit_service, "record", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await purge.purge(rt, utcnow() + 31 * DAY)
    assert await exists(rt, conversation.id)  # rolled back whole...
    assert await count(rt, Message, conversation.id) == 4
    async with rt.db.read() as session:
        assert (await session.execute(select(DailyStats))).first() is None  # ...not counted
    assert await rt.keys.get(demo.id, conversation.id) is None  # ...but already unreadable
    monkeypatch.undo()
    report = await purge.purge(rt, utcnow() + 31 * DAY)
    assert report.conversations == 1
    assert not await exists(rt, conversation.id)
    async with rt.db.read() as session:
        assert (await session.execute(select(DailyStats.conversations))).scalar_one() == 1


@pytest.mark.sqlite_only  # copies the SQLite file; PostgreSQL's key store is apart
async def test_a_copy_of_the_database_from_before_no_longer_opens(
    rt: Runtime, demo: Team, seeded: Seed, settings: Settings, tmp_path: Path
) -> None:
    conversation = await closed_conversation(rt, demo, seeded.workers["Bo"], text="hemlis 4711")
    await rt.db.checkpoint()
    backup = tmp_path / "backup.db"
    shutil.copyfile(settings.data_dir / "lykta.db", backup)
    from_backup = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{backup}"})
    # With today's keys the backup reads: the test would notice if it could not read anyway.
    assert await readable_texts(from_backup, conversation.id) == ["hemlis 4711", "svar"]
    assert b"hemlis 4711" not in backup.read_bytes()  # sealed, never plaintext on disk

    await purge.purge(rt, utcnow() + 31 * DAY)
    # The backup still holds both sealed messages, but its data key is gone for good.
    assert await readable_texts(from_backup, conversation.id) == [None, None]
    for leftover in settings.data_dir.iterdir():
        assert b"hemlis 4711" not in leftover.read_bytes()


@pytest.mark.sqlite_only  # the write-ahead log is SQLite's
async def test_a_log_readers_kept_from_being_emptied_is_emptied_by_the_next_run(
    rt: Runtime, demo: Team, seeded: Seed, settings: Settings
) -> None:
    """A redaction's checkpoint gives up while readers hold the log (rather than stop
    every send); the redacted text is still in the log then, so the purge job's next run
    empties it even when it deletes nothing itself."""
    conversation = await closed_conversation(rt, demo, seeded.workers["Bo"], text="hemlis 4711")
    async with rt.db.read() as session:
        sealed = (
            await session.execute(
                select(Message.body_ct).where(
                    Message.conversation_id == conversation.id, Message.seq == 1
                )
            )
        ).scalar_one()
    assert sealed is not None
    wal = settings.data_dir / "lykta.db-wal"
    assert sealed in wal.read_bytes()
    rt.db.checkpoint_owed = True  # what ``Database.checkpoint`` leaves when it gives up
    report = await purge.purge(rt, utcnow())
    assert report.ran
    assert report.conversations == 0
    assert not rt.db.checkpoint_owed
    assert sealed not in wal.read_bytes()  # the log was emptied (the lease's release is new)


@pytest.mark.sqlite_only  # the write-ahead log is SQLite's
async def test_a_purge_says_when_readers_kept_the_log_from_being_emptied(
    rt: Runtime,
    demo: Team,
    seeded: Seed,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``lykta purge`` (a process of its own: no next run of the server's job) tells the
    operator to run it again."""
    monkeypatch.setattr(sqlite, "CHECKPOINT_PAUSE_S", 0.01)
    await closed_conversation(rt, demo, seeded.workers["Bo"])
    reader = sqlite3.connect(settings.data_dir / "lykta.db", isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM conversations").fetchall()
        report = await purge.purge(rt, utcnow() + 31 * DAY)
        assert report.conversations == 1
        assert not report.log_emptied
        assert rt.db.checkpoint_owed
    finally:
        reader.close()
    report = await purge.purge(rt, utcnow() + 31 * DAY)  # nothing to delete; the log is owed
    assert report.log_emptied
    assert not rt.db.checkpoint_owed

    async def held_back(_rt: Runtime) -> purge.PurgeReport:
        return purge.PurgeReport(conversations=1, log_emptied=False)

    monkeypatch.setattr(purge, "purge", held_back)
    lines = await run_purge(settings)
    assert lines[0] == "purged 1 conversations (0 unused data keys destroyed)"
    assert "run `lykta purge` again" in lines[1]


async def test_one_node_at_a_time(rt: Runtime, demo: Team, seeded: Seed) -> None:
    conversation = await closed_conversation(rt, demo, seeded.workers["Bo"])
    assert await lease.acquire(rt.db, purge.LEASE, "node-2", 60)
    report = await purge.purge(rt, utcnow() + 31 * DAY)
    assert not report.ran
    assert await exists(rt, conversation.id)
    await lease.release(rt.db, purge.LEASE, "node-2")
    assert (await purge.purge(rt, utcnow() + 31 * DAY)).conversations == 1


async def test_a_dead_nodes_lease_runs_out(rt: Runtime) -> None:
    assert await lease.acquire(rt.db, purge.LEASE, "dead-node", 0.5)
    assert not await lease.acquire(rt.db, purge.LEASE, "node-2", 60)
    await asyncio.sleep(0.6)
    assert await lease.acquire(rt.db, purge.LEASE, "node-2", 60)
    assert not await lease.acquire(rt.db, purge.LEASE, "node-3", 60)


async def test_keys_left_by_a_failed_start_are_swept(rt: Runtime, demo: Team) -> None:
    await rt.keys.create(demo.id, "0" * 32)  # no conversation was ever stored for it
    await purge.purge(rt, utcnow() + dt.timedelta(minutes=30))
    assert await rt.keys.get(demo.id, "0" * 32) is not None  # might still be starting
    report = await purge.purge(rt, utcnow() + dt.timedelta(hours=2))
    assert report.orphan_keys == 1
    assert await rt.keys.get(demo.id, "0" * 32) is None


async def test_a_purge_whose_lease_passed_to_another_node_stops(
    rt: Runtime, demo: Team, other: Team, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await closed_conversation(rt, demo, seeded.workers["Bo"])
    second = await closed_conversation(rt, other, seeded.workers["Dag"])
    taken = lease.acquire

    async def renewal_refused(db: Any, name: str, holder: str, seconds: float) -> bool:
        if await exists(rt, first.id):
            return await taken(db, name, holder, seconds)  # the initial acquire
        return False  # after the first batch: another node holds it now

    monkeypatch.setattr(lease, "acquire", renewal_refused)
    report = await purge.purge(rt, utcnow() + 31 * DAY)
    assert report.conversations == 1  # the batch done before is counted
    assert not await exists(rt, first.id)
    assert await exists(rt, second.id)  # left to the node that holds the lease
    assert await rt.keys.get(other.id, second.id) is not None
