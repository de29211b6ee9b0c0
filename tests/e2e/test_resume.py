"""Coming back: a reload, another device with the resume code, and a wrong code."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect


@pytest.mark.e2e
def test_resume_code_reopens_the_whole_conversation(start_chat, new_page, ui):
    first = start_chat()
    code = first.get_by_test_id("resume-code").inner_text()
    ui.send(first, "Första meddelandet")
    ui.send(first, "Andra meddelandet")
    expect(ui.message(first, "Andra meddelandet").get_by_test_id("msg-status")).to_have_text("Sent")

    # Only sessionStorage holds state: the code, the last seq and the (empty) outbox.
    stored = json.loads(first.evaluate(f"sessionStorage.getItem('lykta-chat-{ui.team}')"))
    assert stored["code"].replace("-", " ") == code
    assert stored["outbox"] == []
    assert first.evaluate("localStorage.length") == 0
    assert first.evaluate("document.cookie") == ""

    # A reload resumes from seq 0 and shows the whole history again.
    first.reload()
    expect(first.get_by_test_id("message")).to_have_count(2)
    expect(first.get_by_test_id("resume-code")).to_have_text(code)
    expect(first.get_by_test_id("status")).to_have_text(ui.waiting_text(first))

    # Another device: the code typed in lower case with spaces instead of hyphens.
    other = new_page()
    other.get_by_test_id("resume-input").fill(code.lower())
    other.get_by_test_id("resume-submit").click()
    expect(other.get_by_test_id("intro")).to_be_hidden()
    expect(other.locator("[data-testid=message] p.body")).to_have_text(
        ["Första meddelandet", "Andra meddelandet"]
    )
    expect(other.get_by_test_id("resume-code")).to_have_text(code)

    # Both devices are live on the same conversation.
    ui.send(other, "Från den andra telefonen")
    expect(ui.message(first, "Från den andra telefonen")).to_have_count(1)
    expect(ui.message(other, "Från den andra telefonen")).to_have_count(1)


@pytest.mark.e2e
def test_wrong_resume_code_is_refused_kindly(new_page, ui):
    page = new_page()
    page.get_by_test_id("resume-input").fill("AAAA-BBBB-CCCC-DDDD-EEEE")
    page.get_by_test_id("resume-input").press("Enter")
    error = page.get_by_test_id("resume-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(page.get_by_test_id("chat")).to_be_hidden()
    expect(page.get_by_test_id("start")).to_be_enabled()
    assert page.evaluate(f"sessionStorage.getItem('lykta-chat-{ui.team}')") is None

    # The same socket stays usable: starting a chat still works.
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    expect(error).to_be_hidden()
