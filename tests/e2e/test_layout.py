"""Small screens, touch targets, keyboard use, labels and dark mode."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend

SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, input, textarea, summary')]
  .filter(e => e.offsetParent !== null && !e.classList.contains('skip'))
  .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
  .filter(([, h]) => h < 44)"""


def _fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(SMALL_TARGETS) == []
    exit_button = page.get_by_test_id("quick-exit")
    expect(exit_button).to_be_in_viewport()
    box = exit_button.bounding_box()
    assert box is not None
    assert box["y"] < 20  # on the first row of the header, not wrapped below


@pytest.mark.e2e
@pytest.mark.parametrize(("width", "height"), [(360, 640), (390, 844)])
def test_youth_page_fits_a_phone(new_page, width, height, ui):
    page = new_page(width=width, height=height)
    _fits(page, width)
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    _fits(page, width)
    expect(page.get_by_test_id("composer-input")).to_be_in_viewport()
    expect(page.get_by_test_id("send")).to_be_in_viewport()


@pytest.mark.e2e
def test_youth_page_by_keyboard_only(new_page, ui):
    page = new_page()
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    start = page.get_by_test_id("start")
    for _ in range(10):
        page.keyboard.press("Tab")
        if start.evaluate("e => e === document.activeElement"):
            break
    expect(start).to_be_focused()
    assert start.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    page.get_by_label("Your message").focus()
    page.keyboard.type("skrivet med tangentbordet")
    page.keyboard.press("Enter")
    expect(ui.message(page, "skrivet med tangentbordet")).to_have_count(1)


@pytest.mark.e2e
def test_labels_and_live_region(new_page):
    page = new_page()
    expect(page.get_by_label("Your code")).to_be_visible()
    expect(page.get_by_label("Your message")).to_have_count(1)
    # New messages are read out from a live region of their own, not the whole list (which
    # would read the history out on a resume).
    expect(page.get_by_test_id("announcer")).to_have_attribute("aria-live", "polite")
    expect(page.get_by_test_id("messages")).not_to_have_attribute("aria-live", "polite")
    for field in page.locator("input, textarea").all():
        field_id = field.get_attribute("id")
        assert page.locator(f'label[for="{field_id}"]').count() == 1


@pytest.mark.e2e
def test_dark_mode(new_page):
    page = new_page(color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 20, 20)"
    light = new_page(color_scheme="light")
    assert light.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"


@pytest.mark.e2e
def test_login_page_and_wrong_password(new_page):
    page = new_page("/app/login", width=360, height=640)
    assert page.get_by_label("E-mail address").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Password").get_attribute("autocomplete") == "current-password"
    page.get_by_label("E-mail address").fill("worker@demo.example")
    page.get_by_label("Password").fill("not the right password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_label("E-mail address")).to_have_value("worker@demo.example")


@pytest.mark.e2e
def test_unknown_team_gets_a_friendly_404(new_page):
    page = new_page(None)
    response = page.goto("/chat/no-such-team")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_test_id("error-title")).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Go to the start page")).to_have_attribute("href", "/")
