"""The worker's tools: ready replies, the risk mark, blocking, and the duty switch."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import UI, Server, add_ready_reply

HOURS = "Hej, det är {name} på {team}. Vi svarar vardagar 15–21."


@pytest.mark.e2e
def test_ready_replies_expand_in_the_composer(
    server: Server, start_chat: Callable[..., Page], worker: Callable[..., Page], ui: UI
) -> None:
    add_ready_reply(server, ui.team, "hours", HOURS)
    add_ready_reply(server, ui.team, "hello", "Hej! Jag heter {name}.")
    staff = worker()  # the list of ready replies comes with the socket's first frame
    before = ui.conversation_ids(staff)
    youth = start_chat()
    team_name = youth.get_by_test_id("team-name").inner_text()
    ui.send(youth, "När har ni öppet?")
    ui.new_conversation(staff, before).click()
    expected = f"Hej, det är {ui.worker_name} på {team_name}. Vi svarar vardagar 15–21."

    # Typing "/" lists the matching keys; "/hours" and Space expands it.
    box = staff.get_by_test_id("composer-input")
    box.press_sequentially("/h")
    suggestions = staff.get_by_test_id("canned-list")
    expect(suggestions).to_contain_text("/hours")
    expect(suggestions).to_contain_text("/hello")
    box.press_sequentially("o")
    expect(suggestions).not_to_contain_text("/hello")
    expect(suggestions).to_contain_text(f"/hours {expected}")
    box.press_sequentially("urs")
    box.press(" ")
    expect(box).to_have_value(expected)
    expect(suggestions).to_be_hidden()

    # Tab completes the first match, also after other words.
    box.fill("")
    box.press_sequentially("Tack! /hel")
    box.press("Tab")
    expect(box).to_have_value(f"Tack! Hej! Jag heter {ui.worker_name}.")
    expect(box).to_be_focused()

    # A click on a suggestion works too; a slash inside a word is left alone.
    box.fill("")
    box.press_sequentially("/")
    suggestions.locator("[data-key=hours]").click()
    expect(box).to_have_value(expected)
    box.press("Enter")
    expect(ui.message(youth, expected)).to_have_count(1)
    box.press_sequentially("och/eller ")
    expect(box).to_have_value("och/eller ")


@pytest.mark.e2e
def test_risk_mark_and_blocking(
    new_page: Callable[..., Any], worker: Callable[..., Page], ui: UI
) -> None:
    staff = worker(width=390, height=844)
    before = ui.conversation_ids(staff)
    received: list[str] = []
    sent: list[dict[str, Any]] = []
    youth = new_page(None, width=390, height=844)

    def watch(ws: Any) -> None:
        ws.on("framereceived", lambda payload: received.append(str(payload)))
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    youth.on("websocket", watch)
    youth.goto(f"/chat/{ui.team}")
    youth.get_by_test_id("start").click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    code = youth.get_by_test_id("resume-code").inner_text()

    # The tab's random token goes with `start` (and stays in this tab only).
    token = youth.evaluate("sessionStorage.getItem('lykta-browser')")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,64}", token)
    assert [f.get("browser") for f in sent if f["type"] == "start"] == [token]
    assert youth.evaluate("localStorage.length") == 0

    ui.send(youth, "Du är dum i huvudet")
    item = ui.new_conversation(staff, before)
    item_id = item.get_attribute("data-id")
    expect(item.get_by_test_id("at-risk")).to_have_count(0)
    item.click()
    banner = staff.get_by_test_id("risk-banner")
    expect(banner).to_be_hidden()

    # Mark as at risk: a banner with the team's guidance, and a mark in the list.
    staff.get_by_test_id("more").click()
    expect(staff.get_by_test_id("flag")).to_have_text("Mark as at risk")
    staff.get_by_test_id("flag").click()
    expect(banner).to_be_visible()
    expect(staff.get_by_test_id("risk-guidance")).not_to_be_empty()
    staff.get_by_test_id("back").click()
    expect(item.get_by_test_id("at-risk")).to_have_text("⚠ At risk")
    # At risk goes first in the queue.
    expect(staff.get_by_test_id("conv-item").first).to_have_attribute("data-id", str(item_id))
    item.click()
    staff.get_by_test_id("more").click()
    staff.get_by_test_id("flag").click()  # "Remove the risk mark"
    expect(banner).to_be_hidden()
    expect(item.get_by_test_id("at-risk")).to_have_count(0)

    # Block, with a confirm step that says what it does.
    staff.get_by_test_id("more").click()
    staff.get_by_test_id("block").click()
    confirm = staff.get_by_test_id("block-confirm")
    expect(confirm).to_contain_text("cannot start a new chat from that browser")
    expect(confirm).to_contain_text("code stops working")
    staff.get_by_test_id("confirm-block").click()
    expect(staff.get_by_test_id("conv-state")).to_have_text(re.compile("^Closed"))
    expect(youth.get_by_test_id("status")).to_have_text("The conversation has ended")
    # The young person is never told about the risk mark.
    assert not any("flag" in frame for frame in received)

    # A new chat from the same tab is refused, with the server's message in the start area.
    youth.get_by_test_id("again").click()
    expect(youth.get_by_test_id("intro")).to_be_visible()
    youth.get_by_test_id("start").click()
    blocked = youth.get_by_test_id("blocked")
    expect(blocked).to_be_visible()
    expect(blocked).to_contain_text("112")
    expect(youth.get_by_test_id("chat")).to_be_hidden()
    expect(youth.get_by_test_id("start")).to_be_enabled()
    assert youth.evaluate("sessionStorage.getItem('lykta-browser')") == token

    # And the code no longer opens the conversation.
    other = new_page()
    other.get_by_test_id("resume-input").fill(code)
    other.get_by_test_id("resume-submit").click()
    expect(other.get_by_test_id("resume-error")).to_be_visible()


@pytest.mark.e2e
def test_duty_switch_and_team_state(worker: Callable[..., Page]) -> None:
    staff = worker(width=390, height=844)
    duty = staff.get_by_test_id("duty")
    expect(duty).to_have_attribute("aria-checked", re.compile("^(true|false)$"))
    # No opening hours in the demo team: closed whoever is on duty.
    expect(staff.get_by_test_id("team-state")).to_have_text("Team closed")
    box = duty.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert staff.evaluate("document.documentElement.scrollWidth") <= 390

    was = duty.get_attribute("aria-checked")
    now = "false" if was == "true" else "true"
    duty.click()
    expect(duty).to_have_attribute("aria-checked", now)
    # The server keeps it: a reload shows the same.
    staff.reload()
    expect(staff.get_by_test_id("team-state")).to_have_text("Team closed")
    expect(duty).to_have_attribute("aria-checked", now)
    duty.press("Space")  # a real button: the keyboard works
    expect(duty).to_have_attribute("aria-checked", was)
    staff.reload()
    expect(staff.get_by_test_id("team-state")).to_be_visible()
    expect(duty).to_have_attribute("aria-checked", was)
