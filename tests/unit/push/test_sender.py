"""Sending: to whom, what, and what happens when a push service says no or says nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import func, select, update

from lykta.db import utcnow
from lykta.push import service
from lykta.push.models import PushSubscription
from lykta.push.notices import Kind, Notice
from lykta.push.sender import Pusher
from lykta.runtime import Runtime
from lykta.staff.models import StaffSession, StaffUser
from tests.support.pushservice import PushService
from tests.support.server import Seed
from tests.unit.push.conftest import identity

CONVERSATION = "0123456789abcdef0123456789abcdef"


async def device(
    rt: Runtime, push_service: PushService, seeded: Seed, name: str, locale: str = "en"
) -> dict[str, Any]:
    """A device of worker ``name``, subscribed in a session of its own."""
    caller = await identity(rt, seeded.workers[name].user_id)
    key = await service.public_key(rt, caller)
    made = push_service.subscribe(application_server_key=key)
    await service.do_subscribe(rt, caller, made, locale=locale, origin=None)
    return made


async def on_duty(rt: Runtime, *user_ids: int) -> None:
    async with rt.db.write() as session:
        await session.execute(
            update(StaffUser).where(StaffUser.id.in_(user_ids)).values(on_duty=True)
        )


async def subscriptions(rt: Runtime) -> int:
    async with rt.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(PushSubscription)) or 0)


async def send(rt: Runtime, notice: Notice) -> None:
    rt.push.enqueue(notice)
    await rt.push.idle()


async def test_a_new_chat_reaches_every_device_of_the_workers_on_duty(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    bo_phone = await device(rt, push_service, seeded, "Bo", locale="sv")
    bo_tablet = await device(rt, push_service, seeded, "Bo", locale="en")
    anna = await device(rt, push_service, seeded, "Anna")
    dag = await device(rt, push_service, seeded, "Dag")  # on duty, but in the other team
    await on_duty(rt, seeded.workers["Bo"].user_id, seeded.workers["Dag"].user_id)
    await send(rt, Notice(Kind.QUEUE, seeded.team_ids["demo"], CONVERSATION))
    [phone] = push_service.deliveries_to(bo_phone["endpoint"])
    [tablet] = push_service.deliveries_to(bo_tablet["endpoint"])
    assert phone.json() == {
        "title": "Ny chatt väntar — Fältgruppen Demo",
        "body": "",
        "url": f"/app#{CONVERSATION}",
        "tag": f"queue-{CONVERSATION}",
        "kind": "queue",
    }
    assert tablet.json()["title"] == "New chat waiting — Fältgruppen Demo"
    assert push_service.deliveries_to(anna["endpoint"]) == []
    assert push_service.deliveries_to(dag["endpoint"]) == []
    assert phone.headers["urgency"] == "high"
    assert int(phone.headers["ttl"]) > 0


async def test_a_new_message_reaches_the_holder_unless_their_app_is_in_front(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    bo = seeded.workers["Bo"].user_id
    phone = await device(rt, push_service, seeded, "Bo")
    anna = await device(rt, push_service, seeded, "Anna")
    await on_duty(rt, seeded.workers["Anna"].user_id)
    notice = Notice(Kind.MESSAGE, seeded.team_ids["demo"], CONVERSATION, holder_id=bo)
    socket = object()
    rt.push.visible.set(socket, bo, True)
    await send(rt, notice)
    assert push_service.attempts == []
    rt.push.visible.set(socket, bo, False)
    await send(rt, notice)
    [delivery] = push_service.deliveries_to(phone["endpoint"])
    assert delivery.json()["title"] == "New message — Fältgruppen Demo"
    assert delivery.json()["tag"] == f"message-{CONVERSATION}"
    assert push_service.deliveries_to(anna["endpoint"]) == []


async def test_a_risk_flag_reaches_the_holder_or_else_the_workers_on_duty(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    bo, anna = seeded.workers["Bo"].user_id, seeded.workers["Anna"].user_id
    bo_phone = await device(rt, push_service, seeded, "Bo")
    anna_phone = await device(rt, push_service, seeded, "Anna")
    await on_duty(rt, anna)
    team = seeded.team_ids["demo"]
    await send(rt, Notice(Kind.RISK, team, CONVERSATION, holder_id=bo))
    assert len(push_service.deliveries_to(bo_phone["endpoint"])) == 1
    assert push_service.deliveries_to(anna_phone["endpoint"]) == []
    await send(rt, Notice(Kind.RISK, team, CONVERSATION))
    [flagged] = push_service.deliveries_to(anna_phone["endpoint"])
    assert flagged.json()["title"] == "A conversation needs attention — Fältgruppen Demo"
    assert flagged.json()["kind"] == "risk"


@pytest.mark.parametrize(("status", "kept"), [(410, False), (404, False), (500, True)])
async def test_a_device_the_push_service_has_forgotten_is_removed(
    rt: Runtime,
    push_service: PushService,
    seeded: Seed,
    caplog: pytest.LogCaptureFixture,
    status: int,
    kept: bool,
) -> None:
    caplog.set_level(logging.DEBUG, logger="lykta")
    gone = await device(rt, push_service, seeded, "Bo")
    fine = await device(rt, push_service, seeded, "Bo")
    await on_duty(rt, seeded.workers["Bo"].user_id)
    push_service.answer(gone["endpoint"], status)
    await send(rt, Notice(Kind.QUEUE, seeded.team_ids["demo"], CONVERSATION))
    assert gone["endpoint"] in push_service.attempts
    assert len(push_service.deliveries_to(fine["endpoint"])) == 1
    assert await subscriptions(rt) == (2 if kept else 1)
    # The log names the push service, never the device's address or keys.
    assert push_service.origin in caplog.text
    secret = gone["endpoint"].rsplit("/", 1)[1]
    for part in (secret, gone["keys"]["p256dh"], gone["keys"]["auth"], CONVERSATION):
        assert part not in caplog.text


async def test_a_push_service_that_does_not_answer_holds_up_nothing(
    rt: Runtime, push_service: PushService, seeded: Seed, caplog: pytest.LogCaptureFixture
) -> None:
    rt.push.settings = rt.settings.model_copy(update={"push_timeout_seconds": 0.3})
    silent = await device(rt, push_service, seeded, "Bo")
    fine = await device(rt, push_service, seeded, "Bo")
    await on_duty(rt, seeded.workers["Bo"].user_id)
    push_service.hold(silent["endpoint"])
    await send(rt, Notice(Kind.QUEUE, seeded.team_ids["demo"], "a" * 32))
    assert len(push_service.deliveries_to(fine["endpoint"])) == 1
    assert "could not reach" in caplog.text
    assert await subscriptions(rt) == 2  # a silence is not a goodbye
    push_service.release()
    await send(rt, Notice(Kind.QUEUE, seeded.team_ids["demo"], "b" * 32))
    later = f"/app#{'b' * 32}"
    push_service.wait(
        lambda s: any(d.json()["url"] == later for d in s.deliveries_to(silent["endpoint"]))
    )
    assert len(push_service.deliveries_to(fine["endpoint"])) == 2


async def test_devices_of_ended_or_too_old_sessions_are_not_told(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    bo = seeded.workers["Bo"].user_id
    old = await device(rt, push_service, seeded, "Bo")
    await on_duty(rt, bo)
    async with rt.db.write() as session:
        await session.execute(
            update(StaffSession).values(created_at=utcnow() - dt.timedelta(hours=13))
        )
    current = await device(rt, push_service, seeded, "Bo")
    await send(rt, Notice(Kind.QUEUE, seeded.team_ids["demo"], CONVERSATION))
    assert push_service.deliveries_to(old["endpoint"]) == []
    assert len(push_service.deliveries_to(current["endpoint"])) == 1


async def test_the_contact_is_the_setting_or_else_the_apps_https_origin(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    caller = await identity(rt, seeded.workers["Bo"].user_id)
    made = push_service.subscribe()
    await service.do_subscribe(rt, caller, made, locale="en", origin="https://chat.example.se")
    await on_duty(rt, caller.user_id)
    await send(rt, Notice(Kind.QUEUE, caller.team_id, CONVERSATION))
    rt.push.settings = rt.settings.model_copy(update={"push_subject": "mailto:ops@example.se"})
    await send(rt, Notice(Kind.QUEUE, caller.team_id, CONVERSATION))
    first, second = push_service.deliveries_to(made["endpoint"])
    assert first.claims["sub"] == "https://chat.example.se"
    assert second.claims["sub"] == "mailto:ops@example.se"


async def test_a_full_queue_drops_notices_without_waiting(rt: Runtime, seeded: Seed) -> None:
    small = rt.settings.model_copy(update={"push_queue_size": 1})
    pusher = Pusher(small, rt.db, rt.keys)
    await pusher.start()
    try:
        for n in range(3):  # no await in between: the sender has not taken any yet
            pusher.enqueue(Notice(Kind.QUEUE, seeded.team_ids["demo"], f"{CONVERSATION}{n}"))
        assert pusher.dropped == 2
        await asyncio.wait_for(pusher.idle(), timeout=10)
    finally:
        await pusher.stop()


async def test_a_burst_in_one_conversation_queues_one_notice_until_it_is_taken(
    rt: Runtime, seeded: Seed
) -> None:
    small = rt.settings.model_copy(update={"push_queue_size": 2})
    pusher = Pusher(small, rt.db, rt.keys)
    await pusher.start()
    notice = Notice(Kind.MESSAGE, seeded.team_ids["demo"], CONVERSATION, holder_id=1)
    try:
        for _ in range(5):  # five messages before the sender gets to the first
            pusher.enqueue(notice)
        assert pusher.dropped == 0
        pusher.enqueue(Notice(Kind.RISK, seeded.team_ids["demo"], CONVERSATION, holder_id=1))
        assert pusher.dropped == 0  # the burst took one place of two
        await asyncio.wait_for(pusher.idle(), timeout=10)
        pusher.enqueue(notice)
        pusher.enqueue(notice)
        pusher.enqueue(Notice(Kind.MESSAGE, seeded.team_ids["demo"], "another", holder_id=1))
        assert pusher.dropped == 0  # once taken, the same notice may be queued again
        pusher.enqueue(Notice(Kind.QUEUE, seeded.team_ids["demo"], "third"))
        assert pusher.dropped == 1
        await asyncio.wait_for(pusher.idle(), timeout=10)
    finally:
        await pusher.stop()


async def test_switched_off_nothing_is_queued_or_offered(rt: Runtime, seeded: Seed) -> None:
    off_settings = rt.settings.model_copy(update={"push": False})
    off = Pusher(off_settings, rt.db, rt.keys)
    await off.start()
    off.enqueue(Notice(Kind.QUEUE, seeded.team_ids["demo"], CONVERSATION))
    assert off.dropped == 0
    await off.idle()
    await off.stop()
    rt.push.settings = off_settings
    caller = await identity(rt, seeded.workers["Bo"].user_id)
    with pytest.raises(service.PushOff):
        await service.public_key(rt, caller)
