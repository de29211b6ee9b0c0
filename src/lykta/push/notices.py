"""What a push says and to whom.

A notice names its kind, the team and the conversation, never anything the young person
wrote or anything about them. The payload a device decrypts is a title in the language
of its app ("New chat waiting — Fältgruppen"), an empty body, the address that opens the
conversation, and a tag so that a newer notice of the same kind replaces the older one.

Who is told: a new conversation in the queue, every worker of the team on duty; a new
message, the worker who holds the conversation (unless their app is in front on this
node); a risk flag, the holder, or the workers on duty when nobody holds it; a hand-over,
the colleague it was handed to (unless their app is in front, which shows it), and a
conversation handed back to the queue, the workers on duty, as a new one. Of each
worker, every device subscribed in a session that still exists and is younger than the
team's absolute session limit.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import orjson
from sqlalchemy import select

from lykta.db import Database, utcnow
from lykta.i18n import N_, get_translations
from lykta.push.models import PushSubscription
from lykta.staff.models import StaffSession, StaffUser
from lykta.teams.models import Team


class Kind(enum.StrEnum):
    QUEUE = "queue"
    MESSAGE = "message"
    RISK = "risk"
    HANDOVER = "handover"


TITLES: Final = {
    Kind.QUEUE: N_("New chat waiting — %(team)s"),
    Kind.MESSAGE: N_("New message — %(team)s"),
    Kind.RISK: N_("A conversation needs attention — %(team)s"),
    Kind.HANDOVER: N_("A conversation was handed over to you — %(team)s"),
}
TTL: Final = {Kind.QUEUE: 3600, Kind.MESSAGE: 900, Kind.RISK: 3600, Kind.HANDOVER: 3600}
"""Seconds a push service keeps a notice for a device that is offline."""
URGENCY: Final = "high"
"""Every notice is something a worker should see now (RFC 8030 ``Urgency``)."""


@dataclass(frozen=True)
class Notice:
    kind: Kind
    team_id: int
    conversation_id: str
    holder_id: int | None = None
    """The worker holding the conversation when it happened, if anyone."""


@dataclass(frozen=True)
class Target:
    """One device to send one notice to."""

    subscription_id: int
    user_id: int
    endpoint: str
    p256dh: str
    auth: str
    locale: str
    origin: str | None


def payload(kind: Kind, team_name: str, conversation_id: str, locale: str) -> str:
    """The JSON the device's service worker decrypts (docs/architecture.md, *Push*)."""
    title = get_translations(locale).gettext(TITLES[kind]) % {"team": team_name}
    return orjson.dumps(
        {
            "title": title,
            "body": "",
            "url": f"/app#{conversation_id}",
            "tag": f"{kind.value}-{conversation_id}",
            "kind": kind.value,
        }
    ).decode()


async def targets(
    db: Database, notice: Notice, *, in_front: Callable[[int], bool]
) -> tuple[str, list[Target]]:
    """The team's name and the devices to send ``notice`` to: the holder's, or those of
    everyone on duty (active workers of the team); ``in_front(user)`` says whether that
    worker's app is visible on this node (then no "new message" push). One statement finds
    the devices, so a team without any costs one read; the team is read only if some
    device is found."""
    personal = notice.kind in (Kind.MESSAGE, Kind.HANDOVER)
    if personal and (notice.holder_id is None or in_front(notice.holder_id)):
        return "", []
    query = (
        select(PushSubscription, StaffSession.created_at)
        .join(StaffSession, StaffSession.token_hash == PushSubscription.session_hash)
        .join(StaffUser, StaffUser.id == PushSubscription.user_id)
        .where(
            PushSubscription.team_id == notice.team_id,
            StaffSession.pending.is_(False),
            StaffSession.team_id == notice.team_id,
            StaffUser.team_id == notice.team_id,
            StaffUser.active.is_(True),
        )
        .order_by(PushSubscription.id)
    )
    if notice.kind is Kind.QUEUE or notice.holder_id is None:
        query = query.where(StaffUser.on_duty.is_(True))
    else:
        query = query.where(StaffUser.id == notice.holder_id)
    async with db.read() as session:
        rows = (await session.execute(query)).all()
        if not rows:
            return "", []
        team = await session.get(Team, notice.team_id)
    if team is None:
        return "", []
    oldest = utcnow() - dt.timedelta(hours=team.session_absolute_hours)
    found = [
        Target(s.id, s.user_id, s.endpoint, s.p256dh, s.auth, s.locale, s.origin)
        for s, session_started in rows
        if session_started > oldest
    ]
    return team.name, found
