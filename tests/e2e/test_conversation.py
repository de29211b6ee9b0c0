"""A young person and a worker talk live, both ways, until the worker closes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


@pytest.mark.e2e
def test_youth_and_worker_talk_live(start_chat, worker, ui):
    staff = worker()
    before = ui.conversation_ids(staff)

    youth = start_chat(width=360, height=640)
    expect(youth.get_by_test_id("code-box")).to_have_attribute("open", "")
    expect(youth.get_by_test_id("code-box")).to_contain_text("Write this down")
    expect(youth.get_by_test_id("status")).to_have_text(ui.waiting_text(youth))
    assert youth.evaluate("document.documentElement.scrollWidth") <= 360

    # Youth -> worker, with the counter and the pending -> sent status.
    box = youth.get_by_test_id("composer-input")
    box.fill("Hej! Jag undrar en sak")
    expect(youth.get_by_test_id("counter")).to_have_text("22 / 4000")
    box.press("Enter")
    expect(box).to_have_value("")
    mine = ui.message(youth, "Hej! Jag undrar en sak")
    expect(mine.get_by_test_id("msg-status")).to_have_text("Sent")

    # With its first message the conversation appears in the worker's list, live.
    item = ui.new_conversation(staff, before)
    expect(item).to_have_attribute("data-state", "queued")
    item.click()
    expect(staff.get_by_test_id("conv-title")).to_have_text(re.compile(r"^Chat \d+$"))
    expect(ui.message(staff, "Hej! Jag undrar en sak")).to_contain_text("Young person")
    staff.get_by_test_id("take").click()
    expect(staff.get_by_test_id("conv-state")).to_have_text(f"Active · With {ui.worker_name}")
    expect(staff.get_by_test_id("take")).to_be_hidden()
    expect(youth.get_by_test_id("status")).to_have_text(f"{ui.worker_name} has joined")

    # Shift+Enter makes a new line, Enter sends.
    box.fill("rad ett")
    box.press("Shift+Enter")
    box.press_sequentially("rad två")
    box.press("Enter")
    expect(ui.message(staff, "rad ett\nrad två")).to_have_count(1)

    # Worker -> youth, shown with the worker's first name.
    staff_box = staff.get_by_test_id("composer-input")
    staff_box.fill("Hej, jag heter Anna. Vad undrar du?")
    staff.get_by_test_id("send").click()
    expect(
        ui.message(staff, "Hej, jag heter Anna. Vad undrar du?").get_by_test_id("msg-status")
    ).to_have_text("Sent")
    reply = ui.message(youth, "Hej, jag heter Anna. Vad undrar du?")
    expect(reply.locator(".who")).to_have_text(ui.worker_name)

    # Messages are in the same order on both sides.
    order = ["Hej! Jag undrar en sak", "rad ett\nrad två", "Hej, jag heter Anna. Vad undrar du?"]
    for page in (youth, staff):
        bodies = page.locator("[data-testid=message] p.body").all_inner_texts()
        assert bodies == order

    # The worker closes, with a confirm step.
    staff.get_by_test_id("close").click()
    staff.get_by_test_id("cancel-close").click()
    expect(staff.get_by_test_id("conv-state")).to_contain_text("Active")
    staff.get_by_test_id("close").click()
    staff.get_by_test_id("confirm-close").click()
    expect(staff.get_by_test_id("conv-state")).to_have_text(re.compile("^Closed"))
    expect(staff.get_by_test_id("close")).to_be_hidden()
    expect(staff.get_by_test_id("composer-input")).to_be_disabled()

    expect(youth.get_by_test_id("status")).to_have_text("The conversation has ended")
    expect(youth.get_by_test_id("composer-input")).to_be_disabled()
    expect(youth.get_by_test_id("send")).to_be_disabled()
    expect(youth.get_by_test_id("again")).to_be_visible()


@pytest.mark.e2e
def test_worker_on_a_phone_sees_list_or_conversation(start_chat, worker, ui):
    staff = worker(width=390, height=844)
    before = ui.conversation_ids(staff)
    youth = start_chat(width=390, height=844)
    ui.send(youth, "första")
    ui.send(youth, "andra")
    expect(ui.message(youth, "andra").get_by_test_id("msg-status")).to_have_text("Sent")

    item = ui.new_conversation(staff, before)
    expect(item.get_by_test_id("unread")).to_contain_text("2")
    expect(staff.get_by_test_id("composer")).to_be_hidden()

    item.click()
    expect(ui.message(staff, "andra")).to_be_visible()
    expect(staff.get_by_test_id("conversations")).to_be_hidden()
    # Replying to a waiting conversation takes it.
    ui.send(staff, "Hej!")
    expect(youth.get_by_test_id("status")).to_have_text(f"{ui.worker_name} has joined")

    staff.get_by_test_id("back").click()
    expect(staff.get_by_test_id("conversations")).to_be_visible()
    expect(staff.get_by_test_id("composer")).to_be_hidden()
    expect(item.get_by_test_id("unread")).to_have_count(0)
    expect(item).to_have_attribute("data-state", "active")

    # The phone's back button works the same way.
    item.click()
    expect(staff.get_by_test_id("conv-title")).to_be_visible()
    staff.go_back()
    expect(staff.get_by_test_id("conversations")).to_be_visible()


@pytest.mark.e2e
def test_worker_logs_out(fresh_login):
    staff = fresh_login()
    expect(staff.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    staff.get_by_test_id("menu").click()  # log out is in the menu
    staff.get_by_test_id("logout").click()
    expect(staff).to_have_url(re.compile(r"/app/login$"))
    staff.goto("/app")
    expect(staff).to_have_url(re.compile(r"/app/login$"))
