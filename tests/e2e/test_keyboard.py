"""A whole chat with the keyboard alone, on both sides: Tab, Shift+Tab, Enter, Space, the
arrow keys and Escape; no mouse, no clicks and no focus set by the test. Where focus is
is checked on the way, and that it can be seen. New messages reach a live region."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from tests.e2e.conftest import UI, Server, add_ready_reply

# What this checks (keyboard and focus behaviour) is the same on SQLite and on
# PostgreSQL + Redis: CI runs it once.
pytestmark = pytest.mark.one_backend

READY_REPLY = "Hej, det är {name} på {team}. Vad vill du prata om?"

IS_FOCUSED = "s => !!document.activeElement && document.activeElement.matches(s)"
FOCUS_RING = """() => {
  const s = getComputedStyle(document.activeElement);
  return {outline: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow};
}"""


def focused(page: Page, selector: str) -> None:
    """Focus is on ``selector`` (now or once the page has moved it), and shows: an outline
    of 2 px or more, or a box shadow."""
    try:
        page.wait_for_function(IS_FOCUSED, arg=selector, timeout=5_000)
    except PlaywrightTimeoutError:
        where = page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
        pytest.fail(f"focus is on {where}, not {selector}")
    ring = page.evaluate(FOCUS_RING)
    assert (ring["outline"] != "none" and ring["width"] >= 2) or ring["shadow"] != "none", ring


def tab_to(page: Page, selector: str, *, back: bool = False, limit: int = 200) -> None:
    """Tab (or Shift+Tab) until ``selector`` has focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if page.evaluate(IS_FOCUSED, selector):
            break
    focused(page, selector)


def said(page: Page) -> str:
    """What the page's live region says: it must be polite, and say it now."""
    region = page.get_by_test_id("announcer")
    expect(region).to_have_attribute("aria-live", "polite")
    return region.inner_text()


