"""Message text is always shown as text: markup in a message never runs or renders."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend

YOUTH_PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
STAFF_PAYLOAD = '<img src=x onerror="window.__xss=2"><b>fet</b> & <svg onload="window.__xss=3">'


@pytest.mark.e2e
def test_markup_in_messages_is_shown_literally(start_chat, worker, ui):
    staff = worker()
    before = ui.conversation_ids(staff)
    youth = start_chat()
    ui.send(youth, YOUTH_PAYLOAD)
    expect(ui.message(youth, YOUTH_PAYLOAD).get_by_test_id("msg-status")).to_have_text("Sent")

    ui.new_conversation(staff, before).click()
    expect(ui.message(staff, YOUTH_PAYLOAD)).to_have_count(1)
    ui.send(staff, STAFF_PAYLOAD)
    expect(ui.message(youth, STAFF_PAYLOAD)).to_have_count(1)
    expect(ui.message(staff, STAFF_PAYLOAD).get_by_test_id("msg-status")).to_have_text("Sent")

    for page in (youth, staff):
        bodies = page.locator("[data-testid=message] p.body").all_text_contents()
        assert YOUTH_PAYLOAD in bodies
        assert STAFF_PAYLOAD in bodies
        expect(page.locator("[data-testid=messages] :is(img, script, svg, b)")).to_have_count(0)
        assert page.evaluate("typeof window.__xss") == "undefined"
