"""On a 360×640 touch phone: the worker app one-handed, the young person's page, reduced
motion, and a larger system font size.

Thumb reach, as checked here: on a 640 px high screen held in one hand, the lower third
(y ≥ 427) is where the thumb rests. The worker's duty switch (list), the conversation's
actions, the ready-replies button, the reply box and Send all lie entirely there. The list
entries start under the one-row header and fill the middle; the Back link is at the top
left, out of reach, and the phone's own back button or gesture does the same. With twice
the default font size the page scrolls as one: the composer stays at the bottom of the
screen, and the actions are at the end of the conversation, just above it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import ADMIN_PAGES, UI, Server, add_ready_reply

# What this checks (layout and touch targets) is the same on SQLite and on
# PostgreSQL + Redis: CI runs it once.
pytestmark = pytest.mark.one_backend

WIDTH, HEIGHT = 360, 640
LOWER_THIRD = HEIGHT * 2 / 3
PHONE = {"width": WIDTH, "height": HEIGHT, "is_mobile": True, "has_touch": True}

# Every visible control smaller than 44×44 CSS px. A control's target is its own box or,
# for a checkbox or radio button, its label's (a tap on the label works the same).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), textarea, select, summary, [tabindex="0"]')]
  .filter(e => e.getClientRects().length && !e.classList.contains('skip')
    && getComputedStyle(e).visibility !== 'hidden')
  .filter(e => ![e, ...(e.labels || [])].some(x => {
    const r = x.getBoundingClientRect();
    return r.width >= 43.5 && r.height >= 43.5;
  }))
  .map(e => {
    const r = e.getBoundingClientRect();
    return `${e.outerHTML.slice(0, 80)} ${Math.round(r.width)}×${Math.round(r.height)}`;
  })"""

# Every transition and animation duration on the page (elements and their ::before and
# ::after), in seconds.
DURATIONS = """() => {
  const out = new Set();
  for (const e of document.querySelectorAll('*')) {
    for (const pseudo of [null, '::before', '::after']) {
      const s = getComputedStyle(e, pseudo);
      for (const d of (s.transitionDuration + ',' + s.animationDuration).split(',')) {
        out.add(parseFloat(d) * (d.trim().endsWith('ms') ? 0.001 : 1));
      }
    }
  }
  return [...out];
}"""


UNCOVERED = """e => {
  const r = e.getBoundingClientRect();
  return e.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
}"""


def fits(page: Page) -> None:
    """No sideways scrolling, and every control is a 44 px target."""
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert page.evaluate(SMALL_TARGETS) == []


def in_thumb_reach(page: Page, test_id: str) -> None:
    """Entirely on screen, and in the lower third."""
    box = page.get_by_test_id(test_id).bounding_box()
    assert box is not None, test_id
    assert box["x"] >= 0, (test_id, box)
    assert box["x"] + box["width"] <= WIDTH, (test_id, box)
    assert box["y"] >= LOWER_THIRD, (test_id, box)
    assert box["y"] + box["height"] <= HEIGHT, (test_id, box)


