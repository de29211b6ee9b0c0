"""Subscribing devices, and which committed messages ask for a push."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from lykta.conversations import service as conversations
from lykta.conversations.models import Sender
from lykta.conversations.service import Author
from lykta.push import service
from lykta.push.endpoints import PushError
from lykta.push.models import PushSubscription
from lykta.push.notices import Kind, Notice
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.staff.service import do_create_session, do_end_session, resolve_session
from lykta.teams.models import Team
from tests.support.pushservice import PushService
from tests.support.server import Seed
from tests.unit.push.conftest import identity


async def rows(rt: Runtime) -> list[PushSubscription]:
    async with rt.db.read() as session:
        return list(
            (await session.execute(select(PushSubscription).order_by(PushSubscription.id)))
            .scalars()
            .all()
        )


async def test_the_same_device_again_updates_its_one_row(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    anna = await identity(rt, seeded.workers["Anna"].user_id)
    bo = await identity(rt, seeded.workers["Bo"].user_id)
    made = push_service.subscribe()
    await service.do_subscribe(rt, anna, made, locale="sv", origin=None)
    await service.do_subscribe(rt, anna, made, locale="sv", origin=None)
    [row] = await rows(rt)
    assert (row.user_id, row.session_hash) == (anna.user_id, anna.session_hash)
    # Bo logs in on the same phone: the device is his now.
    await service.do_subscribe(rt, bo, made, locale="en", origin="https://chat.example.se")
    [row] = await rows(rt)
    assert (row.user_id, row.session_hash, row.locale) == (bo.user_id, bo.session_hash, "en")
    assert row.origin == "https://chat.example.se"
    # A worker of another team cannot take it: the browser made it with this team's key.
    dag = await identity(rt, seeded.workers["Dag"].user_id)
    with pytest.raises(PushError) as refused:
        await service.do_subscribe(rt, dag, made, locale="sv", origin=None)
    assert refused.value.message == service.OTHER_TEAM
    [row] = await rows(rt)
    assert row.user_id == bo.user_id


async def test_a_worker_keeps_ten_devices_the_oldest_goes(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    bo = await identity(rt, seeded.workers["Bo"].user_id)
    made = [push_service.subscribe() for _ in range(service.MAX_DEVICES + 1)]
    for subscription in made:
        await service.do_subscribe(rt, bo, subscription, locale="sv", origin=None)
    kept = {row.endpoint for row in await rows(rt)}
    assert kept == {s["endpoint"] for s in made[1:]}


async def test_refused_input_stores_nothing(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    bo = await identity(rt, seeded.workers["Bo"].user_id)
    made = push_service.subscribe()
    with pytest.raises(PushError):
        await service.do_subscribe(
            rt, bo, {**made, "keys": {"p256dh": "x", "auth": "y"}}, locale="sv", origin=None
        )
    rt.settings.push_allow_insecure_localhost = False
    with pytest.raises(PushError):
        await service.do_subscribe(rt, bo, made, locale="sv", origin=None)
    assert await rows(rt) == []


async def test_a_worker_unsubscribes_only_their_own_devices(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    bo = await identity(rt, seeded.workers["Bo"].user_id)
    anna = await identity(rt, seeded.workers["Anna"].user_id)
    cecilia = await identity(rt, seeded.workers["Cecilia"].user_id)
    made = push_service.subscribe()
    await service.do_subscribe(rt, bo, made, locale="sv", origin=None)
    for stranger in (anna, cecilia):
        await service.do_unsubscribe(rt, stranger, {"endpoint": made["endpoint"]})
    assert len(await rows(rt)) == 1
    with pytest.raises(PushError):
        await service.do_unsubscribe(rt, bo, {"endpoint": 5})
    # No stored endpoint has a NUL or a control character (PostgreSQL would refuse the
    # lookup itself): nothing to forget, and no error either.
    for odd in (made["endpoint"] + "\x00", "\x00", "https://x/\x7f", "https://ä/"):
        await service.do_unsubscribe(rt, bo, {"endpoint": odd})
    assert len(await rows(rt)) == 1
    await service.do_unsubscribe(rt, bo, {"endpoint": made["endpoint"]})
    assert await rows(rt) == []


async def test_logging_out_forgets_the_devices_of_that_session(
    rt: Runtime, push_service: PushService, seeded: Seed
) -> None:
    async with rt.db.read() as session:
        user = await session.get(StaffUser, seeded.workers["Bo"].user_id)
    assert user is not None
    token = await do_create_session(rt, user)
    caller = await resolve_session(rt, token)
    other = await identity(rt, user.id)
    assert caller is not None
    await service.do_subscribe(rt, caller, push_service.subscribe(), locale="sv", origin=None)
    kept = push_service.subscribe()
    await service.do_subscribe(rt, other, kept, locale="sv", origin=None)
    await do_end_session(rt, token)
    assert [row.endpoint for row in await rows(rt)] == [kept["endpoint"]]


# ----- which messages ask for a push ----------------------------------------------------


@pytest.fixture
def queued(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[Notice]:
    """The notices the conversation service hands to the sender."""
    notices: list[Notice] = []
    monkeypatch.setattr(rt.push, "enqueue", notices.append)
    return notices


async def say(rt: Runtime, team: Team, conversation_id: str, who: Author, body: str) -> Any:
    return await conversations.do_send_message(
        rt, team.id, conversation_id, who, f"c-{len(body)}-{body[:20]}".replace(" ", "_"), body
    )


async def test_the_young_persons_messages_ask_for_the_right_push(
    rt: Runtime, demo: Team, seeded: Seed, queued: list[Notice]
) -> None:
    bo = seeded.workers["Bo"]
    worker = Author(Sender.STAFF, bo.user_id, bo.first_name)
    conversation, _ = await conversations.do_start_conversation(rt, demo)
    assert queued == []  # opening the chat bothers nobody
    await say(rt, demo, conversation.id, Author.youth(), "Hej, finns ni där?")
    assert queued == [Notice(Kind.QUEUE, demo.id, conversation.id)]
    await say(rt, demo, conversation.id, Author.youth(), "Jag väntar fortfarande")
    assert len(queued) == 1  # still waiting: nobody holds it yet
    await say(rt, demo, conversation.id, worker, "Hej! Jag heter Bo.")
    assert len(queued) == 1  # a worker's message notifies nobody
    await say(rt, demo, conversation.id, Author.youth(), "Tack")
    assert queued[-1] == Notice(Kind.MESSAGE, demo.id, conversation.id, bo.user_id)
    await say(rt, demo, conversation.id, Author.youth(), "jag vill ta livet av mig")
    assert queued[-1] == Notice(Kind.RISK, demo.id, conversation.id, bo.user_id)
    await say(rt, demo, conversation.id, Author.youth(), "jag vill ta livet av mig nu")
    assert queued[-1].kind is Kind.MESSAGE  # flagged already: an ordinary new message


async def test_a_first_message_with_risk_words_asks_for_one_risk_push(
    rt: Runtime, demo: Team, queued: list[Notice]
) -> None:
    conversation, _ = await conversations.do_start_conversation(rt, demo)
    await say(rt, demo, conversation.id, Author.youth(), "jag vill ta livet av mig")
    assert queued == [Notice(Kind.RISK, demo.id, conversation.id)]


async def test_a_retried_message_asks_for_nothing_more(
    rt: Runtime, demo: Team, queued: list[Notice]
) -> None:
    conversation, _ = await conversations.do_start_conversation(rt, demo)
    for _ in range(3):
        await conversations.do_send_message(
            rt, demo.id, conversation.id, Author.youth(), "retry-0001", "Hej"
        )
    assert len(queued) == 1


async def test_whether_the_app_is_in_front_is_decided_as_the_message_arrives(
    rt: Runtime, demo: Team, seeded: Seed, queued: list[Notice]
) -> None:
    """A message that arrives while the holder's app is in front asks for no push, even if
    the app goes to the background before the sender would have got to it."""
    bo = seeded.workers["Bo"]
    worker = Author(Sender.STAFF, bo.user_id, bo.first_name)
    conversation, _ = await conversations.do_start_conversation(rt, demo)
    await say(rt, demo, conversation.id, Author.youth(), "Hej, finns ni där?")
    await say(rt, demo, conversation.id, worker, "Hej! Jag heter Bo.")
    app = object()  # Bo's socket
    rt.push.visible.set(app, bo.user_id, True)
    await say(rt, demo, conversation.id, Author.youth(), "Läser du nu?")
    rt.push.visible.set(app, bo.user_id, False)
    assert [n.kind for n in queued] == [Kind.QUEUE]
    await say(rt, demo, conversation.id, Author.youth(), "Hallå?")
    assert queued[-1] == Notice(Kind.MESSAGE, demo.id, conversation.id, bo.user_id)
