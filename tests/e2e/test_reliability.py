"""Nothing is lost when the connection drops, and gaps in the sequence are filled."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import WebSocketRoute, expect

CHAT_SOCKET = re.compile(r"/ws/chat$")


class Link:
    """Stands between the page and the server's /ws/chat: can cut it and drop frames."""

    def __init__(self) -> None:
        self.down = False
        self.routes: list[WebSocketRoute] = []
        self.from_page: list[dict[str, Any]] = []
        self.drop_once: str | None = None
        self.stretch: str | None = None  # a body to make too long on its way to the server

    def handle(self, ws: WebSocketRoute) -> None:
        if self.down:
            ws.close(code=1011)
            return
        server = ws.connect_to_server()
        self.routes.append(ws)

        def to_server(message: str | bytes) -> None:
            frame = json.loads(message)
            self.from_page.append(frame)
            if frame.get("body") is not None and frame["body"] == self.stretch:
                message = json.dumps({**frame, "body": "x" * 4001})
            server.send(message)

        def to_page(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            if self.drop_once is not None and self.drop_once in text:
                self.drop_once = None
                return
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_page)

    def cut(self) -> None:
        self.down = True
        for ws in self.routes:
            ws.close(code=1011)
        self.routes.clear()


@pytest.mark.e2e
def test_messages_written_offline_are_delivered_once(new_page, worker, ui):
    staff = worker()
    before = ui.conversation_ids(staff)
    link = Link()
    youth = new_page(None)
    youth.route_web_socket(CHAT_SOCKET, link.handle)
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    ui.send(youth, "innan avbrottet")
    expect(ui.message(youth, "innan avbrottet").get_by_test_id("msg-status")).to_have_text("Sent")
    ui.new_conversation(staff, before).click()
    expect(ui.message(staff, "innan avbrottet")).to_have_count(1)

    link.cut()
    expect(youth.get_by_test_id("connection")).to_be_visible()
    expect(youth.get_by_test_id("connection")).to_have_text("Reconnecting…")
    ui.send(youth, "skrivet utan nät")
    pending = ui.message(youth, "skrivet utan nät").get_by_test_id("msg-status")
    expect(pending).to_have_text("Sending…")

    # Even a reload while offline keeps the unsent message (in sessionStorage only).
    youth.reload()
    expect(pending).to_have_text("Sending…")
    stored = json.loads(youth.evaluate(f"sessionStorage.getItem('lykta-chat-{ui.team}')"))
    assert [item["body"] for item in stored["outbox"]] == ["skrivet utan nät"]

    link.down = False
    youth.evaluate("dispatchEvent(new Event('online'))")  # as a phone does when back online
    expect(youth.get_by_test_id("connection")).to_be_hidden()
    expect(pending).to_have_text("Sent")
    expect(youth.locator("[data-testid=message] p.body")).to_have_text(
        ["innan avbrottet", "skrivet utan nät"]
    )
    expect(ui.message(staff, "skrivet utan nät")).to_have_count(1)
    assert (
        json.loads(youth.evaluate(f"sessionStorage.getItem('lykta-chat-{ui.team}')"))["outbox"]
        == []
    )
    # The resume after the reload asked for the whole history.
    resumes = [f for f in link.from_page if f["type"] == "resume"]
    assert resumes[-1]["last_seq"] == 0


@pytest.mark.e2e
def test_a_lost_frame_is_fetched_with_sync(new_page, worker, ui):
    staff = worker()
    before = ui.conversation_ids(staff)
    link = Link()
    youth = new_page(None)
    youth.route_web_socket(CHAT_SOCKET, link.handle)
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    ui.send(youth, "hallå")
    ui.new_conversation(staff, before).click()
    expect(ui.message(staff, "hallå")).to_have_count(1)

    link.drop_once = "tappas bort"
    ui.send(staff, "tappas bort")
    expect(ui.message(staff, "tappas bort").get_by_test_id("msg-status")).to_have_text("Sent")
    ui.send(staff, "kommer fram")
    expect(youth.locator("[data-testid=message] p.body")).to_have_text(
        ["hallå", "tappas bort", "kommer fram"]
    )
    assert link.drop_once is None
    assert any(f["type"] == "sync" for f in link.from_page)


@pytest.mark.e2e
def test_a_refused_message_is_marked_failed(new_page, ui):
    link = Link()
    youth = new_page(None)
    youth.route_web_socket(CHAT_SOCKET, link.handle)
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)

    # The page itself never sends an over-long message: the counter warns and Send does nothing.
    box = youth.get_by_test_id("composer-input")
    box.fill("y" * 4001)
    expect(youth.get_by_test_id("counter")).to_have_text("4001 / 4000")
    expect(youth.get_by_test_id("counter")).to_have_class("counter over")
    box.press("Enter")
    expect(box).to_have_value("y" * 4001)
    expect(youth.get_by_test_id("message")).to_have_count(0)

    # If the server refuses one anyway, it is shown as not sent, with the server's reason.
    link.stretch = "blir för långt"
    ui.send(youth, "blir för långt")
    status = ui.message(youth, "blir för långt").get_by_test_id("msg-status")
    expect(status).to_have_text(re.compile(r"^Not sent: .+"))
    expect(ui.message(youth, "blir för långt")).to_have_class(re.compile(r"\bfailed\b"))
    outbox = json.loads(youth.evaluate(f"sessionStorage.getItem('lykta-chat-{ui.team}')"))["outbox"]
    assert outbox == []

    # And the conversation goes on.
    ui.send(youth, "nästa")
    expect(ui.message(youth, "nästa").get_by_test_id("msg-status")).to_have_text("Sent")
