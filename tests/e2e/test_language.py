"""The page speaks the visitor's language: Accept-Language, the default, and the switcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Page, expect

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend

SV_PO = Path(__file__).resolve().parents[2] / "src/lykta/locale/sv/LC_MESSAGES/messages.po"


def swedish(source: str) -> str | None:
    """The Swedish catalogue's translation of ``source``, once there is one."""
    if not SV_PO.exists():
        return None
    with SV_PO.open("rb") as handle:
        message = read_po(handle, locale="sv").get(source)
    return str(message.string) if message is not None and message.string else None


def start_label(page: Page) -> str:
    """The Start button's English text: the team is open (a chat) or closed (a question)."""
    open_now = page.get_by_test_id("start").get_attribute("data-open") == "true"
    return "Start a chat" if open_now else "Leave a question"


@pytest.mark.e2e
def test_accept_language_english(new_page):
    page = new_page(locale="en-US")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("start")).to_have_text(start_label(page))
    expect(page.get_by_test_id("lang-en")).to_have_attribute("aria-current", "true")


@pytest.mark.e2e
def test_swedish_by_default_and_the_switcher_changes_language(new_page):
    page = new_page(locale="de-DE")  # a language Lykta does not have: the default applies
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_test_id("lang-sv")).to_have_attribute("aria-current", "true")
    translated = swedish(start_label(page))
    if translated is not None:
        expect(page.get_by_test_id("start")).to_have_text(translated)
    strings = page.evaluate("JSON.parse(document.getElementById('lykta-strings').textContent)")
    if swedish("Sent") is not None:
        assert strings["sent"] == swedish("Sent")

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("start")).to_have_text(start_label(page))
    expect(page.get_by_test_id("lang-en")).to_have_attribute("aria-current", "true")

    page.get_by_test_id("lang-sv").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
