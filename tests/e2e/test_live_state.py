"""Typing, read state and the queue, as the young person and the worker see them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from tests.e2e.conftest import UI
from tests.support.frames import frames_in

CHAT_SOCKET = re.compile(r"/ws/chat$")


def sent_frames(page: Page, into: list[dict[str, Any]]) -> None:
    """Keep every frame the page sends on its sockets."""
    page.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda payload: into.append(json.loads(payload))),
    )


@pytest.mark.e2e
def test_typing_shows_on_both_sides_and_read_follows(
    new_page: Callable[..., Any], worker: Callable[..., Page], ui: UI
) -> None:
    staff = worker()
    before = ui.conversation_ids(staff)
    frames: list[dict[str, Any]] = []
    youth = new_page(None)
    sent_frames(youth, frames)
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)

    # Not read while no worker has looked at it.
    ui.send(youth, "Hej, jag har en fråga")
    first = ui.message(youth, "Hej, jag har en fråga")
    expect(first.get_by_test_id("msg-status")).to_have_text("Sent")
    expect(first.get_by_test_id("read-state")).to_have_count(0)

    # The worker opens it: "Read" under the young person's message.
    ui.new_conversation(staff, before).click()
    expect(ui.message(staff, "Hej, jag har en fråga")).to_be_visible()
    expect(first.get_by_test_id("read-state")).to_have_text("Read")
    staff.get_by_test_id("take").click()
    expect(youth.get_by_test_id("worker-name")).to_have_text(ui.worker_name)

    # The young person types: the worker sees it, once, not per keystroke.
    box = youth.get_by_test_id("composer-input")
    mark = len(frames)
    box.press_sequentially("Jag undrar om")
    typing = staff.get_by_test_id("typing")
    expect(typing).to_be_visible()
    expect(typing).to_have_text("The young person is writing…")
    assert [f["active"] for f in frames[mark:] if f["type"] == "typing"] == [True]
    box.press("Enter")
    expect(typing).to_be_hidden()
    assert [f["active"] for f in frames[mark:] if f["type"] == "typing"] == [True, False]

    # The worker types: the young person sees the worker's name.
    staff_box = staff.get_by_test_id("composer-input")
    staff_box.press_sequentially("Berätta mer")
    youth_typing = youth.get_by_test_id("typing")
    expect(youth_typing).to_have_text(f"{ui.worker_name} is writing…")
    staff_box.press("Enter")
    expect(youth_typing).to_be_hidden()
    expect(ui.message(youth, "Berätta mer")).to_have_count(1)

    # Both have the page in view, so both have read everything.
    expect(ui.message(staff, "Berätta mer").get_by_test_id("read-state")).to_have_text("Read")
    expect(ui.message(youth, "Jag undrar om").get_by_test_id("read-state")).to_have_text("Read")
    # "Read" is shown only under one's own last message.
    expect(youth.get_by_test_id("read-state")).to_have_count(1)
    expect(staff.get_by_test_id("read-state")).to_have_count(1)
    reads = [f["seq"] for f in frames if f["type"] == "read"]
    assert reads == sorted(set(reads))  # never repeated, never backwards


def queue_route(routes: list[WebSocketRoute]) -> Callable[[WebSocketRoute], None]:
    """Passes /ws/chat through, but presents the conversation as a live chat (as when the
    team is open), so that the page shows the estimated wait."""

    def handle(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        routes.append(ws)

        def to_page(message: str | bytes) -> None:
            frames = frames_in(message)
            for frame in frames:
                if frame.get("type") == "ready":
                    frame["kind"] = "chat"
            ws.send(json.dumps(frames))

        ws.on_message(server.send)
        server.on_message(to_page)

    return handle


@pytest.mark.e2e
def test_queue_place_and_estimated_wait_update_live(new_page: Callable[..., Any], ui: UI) -> None:
    routes: list[WebSocketRoute] = []
    youth = new_page(None, width=390, height=844)
    youth.route_web_socket(CHAT_SOCKET, queue_route(routes))
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("status")).to_have_text(ui.WAITING)
    queue = youth.get_by_test_id("queue")
    expect(queue).to_be_hidden()
    ui.send(youth, "Hej, finns det någon där?")

    # The server's own frame: the place in the queue (and an estimate once there is history).
    expect(queue).to_be_visible()
    expect(queue).to_contain_text(re.compile(r"You are number \d+ in the queue"))
    expect(queue).to_have_attribute("aria-live", "polite")

    # Later frames update it in place.
    routes[0].send(json.dumps({"type": "queue", "position": 3, "eta_seconds": 400}))
    expect(queue.locator("span")).to_have_text(
        ["You are number 3 in the queue", "Estimated wait: about 7 min"]
    )
    routes[0].send(json.dumps({"type": "queue", "position": 1, "eta_seconds": None}))
    expect(queue.locator("span")).to_have_text(["You are number 1 in the queue"])


@pytest.mark.e2e
def test_who_answers_is_shown_with_name_photo_and_introduction(
    new_page: Callable[..., Any], ui: UI
) -> None:
    routes: list[WebSocketRoute] = []
    youth = new_page(None, width=390, height=844)
    youth.route_web_socket(CHAT_SOCKET, queue_route(routes))
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    card = youth.get_by_test_id("worker-card")
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    expect(card).to_be_hidden()

    profile = {
        "first_name": "Anna",
        "photo": "/photos/e2e-not-there.jpg",
        "introduction": "Fältsekreterare i centrum sedan 2019",
    }
    routes[0].send(json.dumps({"type": "worker", "profile": profile}))
    expect(card).to_be_visible()
    expect(youth.get_by_test_id("worker-name")).to_have_text("Anna")
    expect(youth.get_by_test_id("worker-intro")).to_have_text(profile["introduction"])
    photo = card.locator("img")
    expect(photo).to_have_attribute("src", profile["photo"])
    expect(photo).to_have_attribute("alt", "")
    expect(photo).to_have_attribute("width", "56")
    expect(photo).to_have_attribute("height", "56")

    # Only a photo from this server is shown; no introduction, no line for it.
    other = {"first_name": "Bo", "photo": "//elsewhere.example/bo.jpg", "introduction": None}
    routes[0].send(json.dumps({"type": "worker", "profile": other}))
    expect(youth.get_by_test_id("worker-name")).to_have_text("Bo")
    expect(photo).to_have_count(0)
    expect(youth.get_by_test_id("worker-intro")).to_be_hidden()


@pytest.mark.e2e
def test_a_press_on_a_chat_holds_while_the_list_changes(
    worker: Callable[..., Page], start_chat: Callable[..., Page], ui: UI
) -> None:
    """A worker presses on a chat just as another chat's new message redraws the list:
    letting go still opens the chat the press began on."""
    staff = worker()
    before = ui.conversation_ids(staff)
    first = start_chat()
    ui.send(first, "Hej från den första")
    first_id = ui.new_conversation(staff, before).get_attribute("data-id")
    assert first_id
    second = start_chat()
    ui.send(second, "Hej från den andra")
    second_id = ui.new_conversation(staff, [*before, first_id]).get_attribute("data-id")
    assert second_id

    box = ui.item(staff, first_id).bounding_box()
    assert box
    staff.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    staff.mouse.down()
    ui.send(second, "Och en sak till")
    expect(ui.item(staff, second_id).get_by_test_id("unread")).to_contain_text("2")
    staff.mouse.up()

    expect(ui.message(staff, "Hej från den första")).to_be_visible()
    expect(staff).to_have_url(re.compile(f"#{first_id}$"))