@pytest.mark.e2e
def test_a_whole_chat_by_keyboard(
    server: Server,
    new_page: Callable[..., Page],
    worker: Callable[..., Page],
    ui: UI,
) -> None:
    add_ready_reply(server, ui.team, "kb", READY_REPLY)
    staff = worker()
    before = ui.conversation_ids(staff)

    # The young person: Tab to the start button, Enter; the code box has focus.
    youth = new_page(width=1024, height=768)
    tab_to(youth, "[data-testid=start]")
    youth.keyboard.press("Enter")
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    focused(youth, "[data-testid=code-box] summary")
    tab_to(youth, "[data-testid=composer-input]")
    youth.keyboard.type("Hej, jag skriver med tangentbordet")
    youth.keyboard.press("Enter")
    expect(ui.message(youth, "Hej, jag skriver med tangentbordet")).to_have_count(1)

    # The worker: Tab to the new conversation in the list, Enter opens it.
    item = ui.new_conversation(staff, before)
    conversation_id = item.get_attribute("data-id")
    tab_to(staff, f'[data-testid=conv-item][data-id="{conversation_id}"]')
    staff.keyboard.press("Enter")
    expect(staff.get_by_test_id("conv-title")).to_have_text(re.compile(r"^Chat \d+$"))
    assert staff.evaluate(IS_FOCUSED, "[data-testid=conv-title]")
    expect(ui.message(staff, "Hej, jag skriver med tangentbordet")).to_have_count(1)
    # The history is on the page, but not read out as news.
    assert "Hej, jag skriver med tangentbordet" not in said(staff)

    # Take: the reply box has focus next.
    tab_to(staff, "[data-testid=take]")
    staff.keyboard.press("Enter")
    expect(youth.get_by_test_id("status")).to_have_text(f"{ui.worker_name} has joined")
    focused(staff, "[data-testid=composer-input]")

    # A ready reply from the button beside the reply box: Enter opens the list with focus
    # on the first, the arrow keys move, Enter puts it in the box, Enter sends.
    tab_to(staff, "[data-testid=canned-toggle]", back=True)
    expect(staff.get_by_test_id("canned-toggle")).to_have_attribute("aria-expanded", "false")
    staff.keyboard.press("Enter")
    expect(staff.get_by_test_id("canned-list")).to_be_visible()
    expect(staff.get_by_test_id("canned-toggle")).to_have_attribute("aria-expanded", "true")
    items = staff.get_by_test_id("canned-list").locator("button")
    count = items.count()
    focused(staff, "[data-testid=canned-list] li:first-child button")
    staff.keyboard.press("ArrowUp")  # wraps round to the last
    focused(staff, "[data-testid=canned-list] li:last-child button")
    for _ in range(count):
        if staff.evaluate(IS_FOCUSED, "[data-key=kb]"):
            break
        staff.keyboard.press("ArrowDown")
    focused(staff, "[data-key=kb]")
    staff.keyboard.press("Enter")
    team_name = youth.get_by_test_id("team-name").inner_text()
    expected = f"Hej, det är {ui.worker_name} på {team_name}. Vad vill du prata om?"
    expect(staff.get_by_test_id("composer-input")).to_have_value(expected)
    expect(staff.get_by_test_id("canned-list")).to_be_hidden()
    focused(staff, "[data-testid=composer-input]")
    staff.keyboard.press("Enter")

    # The young person hears it: the new message is in the polite live region.
    expect(ui.message(youth, expected)).to_have_count(1)
    expect(youth.get_by_test_id("announcer")).to_have_text(f"{ui.worker_name}: {expected}")
    assert said(youth) == f"{ui.worker_name}: {expected}"
    youth.keyboard.type("Om skolan")
    youth.keyboard.press("Enter")
    expect(staff.get_by_test_id("announcer")).to_have_text("Young person: Om skolan")
    assert said(staff) == "Young person: Om skolan"

    # Hand-over: a modal dialog keeps focus inside; Escape closes it and focus returns.
    tab_to(staff, "[data-testid=more]")
    staff.keyboard.press("Enter")
    expect(staff.get_by_test_id("more")).to_have_attribute("aria-expanded", "true")
    tab_to(staff, "[data-testid=handover]", limit=1)
    staff.keyboard.press("Enter")
    dialog = staff.get_by_test_id("handover-dialog")
    expect(dialog).to_be_visible()
    for _ in range(8):
        assert staff.evaluate("() => document.activeElement.closest('dialog') !== null")
        staff.keyboard.press("Tab")
    assert staff.evaluate("() => document.activeElement.closest('dialog') !== null")
    staff.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    focused(staff, "[data-testid=more]")

    # Close: Escape leaves the confirm step; then topics with Space, an outcome with the
    # arrow keys, and Enter on "Yes, close it".
    tab_to(staff, "[data-testid=close]")
    staff.keyboard.press("Enter")
    form = staff.get_by_test_id("close-form")
    expect(form).to_be_visible()
    focused(staff, "[data-testid=cancel-close]")
    staff.keyboard.press("Escape")
    expect(form).to_be_hidden()
    focused(staff, "[data-testid=close]")
    staff.keyboard.press("Space")
    expect(form).to_be_visible()
    tab_to(staff, "[data-testid=topics] input", back=True)
    staff.keyboard.press("Space")
    expect(form.get_by_test_id("topics").locator("input:checked")).to_have_count(1)
    tab_to(staff, "[data-testid=outcomes] input")
    staff.keyboard.press("Space")
    outcomes = form.get_by_test_id("outcomes").locator("input")
    chosen = outcomes.evaluate_all("els => els.findIndex(e => e.checked)")
    assert chosen >= 0
    staff.keyboard.press("ArrowRight")  # the next one (the first after the last)
    expect(outcomes.nth((chosen + 1) % outcomes.count())).to_be_checked()
    expect(form.get_by_test_id("outcomes").locator("input:checked")).to_have_count(1)
    tab_to(staff, "[data-testid=confirm-close]")
    staff.keyboard.press("Enter")
    expect(staff.get_by_test_id("conv-state")).to_have_text(re.compile("^Closed"))

    # The young person sees the end and answers "Did this help?" by keyboard.
    expect(youth.get_by_test_id("status")).to_have_text("The conversation has ended")
    expect(youth.get_by_test_id("feedback")).to_be_visible()
    tab_to(youth, "[data-testid=feedback-yes]")
    youth.keyboard.press("Space")
    expect(youth.get_by_test_id("feedback-thanks")).to_be_visible()
    assert youth.evaluate(IS_FOCUSED, "[data-testid=feedback-thanks]")
