"""The retention purge: shred, count, delete, in batches, one node at a time.

What goes, per team:
- closed conversations, ``retention_days`` after they closed;
- questions nobody answered, ``question_wait_days`` after they were asked;
- conversations where nothing was ever written, a day after they were opened;
- conversations left open with no activity for ``INACTIVE_DAYS``.

For each batch the data keys are destroyed first and committed (from then on the content
cannot be read anywhere, backups included); then, in one transaction, the batch is added
to the daily statistics, its notes, messages and conversations are deleted, and the purge
is written to each team's audit log. If that transaction fails, it rolls back whole: the
rows stay (unreadable) and the next run counts and deletes them, exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.audit import service as audit
from lykta.audit.service import SYSTEM, Action
from lykta.conversations import queue, summaries
from lykta.conversations.models import Conversation, ConversationState, Kind, Message, Note
from lykta.crypto.keystore import SERVICE_PREFIX
from lykta.db import utcnow
from lykta.retention import lease
from lykta.retention.models import DailyStats
from lykta.runtime import Runtime
from lykta.teams.models import Team

log = logging.getLogger(__name__)

LEASE: Final = "retention.purge"
LEASE_SECONDS: Final = 600.0
BATCH: Final = 200
NEVER_USED_DAYS: Final = 1
INACTIVE_DAYS: Final = 90
ORPHAN_KEY_AGE: Final = dt.timedelta(hours=1)
RETENTION_RANGE: Final = (0, 365)
QUESTION_WAIT_RANGE: Final = (1, 90)


class LeaseLost(Exception):
    """Our lease ran out and another node took it: that node carries on."""


@dataclass
class PurgeReport:
    ran: bool = True
    """False when another node held the lease."""
    conversations: int = 0
    orphan_keys: int = 0
    log_emptied: bool = True
    """False when readers kept SQLite's write-ahead log, which may still hold what was
    deleted, from being emptied (``Database.checkpoint``)."""


def _due(team: Team, now: dt.datetime) -> Any:
    closed = ConversationState.CLOSED.value
    return and_(
        Conversation.team_id == team.id,
        or_(
            and_(
                Conversation.state == closed,
                Conversation.closed_at < now - dt.timedelta(days=team.retention_days),
            ),
            and_(
                Conversation.kind == Kind.QUESTION.value,
                Conversation.state != closed,
                Conversation.first_reply_at.is_(None),
                Conversation.created_at < now - dt.timedelta(days=team.question_wait_days),
            ),
            and_(
                Conversation.last_seq == 0,
                Conversation.created_at < now - dt.timedelta(days=NEVER_USED_DAYS),
            ),
            and_(
                Conversation.state != closed,
                Conversation.last_activity_at < now - dt.timedelta(days=INACTIVE_DAYS),
            ),
        ),
    )


async def due_ids(rt: Runtime, team: Team, now: dt.datetime, limit: int = BATCH) -> list[str]:
    async with rt.db.read() as session:
        rows = await session.execute(
            select(Conversation.id)
            .where(_due(team, now))
            .order_by(Conversation.created_at)
            .limit(limit)
        )
    return list(rows.scalars())


def _local_day(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    return moment.astimezone(zone).date()


async def _count_into_stats(
    session: AsyncSession, team: Team, conversations: Sequence[Conversation]
) -> None:
    ids = [c.id for c in conversations]
    counts: dict[tuple[str, str], int] = {
        (conversation_id, sender): n
        for conversation_id, sender, n in (
            await session.execute(
                select(Message.conversation_id, Message.sender, func.count())
                .where(Message.conversation_id.in_(ids), Message.event.is_(None))
                .group_by(Message.conversation_id, Message.sender)
            )
        ).all()
    }
    zone = zoneinfo.ZoneInfo(team.timezone)
    groups: dict[tuple[dt.date, str], list[Conversation]] = defaultdict(list)
    for conversation in conversations:
        if conversation.last_seq == 0:
            continue  # opened and left: nothing happened worth counting
        groups[(_local_day(conversation.created_at, zone), conversation.kind)].append(conversation)
    for (day, kind), group in groups.items():
        stats = (
            await session.execute(
                select(DailyStats).where(
                    DailyStats.team_id == team.id, DailyStats.day == day, DailyStats.kind == kind
                )
            )
        ).scalar_one_or_none()
        if stats is None:
            stats = DailyStats(
                team_id=team.id,
                day=day,
                kind=kind,
                conversations=0,
                answered=0,
                flagged=0,
                youth_messages=0,
                staff_messages=0,
                wait_seconds=0,
                duration_seconds=0,
                topics={},
                outcomes={},
                feedback={},
            )
            session.add(stats)
        topics, outcomes, feedback = (
            Counter(stats.topics),
            Counter(stats.outcomes),
            Counter(stats.feedback),
        )
        for c in group:
            stats.conversations += 1
            stats.flagged += int(c.flagged)
            stats.youth_messages += counts.get((c.id, "youth"), 0)
            stats.staff_messages += counts.get((c.id, "staff"), 0)
            if c.first_reply_at is not None:
                stats.answered += 1
                stats.wait_seconds += max(0, int((c.first_reply_at - c.created_at).total_seconds()))
            if c.closed_at is not None:
                stats.duration_seconds += max(0, int((c.closed_at - c.created_at).total_seconds()))
            topics.update(c.topics or [])
            if c.outcome:
                outcomes[c.outcome] += 1
            if c.feedback:
                feedback[c.feedback] += 1
        stats.topics, stats.outcomes, stats.feedback = dict(topics), dict(outcomes), dict(feedback)


async def _delete_batch(rt: Runtime, team: Team, ids: Sequence[str]) -> int:
    """Count and delete, in one transaction; the keys are already gone."""
    async with rt.db.write() as session:
        conversations = list(
            (
                await session.execute(
                    select(Conversation).where(
                        Conversation.team_id == team.id, Conversation.id.in_(ids)
                    )
                )
            ).scalars()
        )
        if not conversations:
            return 0
        found = [c.id for c in conversations]
        await _count_into_stats(session, team, conversations)
        await session.execute(delete(Note).where(Note.conversation_id.in_(found)))
        await session.execute(delete(Message).where(Message.conversation_id.in_(found)))
        await session.execute(delete(Conversation).where(Conversation.id.in_(found)))
        await audit.record(
            session,
            team.id,
            Action.RETENTION_PURGED,
            SYSTEM,
            details={
                "conversations": len(found),
                "retention_days": team.retention_days,
                "question_wait_days": team.question_wait_days,
            },
        )
    return len(found)


async def purge_team(
    rt: Runtime, team: Team, now: dt.datetime, holder: str, report: PurgeReport
) -> None:
    deleted = 0
    try:
        while ids := await due_ids(rt, team, now):
            await rt.keys.destroy(ids)  # crypto-shredding first, committed on its own
            count = await _delete_batch(rt, team, ids)
            report.conversations += count
            deleted += count
            # Renew between batches; a lease that ran out and went to another node ends ours.
            if not await lease.acquire(rt.db, LEASE, holder, LEASE_SECONDS):
                raise LeaseLost
            await asyncio.sleep(0)  # let live traffic in between batches
    finally:
        if deleted:
            await _tell_the_team(rt, team.id)


async def _tell_the_team(rt: Runtime, team_id: int) -> None:
    """After a purge: workers' lists (on every node) drop what is gone, and young people
    still waiting learn their new place in the queue. The deletion stands either way; a
    list left behind is put right when the worker's app reconnects."""
    try:
        await summaries.publish_list(rt, team_id)
        await queue.publish_queue(rt, team_id)
    except Exception:
        log.warning(
            "could not tell team %d's workers what the purge deleted", team_id, exc_info=True
        )


