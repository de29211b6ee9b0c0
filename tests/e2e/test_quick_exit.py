"""Quick exit leaves at once, replaces the page in the history and forgets the chat."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend


def _exit_url(page: Page) -> str:
    url: str = page.evaluate(
        "JSON.parse(document.getElementById('lykta-config').textContent).quick_exit_url"
    )
    return url


def _intercept(page: Page, url: str) -> None:
    """The exit page is on another site: answer it locally so the test needs no network."""
    page.route(
        lambda u: u.startswith(url),
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>weather</p>"),
    )


@pytest.mark.e2e
def test_quick_exit_button_replaces_the_page(start_chat, server_url, ui):
    page = start_chat()
    ui.send(page, "hemligt")
    expect(ui.message(page, "hemligt").get_by_test_id("msg-status")).to_have_text("Sent")
    url = _exit_url(page)
    _intercept(page, url)
    length = page.evaluate("history.length")

    button = page.get_by_test_id("quick-exit")
    expect(button).to_be_in_viewport()
    button.click()
    page.wait_for_url(url)
    assert page.evaluate("history.length") == length

    # Coming back in the same tab shows the start, not the conversation.
    page.goto(f"{server_url}/chat/{ui.team}")
    expect(page.get_by_test_id("start")).to_be_visible()
    expect(page.get_by_test_id("chat")).to_be_hidden()


@pytest.mark.e2e
def test_escape_twice_leaves(new_page):
    page = new_page()
    url = _exit_url(page)
    _intercept(page, url)
    length = page.evaluate("history.length")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(url)
    assert page.evaluate("history.length") == length
