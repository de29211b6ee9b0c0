"""The field worker's day over real sockets: queue order and position, hand-over, notes,
typing and read state, closing with topics, feedback, risk flags, blocking, duty."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from lykta.config import Settings
from lykta.staff.models import StaffUser
from tests.integration.staff_helpers import db_query, db_update
from tests.support.client import Peer
from tests.support.server import Seed, ServerThread, login_token


async def worker(server: ServerThread, settings: Settings, seeded: Seed, name: str) -> Peer:
    peer = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers[name]))
    await peer.connect()
    await peer.hello()
    await peer.expect(lambda f: f["type"] == "presence")
    return peer


async def youth(server: ServerThread, text: str = "hej", browser: str | None = None) -> Peer:
    peer = Peer(server.ws)
    await peer.connect()
    peer.team = "demo"
    frame: dict[str, Any] = {"type": "start", "team": "demo"}
    if browser:
        frame["browser"] = browser
    await peer.send_frame(frame)
    ready = await peer.wait_for(lambda f: f["type"] in ("ready", "error"))
    if ready["type"] == "error":
        peer.frames.append(ready)
        return peer
    peer.code = ready["resume_code"]
    await peer.send(text)
    await peer.wait_for(lambda f: f["type"] == "ack")
    return peer


async def flush(peer: Peer) -> None:
    await peer.send_frame({"type": "ping"})
    await peer.wait_for(lambda f: f["type"] == "pong")


def latest(peer: Peer, kind: str) -> dict[str, Any]:
    return [f for f in peer.frames if f["type"] == kind][-1]


def open_around_the_clock(settings: Settings, seeded: Seed) -> None:
    """Opening hours all week and Bo on duty: the demo team is open."""
    team = seeded.team_ids["demo"]
    for weekday in range(7):
        for opens, closes in (("00:00", "12:00"), ("12:00", "24:00")):
            db_query(
                settings,
                "INSERT INTO opening_hours (team_id, weekday, opens, closes) "
                "VALUES (:team, :day, :opens, :closes)",
                team=team,
                day=weekday,
                opens=opens,
                closes=closes,
            )
    db_update(settings, StaffUser, StaffUser.id == seeded.workers["Bo"].user_id, on_duty=True)


async def test_a_question_left_while_closed_has_no_estimated_wait(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    anna = await worker(server, settings, seeded, "Anna")
    answered = await youth(server, "en fråga")
    await anna.send("svar", answered.conversation_id)  # now the team has an answer time
    await anna.wait_for(lambda f: f["type"] == "ack")
    question = await youth(server, "en fråga till")
    place = await question.expect(lambda f: f["type"] == "queue")
    assert (place["position"], place["eta_seconds"]) == (1, None)
    for peer in (anna, answered, question):
        await peer.close()


async def test_waiting_young_people_see_their_place_and_it_moves(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    open_around_the_clock(settings, seeded)
    first = await youth(server, "först")
    second = await youth(server, "sen")
    await first.expect(lambda f: f["type"] == "queue")
    await second.expect(lambda f: f["type"] == "queue" and f["position"] == 2)
    anna = await worker(server, settings, seeded, "Anna")
    await anna.send_frame({"type": "take", "conversation_id": first.conversation_id})
    moved = await second.wait_for(lambda f: f["type"] == "queue" and f["position"] == 1)
    # No answer history yet, so no estimate rather than a made-up one.
    assert moved["eta_seconds"] is None
    await anna.send("Hej, jag heter Anna", first.conversation_id)
    await anna.wait_for(lambda f: f["type"] == "ack")
    # Once the team has answered someone, the estimate follows its answer times.
    third = await youth(server, "tredje")
    estimate = await third.expect(lambda f: f["type"] == "queue" and f["position"] == 2)
    assert estimate["eta_seconds"] is not None
    assert estimate["eta_seconds"] >= 0
    for peer in (first, second, third, anna):
        await peer.close()


async def back(server: ServerThread, gone: Peer) -> Peer:
    """The same young person on a new connection, resuming with their code."""
    await gone.close()
    again = Peer(server.ws)
    await again.connect()
    again.team, again.code = "demo", gone.code
    ready = await again.resume(gone.code, last_seq=0)
    assert ready["type"] == "ready"
    return again


async def test_coming_back_tells_a_waiting_young_person_their_place_and_no_one_else(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    open_around_the_clock(settings, seeded)
    first = await youth(server, "först")
    second = await youth(server, "sen")
    anna = await worker(server, settings, seeded, "Anna")
    await anna.send_frame({"type": "take", "conversation_id": first.conversation_id})
    await second.wait_for(lambda f: f["type"] == "queue" and f["position"] == 1)
    waiting = await back(server, second)
    place = await waiting.wait_for(lambda f: f["type"] == "queue")
    assert place["position"] == 1
    answered = await back(server, first)
    await answered.wait_for(lambda f: f["type"] == "message" and f["seq"] == 1)
    await flush(answered)
    assert not any(f["type"] == "queue" for f in answered.frames)
    for peer in (waiting, answered, anna):
        await peer.close()


async def test_flagged_conversations_go_first_in_the_queue(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    early = await youth(server, "en fråga om skolan")
    late = await youth(server, "en annan fråga")
    anna = await worker(server, settings, seeded, "Anna")
    await anna.send_frame(
        {"type": "flag", "conversation_id": late.conversation_id, "flagged": True}
    )
    await late.wait_for(lambda f: f["type"] == "queue" and f["position"] == 1)
    await early.wait_for(lambda f: f["type"] == "queue" and f["position"] == 2)
    bo = await worker(server, settings, seeded, "Bo")
    listing = next(f for f in bo.frames if f["type"] == "conversations")
    assert [c["id"] for c in listing["items"][:2]] == [late.conversation_id, early.conversation_id]
    assert listing["items"][0]["flagged"] is True
    # The young person is never told.
    assert not any("flag" in str(f) for f in late.frames)
    for peer in (early, late, anna, bo):
        await peer.close()


async def test_transfer_to_a_colleague_with_a_note_the_youth_never_sees(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    young = await youth(server, "hej")
    anna = await worker(server, settings, seeded, "Anna")
    bo = await worker(server, settings, seeded, "Bo")
    cid = young.conversation_id
    assert cid is not None
    await anna.open_conversation(cid)
    await bo.open_conversation(cid)
    await anna.send("Hej, jag heter Anna", cid)
    await young.wait_for(lambda f: f["type"] == "worker" and f["profile"]["first_name"] == "Anna")
    await anna.send_frame(
        {
            "type": "transfer",
            "conversation_id": cid,
            "to": seeded.workers["Bo"].user_id,
            "note": "Vill prata om skolan, tror Bo passar",
        }
    )
    joined = await young.wait_for(lambda f: f.get("event") == "joined" and f["author"] == "Bo")
    assert joined["sender"] == "staff"
    profile = await young.expect(
        lambda f: f["type"] == "worker" and f["profile"]["first_name"] == "Bo"
    )
    assert profile["profile"] == {"first_name": "Bo", "photo": None, "introduction": None}
    note = await bo.wait_for(lambda f: f["type"] == "note")
    assert (note["author"], note["body"]) == ("Anna", "Vill prata om skolan, tror Bo passar")
    update = await bo.expect(
        lambda f: (
            f["type"] == "conversation"
            and f["conversation"]["assigned"] is not None
            and f["conversation"]["assigned"]["first_name"] == "Bo"
        )
    )
    assert update["conversation"]["state"] == "active"
    await flush(young)
    assert not any(f["type"] == "note" for f in young.frames)
    assert "skolan, tror Bo" not in str(young.frames)
    # Back to the queue.
    await bo.send_frame({"type": "transfer", "conversation_id": cid, "to": None})
    requeued = await young.wait_for(lambda f: f.get("event") == "requeued")
    assert requeued["author"] is None
    await young.wait_for(lambda f: f["type"] == "queue" and f["position"] == 1)
    # Another team's worker is no colleague.
    await anna.send_frame(
        {"type": "transfer", "conversation_id": cid, "to": seeded.workers["Cecilia"].user_id}
    )
    assert (await anna.wait_for(lambda f: f["type"] == "error"))["code"] == "not_found"
    for peer in (young, anna, bo):
        await peer.close()


async def test_notes_are_stored_once_and_shown_when_a_colleague_opens_later(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    young = await youth(server)
    anna = await worker(server, settings, seeded, "Anna")
    cid = young.conversation_id
    assert cid is not None
    await anna.open_conversation(cid)
    frame = {
        "type": "note",
        "conversation_id": cid,
        "client_id": "note-000001",
        "body": "Ringde BUP enligt rutin",
    }
    for _ in range(2):
        await anna.send_frame(frame)
        await anna.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == "note-000001")
    bo = await worker(server, settings, seeded, "Bo")
    await bo.open_conversation(cid)
    await flush(bo)
    notes = [f for f in bo.frames if f["type"] == "note"]
    assert [n["body"] for n in notes] == ["Ringde BUP enligt rutin"]
    await flush(young)
    assert "BUP" not in str(young.frames)
    for peer in (young, anna, bo):
        await peer.close()


async def test_typing_and_read_state_travel_both_ways(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    young = await youth(server)
    anna = await worker(server, settings, seeded, "Anna")
    cid = young.conversation_id
    assert cid is not None
    await anna.open_conversation(cid)
    await flush(anna)  # subscribed: typing is never stored, so it only reaches listeners
    await young.send_frame({"type": "typing", "active": True})
    typing = await anna.wait_for(lambda f: f["type"] == "typing" and f["sender"] == "youth")
    assert (typing["active"], typing["author"]) == (True, None)
    await anna.send_frame({"type": "typing", "conversation_id": cid, "active": True})
    typing = await young.wait_for(lambda f: f["type"] == "typing" and f["sender"] == "staff")
    assert typing["author"] == "Anna"
    # The worker has read the youth's message: the youth sees it.
    await anna.send_frame({"type": "read", "conversation_id": cid, "seq": 1})
    read = await young.wait_for(lambda f: f["type"] == "read")
    assert (read["reader"], read["seq"]) == ("staff", 1)
    await anna.send("Hej!", cid)
    await young.wait_for(lambda f: f.get("body") == "Hej!")
    await young.send_frame({"type": "read", "conversation_id": cid, "seq": 3})
    await young.send_frame({"type": "read", "seq": 3})
    read = await anna.wait_for(lambda f: f["type"] == "read" and f["reader"] == "youth")
    assert read["seq"] == 3
    # Reading backwards or beyond the end changes nothing.
    await young.send_frame({"type": "read", "seq": 999})
    await flush(young)
    for peer in (young, anna):
        await peer.close()


async def test_closing_with_topics_and_an_outcome_then_feedback(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    young = await youth(server)
    anna = await worker(server, settings, seeded, "Anna")
    cid = young.conversation_id
    hello = next(f for f in anna.frames if f["type"] == "hello")
    assert "school" in hello["topics"]
    assert "referral" in hello["outcomes"]
    await anna.send_frame(
        {"type": "close", "conversation_id": cid, "topics": ["not a topic"], "outcome": "referral"}
    )
    assert (await anna.wait_for(lambda f: f["type"] == "error"))["code"] == "invalid"
    # Feedback only once the chat has ended.
    await young.send_frame({"type": "feedback", "answer": "yes"})
    assert (await young.wait_for(lambda f: f["type"] == "error"))["code"] == "not_found"
    await anna.send_frame(
        {
            "type": "close",
            "conversation_id": cid,
            "topics": ["school", "family"],
            "outcome": "referral",
        }
    )
    await young.wait_for(lambda f: f.get("event") == "closed")
    await young.send_frame({"type": "feedback", "answer": "partly"})
    await flush(young)
    again = Peer(server.ws)
    await again.connect()
    again.team = "demo"
    ready = await again.resume(young.code, last_seq=0)
    assert (ready["state"], ready["feedback"]) == ("closed", "partly")
    for peer in (young, anna, again):
        await peer.close()


async def test_block_stops_the_code_and_new_chats_from_that_tab(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    tab = secrets.token_urlsafe(16)
    abusive = await youth(server, "spam spam", browser=tab)
    anna = await worker(server, settings, seeded, "Anna")
    await anna.send_frame({"type": "block", "conversation_id": abusive.conversation_id})
    await abusive.wait_for(lambda f: f.get("event") == "closed")
    retry = await youth(server, "igen", browser=tab)
    error = latest(retry, "error")
    assert error["code"] == "blocked"
    assert "112" in error["message"]
    code_again = Peer(server.ws)
    await code_again.connect()
    code_again.team = "demo"
    assert (await code_again.resume(abusive.code, last_seq=0))["code"] == "resume_failed"
    # Another tab is not affected: nobody is identified.
    other = await youth(server, "hej", browser=secrets.token_urlsafe(16))
    assert other.code is not None
    for peer in (abusive, retry, code_again, other, anna):
        await peer.close()


async def test_duty_changes_presence_for_the_team(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    anna = await worker(server, settings, seeded, "Anna")
    bo = await worker(server, settings, seeded, "Bo")
    assert latest(bo, "presence")["on_duty"] == []
    await anna.send_frame({"type": "duty", "on": True})
    presence = await bo.wait_for(lambda f: f["type"] == "presence" and f["on_duty"])
    assert [m["first_name"] for m in presence["on_duty"]] == ["Anna"]
    await asyncio.sleep(0)
    cecilia = await worker(server, settings, seeded, "Cecilia")
    assert latest(cecilia, "presence")["on_duty"] == []  # another team
    for peer in (anna, bo, cecilia):
        await peer.close()


async def test_young_person_sees_the_workers_name_photo_and_introduction(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    from tests.integration.staff_helpers import browser
    from tests.integration.test_staff_photo import camera_jpeg, upload
    from tests.support.server import csrf_of, http_login

    with browser(server) as client:
        http_login(client, seeded.workers["Bo"])
        upload(client, camera_jpeg())
        csrf = csrf_of(client.get("/app/profile").text)
        too_long = client.post(
            "/app/profile/introduction", data={"introduction": "x" * 141, "csrf": csrf}
        )
        assert too_long.status_code == 400
        client.post(
            "/app/profile/introduction",
            data={"introduction": "Fältsekreterare  i centrum\n", "csrf": csrf},
        )
    young = await youth(server)
    bo = await worker(server, settings, seeded, "Bo")
    await bo.send("Hej, jag heter Bo", young.conversation_id)
    card = await young.expect(lambda f: f["type"] == "worker")
    assert card["profile"]["first_name"] == "Bo"
    assert card["profile"]["introduction"] == "Fältsekreterare i centrum"
    assert card["profile"]["photo"].startswith("/photos/")
    # Coming back later, the young person sees who is answering straight away.
    again = Peer(server.ws)
    await again.connect()
    again.team = "demo"
    ready = await again.resume(young.code, last_seq=0)
    assert ready["profile"] == card["profile"]
    for peer in (young, bo, again):
        await peer.close()


async def test_a_question_left_while_closed_is_answered_and_read_after_resume(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    # The demo team has no opening hours: it is closed, so a start leaves a question.
    asker = Peer(server.ws)
    await asker.connect()
    ready = await asker.start("demo")
    assert ready["kind"] == "question"
    await asker.send("Hur gör man om man vill prata med någon om sin mamma?")
    await asker.wait_for(lambda f: f["type"] == "ack")
    code = asker.code
    assert code is not None
    await asker.close()  # the young person leaves; nothing stays on the device but the code

    anna = await worker(server, settings, seeded, "Anna")
    listing = next(f for f in anna.frames if f["type"] == "conversations")
    question = next(c for c in listing["items"] if c["kind"] == "question")
    await anna.open_conversation(question["id"])
    await anna.send("Hej! Du kan alltid skriva här, eller ringa BRIS.", question["id"])
    await anna.wait_for(lambda f: f["type"] == "ack")

    days_later = Peer(server.ws)
    await days_later.connect()
    days_later.team = "demo"
    back = await days_later.resume(code.lower(), last_seq=0)
    assert back["kind"] == "question"
    assert back["worker"] == "Anna"
    await days_later.pump_until(lambda: days_later.last_seq() >= 3)
    assert days_later.bodies() == [
        "Hur gör man om man vill prata med någon om sin mamma?",
        "Hej! Du kan alltid skriva här, eller ringa BRIS.",
    ]
    # And the contact stays warm: the young person can write again.
    await days_later.send("Tack, jag ringer dem")
    await anna.wait_for(lambda f: f.get("body") == "Tack, jag ringer dem")
    for peer in (anna, days_later):
        await peer.close()


async def test_risk_words_flag_a_conversation_for_the_team_only(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    calm = await youth(server, "hej, en fråga om sommarjobb")
    anna = await worker(server, settings, seeded, "Anna")
    worried = await youth(server, "jag orkar inte mer, jag vill inte leva längre")
    update = await anna.expect(
        lambda f: (
            f["type"] == "conversation"
            and f["conversation"]["id"] == worried.conversation_id
            and f["conversation"]["flagged"]
        )
    )
    assert update["conversation"]["flag_categories"] == ["suicide"]
    # First in line, ahead of someone who has waited longer.
    await worried.expect(lambda f: f["type"] == "queue" and f["position"] == 1)
    await calm.expect(lambda f: f["type"] == "queue" and f["position"] == 2)
    hello = next(f for f in anna.frames if f["type"] == "hello")
    assert "112" in hello["risk_guidance"]
    # The young person is never told, and no decision is taken: the chat goes on.
    await flush(worried)
    assert not any("flag" in str(f) or "suicide" in str(f) for f in worried.frames)
    await worried.send("finns ni där?")
    await worried.wait_for(lambda f: f["type"] == "ack" and f["seq"] == 2)
    # A worker can take the flag away by hand.
    await anna.send_frame(
        {"type": "flag", "conversation_id": worried.conversation_id, "flagged": False}
    )
    await anna.wait_for(
        lambda f: (
            f["type"] == "conversation"
            and f["conversation"]["id"] == worried.conversation_id
            and not f["conversation"]["flagged"]
        )
    )
    for peer in (calm, worried, anna):
        await peer.close()


async def test_unread_counts_follow_what_workers_have_read(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    young = await youth(server, "ett")
    await young.send("två")
    await young.wait_for(lambda f: f["type"] == "ack" and f["seq"] == 2)
    anna = await worker(server, settings, seeded, "Anna")
    bo = await worker(server, settings, seeded, "Bo")
    listing = next(f for f in bo.frames if f["type"] == "conversations")
    mine = next(c for c in listing["items"] if c["id"] == young.conversation_id)
    assert mine["last_seq"] - mine["staff_read_seq"] == 2  # two unread
    await anna.send_frame({"type": "read", "conversation_id": young.conversation_id, "seq": 2})
    # The team reads together: Bo's count goes to zero when Anna has read it.
    update = await bo.wait_for(
        lambda f: (
            f["type"] == "conversation"
            and f["conversation"]["id"] == young.conversation_id
            and f["conversation"]["staff_read_seq"] == 2
        )
    )
    assert update["conversation"]["last_seq"] == 2
    for peer in (young, anna, bo):
        await peer.close()
