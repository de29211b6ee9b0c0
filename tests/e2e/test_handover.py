"""A worker on a phone answers two young people at once, then hands one conversation to a
colleague with an internal note that the young person never sees."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import UI

NOTE = "Anteckning: vill prata om skolan, ring inte hem"
HANDOVER_NOTE = "Överlämning: Bo kan skolfrågor bäst"


def youth_page(new_page: Callable[..., Page], received: list[str], ui: UI) -> Page:
    """A young person's phone with a started chat; every frame it receives is kept."""
    page = new_page(None, width=390, height=844)
    page.on(
        "websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(str(frame)))
    )
    page.goto(f"/chat/{ui.team}")
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    return page


@pytest.mark.e2e
def test_two_chats_at_once_on_a_phone_and_a_hand_over(
    colleague: Callable[..., Page],
    worker: Callable[..., Page],
    new_page: Callable[..., Any],
    ui: UI,
) -> None:
    bo = colleague()  # Bo is logged in on his own computer
    staff = worker(width=390, height=844)
    before = ui.conversation_ids(staff)

    first_frames: list[str] = []
    first = youth_page(new_page, first_frames, ui)
    ui.send(first, "Hej, jag är den första")
    item1 = ui.new_conversation(staff, before)
    id1 = item1.get_attribute("data-id")
    assert id1
    second_frames: list[str] = []
    second = youth_page(new_page, second_frames, ui)
    ui.send(second, "Hej, jag är den andra")
    item2 = ui.new_conversation(staff, [*before, id1])
    id2 = item2.get_attribute("data-id")
    assert id2
    item1, item2 = ui.item(staff, id1), ui.item(staff, id2)
    chat1 = item1.locator("strong").first.inner_text()

    # Anna answers the first, then the second.
    item1.click()
    expect(ui.message(staff, "Hej, jag är den första")).to_be_visible()
    ui.send(staff, "Hej! Anna här, vad undrar du?")
    expect(
        ui.message(staff, "Hej! Anna här, vad undrar du?").get_by_test_id("msg-status")
    ).to_have_text("Sent")
    expect(ui.message(first, "Hej! Anna här, vad undrar du?")).to_have_count(1)
    expect(first.get_by_test_id("worker-name")).to_have_text(ui.worker_name)

    # An internal note on the first conversation.
    staff.get_by_test_id("notes-toggle").click()
    staff.get_by_test_id("note-input").fill(NOTE)
    staff.get_by_test_id("note-add").click()
    expect(staff.get_by_test_id("note")).to_contain_text([NOTE])
    expect(staff.get_by_test_id("notes-toggle")).to_have_text("Notes (1)")

    staff.get_by_test_id("back").click()
    item2.click()
    expect(ui.message(staff, "Hej, jag är den andra")).to_be_visible()
    expect(staff.get_by_test_id("note")).to_have_count(0)  # notes belong to their conversation
    ui.send(staff, "Hej andra! Jag lyssnar.")
    expect(ui.message(staff, "Hej andra! Jag lyssnar.").get_by_test_id("msg-status")).to_have_text(
        "Sent"
    )
    expect(ui.message(second, "Hej andra! Jag lyssnar.")).to_have_count(1)

    # The first writes while the second is in front: a notice, and an unread badge.
    ui.send(first, "Jag har en fråga till")
    toast = staff.get_by_test_id("toast")
    expect(toast).to_have_text(f"New message in {chat1}")
    expect(staff).to_have_title(re.compile(r"^\(\d+\) "))
    staff.get_by_test_id("back").click()
    expect(item1.get_by_test_id("unread")).to_contain_text("1")
    expect(item2.get_by_test_id("unread")).to_have_count(0)

    # The notice leads to the conversation; both stayed live while not in front.
    toast.get_by_role("link").click()
    expect(staff.get_by_test_id("conv-title")).to_have_text(chat1)
    expect(ui.message(staff, "Jag har en fråga till")).to_be_visible()
    assert staff.locator("[data-testid=message] p.body").all_inner_texts() == [
        "Hej, jag är den första",
        "Hej! Anna här, vad undrar du?",
        "Jag har en fråga till",
    ]
    expect(item1.get_by_test_id("unread")).to_have_count(0)

    # Hand over the first conversation to Bo, with a note.
    staff.get_by_test_id("more").click()
    staff.get_by_test_id("handover").click()
    dialog = staff.get_by_test_id("handover-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label(ui.worker_name, exact=True)).to_have_count(0)  # not to herself
    dialog.get_by_label(ui.colleague_name, exact=True).check()
    dialog.get_by_test_id("handover-note").fill(HANDOVER_NOTE)
    dialog.get_by_test_id("handover-submit").click()
    expect(dialog).to_be_hidden()
    expect(staff.get_by_test_id("conv-state")).to_have_text(f"Active · With {ui.colleague_name}")

    # Bo sees it arrive, assigned to him, with both internal notes.
    bo_item = ui.item(bo, id1)
    expect(bo_item).to_contain_text(f"With {ui.colleague_name}")
    expect(bo.get_by_test_id("toast")).to_have_text(f"{chat1} was handed to you")
    bo_item.click()
    expect(bo.get_by_test_id("conv-state")).to_have_text(f"Active · With {ui.colleague_name}")
    expect(bo.get_by_test_id("notes")).to_be_visible()
    expect(bo.get_by_test_id("notes")).to_contain_text(
        "Internal note — never shown to the young person"
    )
    expect(bo.get_by_test_id("note")).to_contain_text([NOTE, HANDOVER_NOTE])
    expect(ui.message(bo, "Jag har en fråga till")).to_be_visible()

    # The young person sees who answers now.
    expect(first.get_by_test_id("status")).to_have_text(f"{ui.colleague_name} has joined")
    expect(first.get_by_test_id("worker-name")).to_have_text(ui.colleague_name)
    expect(ui.message(first, f"{ui.colleague_name} joined the conversation")).to_have_count(1)
    ui.send(bo, "Hej, jag heter Bo och tar över.")
    reply = ui.message(first, "Hej, jag heter Bo och tar över.")
    expect(reply.locator(".who")).to_have_text(ui.colleague_name)
    # Anna still follows it live.
    expect(ui.message(staff, "Hej, jag heter Bo och tar över.")).to_have_count(1)

    # Anna hands the second back to the queue: the young person is told.
    staff.get_by_test_id("back").click()
    ui.item(staff, id2).click()
    staff.get_by_test_id("more").click()
    staff.get_by_test_id("handover").click()
    dialog.get_by_label("Back to the queue", exact=True).check()
    dialog.get_by_test_id("handover-submit").click()
    expect(staff.get_by_test_id("conv-state")).to_have_text("Waiting")
    expect(staff.get_by_test_id("take")).to_be_visible()
    expect(ui.message(staff, "Put back in the queue")).to_have_count(1)
    expect(
        ui.message(second, "You are back in the queue; the next available worker will answer")
    ).to_have_count(1)
    expect(second.get_by_test_id("status")).to_have_text(ui.waiting_text(second))
    expect(second.get_by_test_id("worker-card")).to_be_hidden()
    expect(second.get_by_test_id("queue")).to_be_visible()

    # Internal notes never reach a young person's page, not even on the wire.
    for page, frames in ((first, first_frames), (second, second_frames)):
        content = page.content()
        assert NOTE not in content
        assert HANDOVER_NOTE not in content
        assert not any(NOTE in f or HANDOVER_NOTE in f for f in frames)
        assert not any('"type":"note"' in f.replace(" ", "") for f in frames)