def font_size(page: Page, pixels: int) -> None:
    """The browser's default font size, as a person sets it in Chromium's settings (Font
    size): the DevTools protocol's Page.setFontSizes changes that same preference."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": pixels, "fixed": pixels}})


@pytest.mark.e2e
def test_worker_app_one_handed_on_a_phone(
    server: Server,
    new_page: Callable[..., Page],
    worker_session: dict[str, Any],
    ui: UI,
) -> None:
    add_ready_reply(server, ui.team, "phone", "Hej! Jag heter {name}.")
    staff = new_page("/app", storage_state=worker_session, **PHONE)
    expect(staff.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    before = ui.conversation_ids(staff)

    # The list: a one-row header, the duty switch at the bottom.
    header = staff.locator("header.top").bounding_box()
    assert header is not None
    assert header["height"] <= 56
    expect(staff.get_by_test_id("team-state")).to_be_visible()
    in_thumb_reach(staff, "duty")
    fits(staff)

    youth = new_page(**PHONE)
    youth.get_by_test_id("start").tap()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    ui.send(youth, "Hej från en telefon")
    item = ui.new_conversation(staff, before)
    # The shared demo team may have a long list by now: waiting chats are in queue order,
    # so the new one can be at the end, which must scroll fully into view (not stay under
    # the duty bar).
    item.evaluate("e => e.scrollIntoView({block: 'nearest'})")  # the list re-renders
    expect(item).to_be_in_viewport(ratio=1)
    fits(staff)

    # The conversation: the actions, the ready replies and the composer at the bottom.
    item.tap()
    expect(staff.get_by_test_id("conv-title")).to_be_visible()
    expect(staff.get_by_test_id("conversations")).to_be_hidden()
    for test_id in ("take", "notes-toggle", "close", "canned-toggle", "composer-input", "send"):
        in_thumb_reach(staff, test_id)
    fits(staff)
    staff.get_by_test_id("take").tap()
    expect(staff.get_by_test_id("take")).to_be_hidden()
    for test_id in ("notes-toggle", "more", "close", "canned-toggle", "composer-input", "send"):
        in_thumb_reach(staff, test_id)
    staff.get_by_test_id("more").tap()
    expect(staff.get_by_test_id("handover")).to_be_in_viewport(ratio=1)
    fits(staff)
    staff.get_by_test_id("more").tap()

    # Ready replies from the button: the list opens above it, a tap fills the box.
    staff.get_by_test_id("canned-toggle").tap()
    choice = staff.get_by_test_id("canned-list").locator("[data-key=phone]")
    expect(choice).to_be_in_viewport(ratio=1)
    fits(staff)
    choice.tap()
    expect(staff.get_by_test_id("composer-input")).to_have_value(
        f"Hej! Jag heter {ui.worker_name}."
    )
    staff.get_by_test_id("send").tap()
    expect(ui.message(youth, f"Hej! Jag heter {ui.worker_name}.")).to_have_count(1)

    # Closing: the confirm step opens at the bottom too.
    staff.get_by_test_id("close").tap()
    expect(staff.get_by_test_id("confirm-close")).to_be_in_viewport(ratio=1)
    fits(staff)
    staff.get_by_test_id("cancel-close").tap()

    # Back to the list, where the duty switch works with a tap (and is put back).
    staff.get_by_test_id("back").tap()
    expect(staff.get_by_test_id("conversations")).to_be_visible()
    duty = staff.get_by_test_id("duty")
    was = duty.get_attribute("aria-checked")
    duty.tap()
    expect(duty).not_to_have_attribute("aria-checked", was or "")
    duty.tap()
    expect(duty).to_have_attribute("aria-checked", was or "")
    in_thumb_reach(staff, "duty")


@pytest.mark.e2e
def test_youth_page_on_a_phone(new_page: Callable[..., Page], ui: UI) -> None:
    youth = new_page(**PHONE)
    fits(youth)
    youth.get_by_test_id("start").tap()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    fits(youth)
    in_thumb_reach(youth, "composer-input")
    in_thumb_reach(youth, "send")
    expect(youth.get_by_test_id("quick-exit")).to_be_in_viewport(ratio=1)


@pytest.mark.e2e
def test_reduced_motion_stops_every_transition_and_animation(
    new_page: Callable[..., Page], worker_session: dict[str, Any]
) -> None:
    moving = new_page("/app", storage_state=worker_session, reduced_motion="no-preference")
    expect(moving.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    assert max(moving.evaluate(DURATIONS)) > 0  # the duty switch's knob slides

    still = new_page("/app", storage_state=worker_session, reduced_motion="reduce")
    expect(still.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    assert still.evaluate(DURATIONS) == [0]
    assert still.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "auto"
    youth = new_page(reduced_motion="reduce")
    assert youth.evaluate(DURATIONS) == [0]


@pytest.mark.e2e
def test_a_large_system_font_keeps_the_composer_in_view(
    new_page: Callable[..., Page], worker_session: dict[str, Any], ui: UI
) -> None:
    """Twice the default font size (32 px), on a 360×640 phone."""
    staff = new_page(None, storage_state=worker_session, **PHONE)
    font_size(staff, 32)
    staff.goto("/app")
    expect(staff.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    # The page follows the setting: nothing fixes the root font size in px.
    assert staff.evaluate("getComputedStyle(document.documentElement).fontSize") == "32px"
    before = ui.conversation_ids(staff)
    expect(staff.get_by_test_id("duty")).to_be_in_viewport(ratio=1)

    youth = new_page(None, **PHONE)
    font_size(youth, 32)
    youth.goto("/chat/" + ui.team)
    assert youth.evaluate("getComputedStyle(document.body).fontSize") == "32px"
    youth.get_by_test_id("start").tap()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    ui.send(youth, "Stor text")
    for test_id in ("composer-input", "send"):
        expect(youth.get_by_test_id(test_id)).to_be_in_viewport(ratio=1)
    assert youth.evaluate("document.documentElement.scrollWidth") <= WIDTH

    item = ui.new_conversation(staff, before)
    item.tap()
    expect(staff.get_by_test_id("conv-title")).to_have_text(re.compile(r"\d"))
    for test_id in ("composer-input", "send"):
        expect(staff.get_by_test_id(test_id)).to_be_in_viewport(ratio=1)
    # The page scrolls as one; the actions are at the end of the conversation, just above
    # the composer, and nothing covers them there.
    for test_id in ("take", "close"):
        button = staff.get_by_test_id(test_id)
        button.scroll_into_view_if_needed()
        expect(button).to_be_in_viewport(ratio=1)
        assert button.evaluate(UNCOVERED), test_id
    box = staff.get_by_test_id("composer-input").bounding_box()
    assert box is not None
    assert box["height"] >= 2 * 32  # at least a line of text, and its padding
    assert staff.evaluate("document.documentElement.scrollWidth") <= WIDTH
    staff.get_by_test_id("composer-input").fill("Svar i stor text")
    staff.get_by_test_id("send").tap()
    expect(ui.message(youth, "Svar i stor text")).to_have_count(1)


WORKER_PAGES = [
    "/app/profile",
    *("/app/admin/" + name for name in ADMIN_PAGES),
]


@pytest.mark.e2e
def test_every_worker_page_fits_a_phone(
    new_page: Callable[..., Page], worker_session: dict[str, Any]
) -> None:
    """The login page, the account page and every admin page: no sideways scrolling of the
    page, and every control a 44 px target."""
    login = new_page("/app/login", **PHONE)
    fits(login)
    staff = new_page(None, storage_state=worker_session, **PHONE)
    found = {}
    for path in WORKER_PAGES:
        staff.goto(path)
        expect(staff).to_have_url(re.compile(re.escape(path) + "$"))
        small = staff.evaluate(SMALL_TARGETS)
        wide = staff.evaluate("document.documentElement.scrollWidth")
        if small or wide > WIDTH:
            found[path] = (wide, small)
    assert found == {}
