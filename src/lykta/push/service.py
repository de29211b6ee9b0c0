"""Push, as the rest of the app sees it. ``check_*`` validates; ``do_*`` writes.

The worker app asks for its team's public key, subscribes each device once the worker
allows notifications, and unsubscribes on request. The conversation service calls
``after_send`` after every committed message: that only queues a notice (see ``sender``),
so the message path never waits for a push service.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from lykta.conversations.models import Conversation, ConversationState, Sender
from lykta.db import utcnow
from lykta.i18n import N_
from lykta.push.endpoints import (
    BAD_SUBSCRIPTION,
    MAX_ENDPOINT,
    PushError,
    Subscription,
    check_endpoint,
    check_subscription,
)
from lykta.push.models import PushSubscription
from lykta.push.notices import Kind, Notice
from lykta.runtime import Runtime
from lykta.staff.service import StaffIdentity

MAX_DEVICES: Final = 10
"""Subscriptions kept per worker; a new one beyond this replaces the oldest."""


class PushOff(PushError):
    """``LYKTA_PUSH=off``: nothing to subscribe to."""


PUSH_OFF = N_("Notifications are switched off on this server.")
OTHER_TEAM = N_(
    "This device's notifications were set up for another team: switch them off and on again."
)


def check_push_on(rt: Runtime) -> None:
    if not rt.push.enabled:
        raise PushOff(PUSH_OFF)


async def public_key(rt: Runtime, caller: StaffIdentity) -> str:
    """The team's VAPID public key (made on first use): the app's ``applicationServerKey``."""
    check_push_on(rt)
    return (await rt.push.keys.get(caller.team_id)).public_key


def check_new_subscription(rt: Runtime, data: Any) -> Subscription:
    check_push_on(rt)
    allow = rt.settings.push_allow_insecure_localhost
    return check_subscription(data, allow_insecure_localhost=allow)


async def do_subscribe(
    rt: Runtime, caller: StaffIdentity, data: Any, *, locale: str, origin: str | None
) -> None:
    """Store this device's subscription for the caller's session. The same endpoint again
    (a reload, or another worker of the team logging in on the device) updates the one row.
    Another team's endpoint is refused: the browser made it with that team's key, so the
    app must subscribe anew (and a worker cannot take another team's device)."""
    subscription = check_new_subscription(rt, data)
    origin = origin if origin and origin.startswith("https://") and len(origin) <= 200 else None
    for attempt in range(2):
        try:
            async with rt.db.write() as session:
                row = (
                    await session.execute(
                        select(PushSubscription).where(
                            PushSubscription.endpoint == subscription.endpoint
                        )
                    )
                ).scalar_one_or_none()
                if row is None:
                    row = PushSubscription(endpoint=subscription.endpoint)
                    session.add(row)
                elif row.team_id != caller.team_id:
                    raise PushError(OTHER_TEAM)
                row.team_id = caller.team_id
                row.user_id = caller.user_id
                row.session_hash = caller.session_hash
                row.p256dh = subscription.p256dh
                row.auth = subscription.auth
                row.locale = locale
                row.origin = origin
                row.created_at = utcnow()
                await session.flush()
                surplus = (
                    await session.execute(
                        select(PushSubscription.id)
                        .where(PushSubscription.user_id == caller.user_id)
                        .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
                        .offset(MAX_DEVICES)
                    )
                ).scalars()
                ids = list(surplus)
                if ids:
                    await session.execute(
                        delete(PushSubscription).where(PushSubscription.id.in_(ids))
                    )
            return
        except IntegrityError:
            if attempt:  # the same device subscribed twice at once: the other one won
                raise


async def do_unsubscribe(rt: Runtime, caller: StaffIdentity, data: Any) -> None:
    """Forget one of the caller's own devices (another worker's endpoint is left alone)."""
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= MAX_ENDPOINT:
        raise PushError(BAD_SUBSCRIPTION)
    try:
        check_endpoint(endpoint, allow_insecure_localhost=rt.settings.push_allow_insecure_localhost)
    except PushError:
        return  # never stored, so nothing to forget (and PostgreSQL refuses a NUL in text)
    async with rt.db.write() as session:
        await session.execute(
            delete(PushSubscription).where(
                PushSubscription.endpoint == endpoint,
                PushSubscription.user_id == caller.user_id,
                PushSubscription.team_id == caller.team_id,
            )
        )


def after_send(
    rt: Runtime, conversation: Conversation, sender: str, entered_queue: bool, flagged_now: bool
) -> None:
    """Called after a message has been committed: queue the notice it calls for, if any.
    Only the young person's messages notify; a risk flag says more than "new message" and
    "new chat waiting", so it replaces them."""
    if sender != Sender.YOUTH:
        return
    active = conversation.state == ConversationState.ACTIVE
    holder = conversation.assigned_staff_id if active else None
    if flagged_now:
        kind = Kind.RISK
    elif entered_queue:
        kind = Kind.QUEUE
    elif holder is not None:
        if holder in rt.push.visible:
            return  # decided now: the app is in front as the message arrives
        kind = Kind.MESSAGE
    else:
        return
    rt.push.enqueue(Notice(kind, conversation.team_id, conversation.id, holder))


def after_transfer(rt: Runtime, conversation: Conversation) -> None:
    """Called after a hand-over has been committed: the colleague it went to is told
    (unless their app is in front, which shows it); one handed back to the queue is a
    conversation waiting, as a new one is."""
    holder = conversation.assigned_staff_id
    if conversation.state == ConversationState.ACTIVE and holder is not None:
        if holder in rt.push.visible:
            return
        rt.push.enqueue(Notice(Kind.HANDOVER, conversation.team_id, conversation.id, holder))
    elif conversation.state == ConversationState.QUEUED:
        rt.push.enqueue(Notice(Kind.QUEUE, conversation.team_id, conversation.id))
