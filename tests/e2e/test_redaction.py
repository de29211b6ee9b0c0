"""A worker removes a message: "[removed]" on both sides, live and after a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

SECRET = "Jag heter Kim Lindqvist och går i 8B på Backaskolan"
CONFIRM = "Remove this message for everyone? This cannot be undone."


def bodies(page: Page) -> list[str]:
    texts: list[str] = page.locator("[data-testid=message] p.body").all_inner_texts()
    return texts


def height(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return float(box["height"])


@pytest.mark.e2e
def test_worker_removes_a_youth_message_for_everyone(start_chat, worker, new_page, ui):
    staff = worker(width=390, height=844)
    before = ui.conversation_ids(staff)
    youth = start_chat(width=390, height=844)
    code = youth.get_by_test_id("resume-code").inner_text()
    ui.send(youth, SECRET)
    ui.send(youth, "Kan ni hjälpa mig?")
    expect(ui.message(youth, "Kan ni hjälpa mig?").get_by_test_id("msg-status")).to_have_text(
        "Sent"
    )
    ui.new_conversation(staff, before).click()
    ui.send(staff, "Hej! Du behöver inte skriva ditt namn här.")
    reply = ui.message(staff, "Hej! Du behöver inte skriva ditt namn här.")
    expect(reply.get_by_test_id("msg-status")).to_have_text("Sent")
    expect(ui.message(youth, "Hej! Du behöver inte skriva ditt namn här.")).to_have_count(1)

    # Every written message can be removed, the "joined" event cannot; touch-sized.
    thread = staff.get_by_test_id("messages")
    expect(thread.get_by_test_id("remove-message")).to_have_count(3)
    expect(thread.locator(".msg.sys").get_by_test_id("remove-message")).to_have_count(0)
    remove = ui.message(staff, SECRET).get_by_test_id("remove-message")
    assert height(remove) >= 44

    # By keyboard, with a confirm step that can be cancelled.
    remove.focus()
    staff.keyboard.press("Enter")
    confirm = staff.get_by_test_id("redact-confirm")
    expect(confirm).to_contain_text(CONFIRM)
    expect(staff.get_by_test_id("redact-quote")).to_have_text(SECRET)
    expect(staff.get_by_test_id("cancel-redact")).to_be_focused()
    staff.keyboard.press("Enter")
    expect(confirm).to_be_hidden()
    expect(remove).to_be_focused()
    expect(ui.message(youth, SECRET)).to_have_count(1)

    staff.keyboard.press("Enter")
    staff.get_by_test_id("confirm-redact").click()
    expect(confirm).to_be_hidden()
    for page in (staff, youth):
        removed = ui.message(page, "[removed]")
        expect(removed).to_have_count(1)
        expect(removed.locator(".body")).to_have_css("font-style", "italic")
        expect(page.get_by_text(SECRET)).to_have_count(0)
    expect(ui.message(staff, "[removed]").get_by_test_id("remove-message")).to_have_count(0)
    expect(thread.get_by_test_id("remove-message")).to_have_count(2)
    expected = ["[removed]", "Kan ni hjälpa mig?", "Hej! Du behöver inte skriva ditt namn här."]
    assert bodies(youth) == bodies(staff) == expected

    # It stays removed: after a reload on both sides, and on another device in Swedish.
    youth.reload()
    staff.reload()
    for page in (youth, staff):
        expect(page.locator("[data-testid=message] p.body")).to_have_text(expected)
    swedish = new_page(locale="sv-SE", width=390, height=844)
    swedish.get_by_test_id("resume-input").fill(code)
    swedish.get_by_test_id("resume-submit").click()
    expect(swedish.locator("[data-testid=message] p.body")).to_have_text(
        ["[borttaget]", "Kan ni hjälpa mig?", "Hej! Du behöver inte skriva ditt namn här."]
    )
