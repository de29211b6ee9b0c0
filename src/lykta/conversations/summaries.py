"""The team's conversation list: what each worker's list shows, and the entry sent to the
team whenever a conversation changes."""

from __future__ import annotations

import enum
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from lykta.conversations.models import Conversation, ConversationState
from lykta.realtime.broker import team_channel
from lykta.realtime.protocol import (
    ConversationFrame,
    ConversationsFrame,
    ConversationSummary,
    StaffMember,
    encode,
)
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser

CLOSED_IN_LIST = 50


class Unread(enum.Enum):
    UNREAD = enum.auto()


UNREAD: Final = Unread.UNREAD
"""``publish_summary``'s default: the holder's first name is not known yet; read it."""


async def publish_summary(
    rt: Runtime, conversation: Conversation, holder_name: str | Unread | None = UNREAD
) -> None:
    """The list entry, built from the row just committed (no read per message). A caller
    that read the holder's first name in the same transaction passes it as ``holder_name``."""
    if conversation.last_seq == 0:
        return  # workers see a conversation from its first message on
    name = (
        await _first_name(rt, conversation.assigned_staff_id)
        if isinstance(holder_name, Unread)
        else holder_name
    )
    frame = ConversationFrame(conversation=_summary(conversation, name))
    await rt.hub.publish(team_channel(conversation.team_id), encode(frame))


async def publish_list(rt: Runtime, team_id: int) -> None:
    """The whole list again, to every worker of the team: after conversations were deleted
    (the purge), which no list entry can say."""
    items = await team_summaries(rt, team_id)
    await rt.hub.publish(team_channel(team_id), encode(ConversationsFrame(items=items)))


async def _first_name(rt: Runtime, staff_id: int | None) -> str | None:
    """Read each time: a renamed worker shows under the new name at once, on every node."""
    if staff_id is None:
        return None
    async with rt.db.read() as session:
        return (
            await session.execute(select(StaffUser.first_name).where(StaffUser.id == staff_id))
        ).scalar_one_or_none()


def holder_name_column() -> ScalarSelect[str]:
    """The holder's first name, to read along with a conversation row."""
    return (
        select(StaffUser.first_name)
        .where(StaffUser.id == Conversation.assigned_staff_id)
        .scalar_subquery()
    )


async def team_summaries(rt: Runtime, team_id: int) -> list[ConversationSummary]:
    async with rt.db.read() as session:
        return await _summaries(session, team_id)


async def _summaries(session: AsyncSession, team_id: int) -> list[ConversationSummary]:
    query = (
        select(Conversation, StaffUser.first_name)
        .outerjoin(StaffUser, StaffUser.id == Conversation.assigned_staff_id)
        .where(Conversation.team_id == team_id, Conversation.last_seq > 0)
    )
    open_rows = (
        await session.execute(
            query.where(Conversation.state != ConversationState.CLOSED.value).order_by(
                Conversation.created_at
            )
        )
    ).all()
    queued = sorted(
        (r for r in open_rows if r[0].state == ConversationState.QUEUED.value),
        key=lambda r: (not r[0].flagged, r[0].created_at),
    )
    active = sorted(
        (r for r in open_rows if r[0].state == ConversationState.ACTIVE.value),
        key=lambda r: r[0].last_activity_at,
        reverse=True,
    )
    closed = (
        await session.execute(
            query.where(Conversation.state == ConversationState.CLOSED.value)
            .order_by(Conversation.closed_at.desc())
            .limit(CLOSED_IN_LIST)
        )
    ).all()
    rows = [*queued, *active, *closed]
    return [_summary(conversation, first_name) for conversation, first_name in rows]


def _summary(conversation: Conversation, first_name: str | None) -> ConversationSummary:
    return ConversationSummary(
        id=conversation.id,
        number=conversation.number,
        state=conversation.state,
        created_at=conversation.created_at,
        last_activity_at=conversation.last_activity_at,
        assigned=(
            StaffMember(id=conversation.assigned_staff_id, first_name=first_name)
            if conversation.assigned_staff_id is not None and first_name is not None
            else None
        ),
        last_seq=conversation.last_seq,
        kind=conversation.kind,
        flagged=conversation.flagged,
        flag_categories=conversation.flag_categories or [],
        staff_read_seq=conversation.staff_read_seq,
        youth_read_seq=conversation.youth_read_seq,
    )
