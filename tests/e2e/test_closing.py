"""Ending a conversation: the worker closes with topics and an outcome, or the young person
ends it; then the one optional question "Did this help?"."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import UI, Server


def stored(server: Server, conversation_id: str) -> tuple[Any, ...]:
    rows = server.sql(
        "SELECT state, topics, outcome, feedback FROM conversations WHERE id = :id",
        id=conversation_id,
    )
    assert len(rows) == 1
    state, topics, outcome, feedback = rows[0]
    if isinstance(topics, str):  # SQLite hands JSON back as text, PostgreSQL as a list
        topics = json.loads(topics)
    return state, topics, outcome, feedback


@pytest.mark.e2e
def test_closing_with_topics_and_outcome_then_did_this_help(
    server: Server,
    start_chat: Callable[..., Page],
    worker: Callable[..., Page],
    new_page: Callable[..., Any],
    ui: UI,
) -> None:
    staff = worker()
    before = ui.conversation_ids(staff)
    youth = start_chat()
    code = youth.get_by_test_id("resume-code").inner_text()
    ui.send(youth, "Det är jobbigt hemma och i skolan")
    item = ui.new_conversation(staff, before)
    conversation_id = item.get_attribute("data-id")
    assert conversation_id
    item.click()
    staff.get_by_test_id("take").click()
    expect(youth.get_by_test_id("status")).to_have_text(f"{ui.worker_name} has joined")
    expect(youth.get_by_test_id("feedback")).to_be_hidden()

    # Closing asks for the team's topics and an outcome.
    staff.get_by_test_id("close").click()
    form = staff.get_by_test_id("close-form")
    expect(form).to_be_visible()
    expect(form.get_by_test_id("topics").get_by_role("checkbox")).not_to_have_count(0)
    expect(form.get_by_test_id("outcomes").get_by_role("radio")).not_to_have_count(0)
    form.get_by_label("school", exact=True).check()
    form.get_by_label("family", exact=True).check()
    form.get_by_label("referral", exact=True).check()
    staff.get_by_test_id("confirm-close").click()
    expect(staff.get_by_test_id("conv-state")).to_have_text(re.compile("^Closed"))
    expect(form).to_be_hidden()
    state, topics, outcome, _ = stored(server, conversation_id)
    assert (state, sorted(topics), outcome) == (
        "closed",
        ["family", "school"],
        "referral",
    )

    # The young person sees it ended, and may answer the one question.
    expect(youth.get_by_test_id("status")).to_have_text("The conversation has ended")
    expect(youth.get_by_test_id("end-chat")).to_be_hidden()
    feedback = youth.get_by_test_id("feedback")
    expect(feedback).to_contain_text("Did this help?")
    youth.get_by_test_id("feedback-partly").click()
    expect(youth.get_by_test_id("feedback-thanks")).to_be_visible()
    expect(feedback).to_be_hidden()

    # Asked once: coming back with the code does not ask again.
    other = new_page()
    other.get_by_test_id("resume-input").fill(code)
    other.get_by_test_id("resume-submit").click()
    expect(other.get_by_test_id("status")).to_have_text("The conversation has ended")
    expect(other.get_by_test_id("feedback")).to_be_hidden()
    assert stored(server, conversation_id)[3] == "partly"


@pytest.mark.e2e
def test_the_young_person_ends_the_chat(
    start_chat: Callable[..., Page], worker: Callable[..., Page], ui: UI
) -> None:
    staff = worker()
    before = ui.conversation_ids(staff)
    youth = start_chat()
    ui.send(youth, "Jag vill bara testa")
    item = ui.new_conversation(staff, before)

    # A confirm step first; cancelling changes nothing.
    youth.get_by_test_id("end-chat").click()
    confirm = youth.get_by_test_id("end-confirm")
    expect(confirm).to_be_visible()
    expect(youth.get_by_test_id("end-no")).to_be_focused()
    youth.get_by_test_id("end-no").click()
    expect(confirm).to_be_hidden()
    expect(youth.get_by_test_id("composer-input")).to_be_enabled()

    youth.get_by_test_id("end-chat").click()
    youth.get_by_test_id("end-yes").click()
    expect(youth.get_by_test_id("status")).to_have_text("The conversation has ended")
    expect(youth.get_by_test_id("message").last).to_have_text("The conversation has ended")
    expect(youth.get_by_test_id("composer-input")).to_be_disabled()
    expect(youth.get_by_test_id("feedback")).to_be_visible()
    expect(youth.get_by_test_id("again")).to_be_visible()

    expect(item).to_have_attribute("data-state", "closed")
    youth.get_by_test_id("feedback-yes").click()
    expect(youth.get_by_test_id("feedback-thanks")).to_have_text("Thank you for answering!")