async def _sweep_orphan_keys(rt: Runtime, now: dt.datetime) -> int:
    """Keys whose conversation was never stored (a failed start) or is gone."""
    destroyed, after = 0, ""
    while page := await rt.keys.ids_page(after, now - ORPHAN_KEY_AGE, 1000):
        after = page[-1]
        async with rt.db.read() as session:
            present = set(
                (
                    await session.execute(select(Conversation.id).where(Conversation.id.in_(page)))
                ).scalars()
            )
        orphans = [i for i in page if i not in present and not i.startswith(SERVICE_PREFIX)]
        destroyed += await rt.keys.destroy(orphans)
    return destroyed


async def purge(rt: Runtime, now: dt.datetime | None = None) -> PurgeReport:
    """Run the purge once, if no other node is running it."""
    now = now or utcnow()
    holder = lease.holder_name()
    if not await lease.acquire(rt.db, LEASE, holder, LEASE_SECONDS):
        return PurgeReport(ran=False)
    report = PurgeReport()
    try:
        async with rt.db.read() as session:
            teams = list((await session.execute(select(Team).order_by(Team.id))).scalars())
        try:
            for team in teams:
                await purge_team(rt, team, now, holder, report)
            report.orphan_keys = await _sweep_orphan_keys(rt, now)
        except LeaseLost:
            log.warning("the purge lease passed to another node; stopping here")
        deleted = bool(report.conversations or report.orphan_keys)
        # Also when an earlier checkpoint (here, or after a redaction) could not empty the
        # log while readers held it: what was deleted then is still in it.
        for db in (rt.keys.db, rt.db):
            if (deleted or db.checkpoint_owed) and not await db.checkpoint():
                report.log_emptied = False
    finally:
        await lease.release(rt.db, LEASE, holder)
    if report.conversations or report.orphan_keys:
        log.info(
            "purge: %d conversations, %d unused keys", report.conversations, report.orphan_keys
        )
    return report


async def run_periodically(rt: Runtime, interval: float) -> None:
    """The in-server job: a random first delay (nodes started together spread out)."""
    await asyncio.sleep(random.uniform(1.0, min(60.0, interval)))  # noqa: S311 - not secret
    while True:
        try:
            await purge(rt)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the retention purge failed; it will run again")
        await asyncio.sleep(interval)
