"""The team's queue: who waits, in which order, and for about how long.

Order: conversations flagged at risk first, then the longest wait first. A conversation
enters the queue with its first message. The estimated wait comes from the team's recent
answer times (first reply minus arrival) over the last two weeks, scaled by the place in
the queue and the number of workers on duty. Every change to the queue sends each waiting
young person their place and estimate.
"""

from __future__ import annotations

import datetime as dt
import functools
import statistics

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lykta.conversations.models import Conversation, ConversationState, Kind
from lykta.db import utcnow
from lykta.realtime.broker import conversation_channel
from lykta.realtime.protocol import QueueFrame, encode
from lykta.runtime import Runtime

RECENT = dt.timedelta(days=14)
SAMPLE = 20
MAX_ETA = 24 * 3600


QUEUE_ORDER = (Conversation.flagged.desc(), Conversation.created_at, Conversation.id)


# Built once: every change to a queue reads both.
_WAITING = (
    select(Conversation.id, Conversation.kind)
    .where(
        Conversation.team_id == bindparam("team_id"),
        Conversation.state == ConversationState.QUEUED.value,
        Conversation.last_seq > 0,
    )
    .order_by(*QUEUE_ORDER)
)
_ANSWERED = (
    select(Conversation.created_at, Conversation.first_reply_at)
    .where(
        Conversation.team_id == bindparam("team_id"),
        Conversation.first_reply_at.is_not(None),
        Conversation.first_reply_at > bindparam("since"),
    )
    .order_by(Conversation.first_reply_at.desc())
    .limit(SAMPLE)
)


def waiting(session: Session, team_id: int) -> list[tuple[str, str]]:
    """(id, kind) of the team's waiting conversations, first in line first."""
    result = session.execute(_WAITING, {"team_id": team_id})
    return [(row[0], row[1]) for row in result.all()]


def typical_wait(session: Session, team_id: int) -> float | None:
    """Median seconds from arrival to a worker's first reply, recently; None if unknown."""
    rows = session.execute(_ANSWERED, {"team_id": team_id, "since": utcnow() - RECENT})
    waits = [(replied - arrived).total_seconds() for arrived, replied in rows if replied]
    return statistics.median(waits) if waits else None


def read_queue(session: Session, team_id: int) -> tuple[list[tuple[str, str]], float | None]:
    """The team's waiting conversations and, if any, its typical wait (synchronous:
    ``Database.reading``)."""
    ids = waiting(session, team_id)
    return ids, typical_wait(session, team_id) if ids else None


def estimate(position: int, typical: float | None, on_duty: int, kind: str) -> int | None:
    """Seconds, or None: no history yet, or a question (answered when the team opens)."""
    if typical is None or kind == Kind.QUESTION:
        return None
    return int(min(MAX_ETA, typical * position / max(1, on_duty)))


async def publish_queue(rt: Runtime, team_id: int) -> None:
    """Tell every waiting young person of this team their place and estimated wait."""
    ids, typical = await rt.db.reading(functools.partial(read_queue, team_id=team_id))
    if not ids:
        return
    on_duty = await rt.teams.on_duty(team_id)
    for position, (conversation_id, kind) in enumerate(ids, start=1):
        eta = estimate(position, typical, on_duty, kind)
        frame = QueueFrame(position=position, eta_seconds=eta)
        await rt.hub.publish(conversation_channel(conversation_id), encode(frame))


async def position_of(rt: Runtime, team_id: int, conversation_id: str) -> QueueFrame | None:
    ids, typical = await rt.db.reading(functools.partial(read_queue, team_id=team_id))
    places = {cid: (place, kind) for place, (cid, kind) in enumerate(ids, start=1)}
    if conversation_id not in places:
        return None
    on_duty = await rt.teams.on_duty(team_id)
    position, kind = places[conversation_id]
    return QueueFrame(position=position, eta_seconds=estimate(position, typical, on_duty, kind))
