"""The page after the server closed its socket for silence (4408, docs/protocol.md).

On the start page, before anything was started, the socket rests: no "Reconnecting…",
no reconnect loop, and it comes back as soon as the young person does something. After a
chat has started, a 4408 is an ordinary drop: reconnect and resume.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

CHAT_SOCKET = re.compile(r"/ws/chat$")
CLOSE_TIMEOUT = 4408


class Sockets:
    """Every /ws/chat the page opens, passed through to the server and recorded."""

    def __init__(self) -> None:
        self.routes: list[WebSocketRoute] = []
        self.from_page: list[dict[str, Any]] = []

    def handle(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        self.routes.append(ws)

        def to_server(message: str | bytes) -> None:
            self.from_page.append(json.loads(message))
            server.send(message)

        ws.on_message(to_server)

    def close_as_the_server_would(self) -> None:
        self.routes[-1].close(code=CLOSE_TIMEOUT, reason="timeout")


def until(page: Page, condition: Callable[[], bool], timeout: float = 10_000) -> None:
    """Let the page run (and route events arrive) until ``condition`` holds."""
    waited = 0
    while not condition():
        assert waited < timeout, "condition not met in time"
        page.wait_for_timeout(50)
        waited += 50


@pytest.mark.e2e
def test_the_start_page_rests_after_a_hello_timeout_and_wakes_on_start(new_page, ui):
    sockets = Sockets()
    youth = new_page(None)
    youth.route_web_socket(CHAT_SOCKET, sockets.handle)
    youth.goto(f"/chat/{ui.team}")
    until(youth, lambda: len(sockets.routes) == 1)

    sockets.close_as_the_server_would()
    youth.wait_for_timeout(2500)  # well past the first reconnect delay
    expect(youth.get_by_test_id("connection")).to_be_hidden()
    assert len(sockets.routes) == 1, "reconnected although the page had nothing to say"

    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    expect(youth.get_by_test_id("connection")).to_be_hidden()
    assert len(sockets.routes) == 2
    assert [f["type"] for f in sockets.from_page] == ["start"]


@pytest.mark.e2e
def test_a_started_chat_closed_for_silence_reconnects_and_resumes(new_page, ui):
    sockets = Sockets()
    youth = new_page(None)
    youth.route_web_socket(CHAT_SOCKET, sockets.handle)
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    ui.send(youth, "innan tystnaden")
    expect(ui.message(youth, "innan tystnaden").get_by_test_id("msg-status")).to_have_text("Sent")

    sockets.close_as_the_server_would()
    until(youth, lambda: any(f["type"] == "resume" for f in sockets.from_page))
    assert len(sockets.routes) == 2
    ui.send(youth, "efter tystnaden")
    expect(ui.message(youth, "efter tystnaden").get_by_test_id("msg-status")).to_have_text("Sent")
    expect(youth.get_by_test_id("connection")).to_be_hidden()
