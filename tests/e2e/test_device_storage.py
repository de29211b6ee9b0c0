"""What the young person's page leaves on the device: this tab only, unless they choose
"Remember me on this device"; quick exit and ending the chat leave nothing of it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend

KEYS = "area => Object.keys(window[area]).filter(k => k.startsWith('lykta-')).sort()"


def _keys(page: Page, area: str) -> list[str]:
    keys: list[str] = page.evaluate(KEYS, area)
    return keys


def _remember(page: Page) -> None:
    box = page.get_by_test_id("remember")
    expect(box).to_be_visible()  # in the open code box, beside the code
    expect(page.get_by_text("Only choose this if nobody else uses this phone")).to_be_visible()
    box.check()


@pytest.mark.e2e
def test_by_default_the_chat_stays_in_the_tab(start_chat, ui):
    page = start_chat()
    ui.send(page, "bara i den här fliken")
    expect(ui.message(page, "bara i den här fliken").get_by_test_id("msg-status")).to_have_text(
        "Sent"
    )
    expect(page.get_by_test_id("remember")).not_to_be_checked()
    assert _keys(page, "sessionStorage") == ["lykta-browser", f"lykta-chat-{ui.team}"]
    assert _keys(page, "localStorage") == []
    assert page.evaluate("document.cookie") == ""

    # Closing the tab forgets it: a new tab in the same browser starts afresh.
    context = page.context
    page.close()
    again = context.new_page()
    again.goto(f"/chat/{ui.team}")
    expect(again.get_by_test_id("start")).to_be_visible()
    expect(again.get_by_test_id("chat")).to_be_hidden()


@pytest.mark.e2e
def test_remember_me_keeps_the_chat_until_unticked(start_chat, ui):
    page = start_chat()
    code = page.get_by_test_id("resume-code").inner_text()
    _remember(page)
    assert _keys(page, "localStorage") == ["lykta-browser", f"lykta-chat-{ui.team}"]
    ui.send(page, "kom ihåg mig")
    expect(ui.message(page, "kom ihåg mig").get_by_test_id("msg-status")).to_have_text("Sent")
    token = page.evaluate("sessionStorage.getItem('lykta-browser')")
    assert page.evaluate("localStorage.getItem('lykta-browser')") == token
    assert page.evaluate("document.cookie") == ""

    # The browser closed and opened again: the same conversation, with its history.
    context = page.context
    page.close()
    page = context.new_page()
    page.goto(f"/chat/{ui.team}")
    expect(page.get_by_test_id("intro")).to_be_hidden()
    expect(page.get_by_test_id("resume-code")).to_have_text(code)
    expect(ui.message(page, "kom ihåg mig")).to_have_count(1)
    expect(page.get_by_test_id("remember")).to_be_checked()
    assert _keys(page, "sessionStorage") == ["lykta-browser", f"lykta-chat-{ui.team}"]

    # Unticking removes everything from localStorage at once; this tab keeps the chat.
    page.get_by_test_id("code-box").locator("summary").click()
    page.get_by_test_id("remember").uncheck()
    assert _keys(page, "localStorage") == []
    assert _keys(page, "sessionStorage") == ["lykta-browser", f"lykta-chat-{ui.team}"]
    page.reload()
    expect(ui.message(page, "kom ihåg mig")).to_have_count(1)
    expect(page.get_by_test_id("remember")).not_to_be_checked()
    assert _keys(page, "localStorage") == []

    other = context.new_page()
    other.goto(f"/chat/{ui.team}")
    expect(other.get_by_test_id("start")).to_be_visible()


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["button", "escape"])
def test_quick_exit_leaves_nothing_on_the_device(start_chat, server_url, ui, how):
    page = start_chat()
    _remember(page)
    ui.send(page, "snabbt bort")
    expect(ui.message(page, "snabbt bort").get_by_test_id("msg-status")).to_have_text("Sent")
    url: str = page.evaluate(
        "JSON.parse(document.getElementById('lykta-config').textContent).quick_exit_url"
    )
    page.route(
        lambda u: u.startswith(url),
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>weather</p>"),
    )
    if how == "button":
        page.get_by_test_id("quick-exit").click()
    else:
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
    page.wait_for_url(url)

    # Back on our origin in the same tab, on a page without the chat's script.
    page.goto(f"{server_url}/healthz")
    assert _keys(page, "sessionStorage") == []
    assert _keys(page, "localStorage") == []


@pytest.mark.e2e
def test_ending_the_chat_forgets_it_on_the_device(start_chat, ui):
    page = start_chat()
    _remember(page)
    ui.send(page, "nu slutar vi")
    expect(ui.message(page, "nu slutar vi").get_by_test_id("msg-status")).to_have_text("Sent")
    page.get_by_test_id("end-chat").click()
    page.get_by_test_id("end-yes").click()
    expect(page.get_by_test_id("status")).to_have_text("The conversation has ended")
    expect(page.get_by_test_id("remember")).not_to_be_checked()
    assert _keys(page, "localStorage") == []
    # Only the tab's own token stays, in this tab, so that a block still holds for it.
    assert _keys(page, "sessionStorage") == ["lykta-browser"]
    page.reload()
    expect(page.get_by_test_id("start")).to_be_visible()
