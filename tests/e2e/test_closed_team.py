"""When the team is closed (the demo team has no opening hours), the page says so, shows
the help numbers, and takes a question that is answered later and read with the code."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import UI, Server

from lykta.teams.directory import FRESH_SECONDS

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@pytest.mark.e2e
def test_a_question_left_while_closed_is_read_later_with_the_code(
    new_page: Callable[..., Any], worker: Callable[..., Page], ui: UI
) -> None:
    staff = worker()
    before = ui.conversation_ids(staff)

    youth = new_page(width=390, height=844)
    expect(youth.get_by_test_id("closed-info")).to_contain_text("We are closed right now")
    expect(youth.get_by_test_id("closed-info")).to_contain_text("come back with it later")
    start = youth.get_by_test_id("start")
    expect(start).to_have_text("Leave a question")

    # The help numbers, as links a phone can call.
    numbers = youth.get_by_test_id("help-number")
    expect(numbers.first).to_have_attribute("href", "tel:112")
    links: list[list[str]] = numbers.evaluate_all(
        "els => els.map(e => [e.getAttribute('href'), e.textContent])"
    )
    assert len(links) >= 2
    for href, text in links:
        assert re.fullmatch(r"tel:\+?[0-9]+", href)
        assert href == "tel:" + re.sub(r"[\s-]", "", text)
    assert numbers.first.evaluate("e => e.getBoundingClientRect().height") >= 44

    start.click()
    expect(youth.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    code = youth.get_by_test_id("resume-code").inner_text()
    expect(youth.get_by_test_id("chat")).to_have_attribute("data-kind", "question")
    expect(youth.get_by_test_id("status")).to_have_text(ui.QUESTION)
    ui.send(youth, "Hur gör man om man vill prata med en kurator utan att föräldrarna vet?")
    expect(
        ui.message(
            youth, "Hur gör man om man vill prata med en kurator utan att föräldrarna vet?"
        ).get_by_test_id("msg-status")
    ).to_have_text("Sent")
    expect(youth.get_by_test_id("queue")).to_have_text(
        re.compile(r"^You are number \d+ in the queue$")
    )
    youth.close()  # the young person leaves

    # The worker sees it in the list, labelled as a question, and answers it.
    item = ui.new_conversation(staff, before)
    expect(item.get_by_test_id("kind-question")).to_have_text("Question")
    item.click()
    expect(staff.get_by_test_id("conv-kind")).to_be_visible()
    answer = "Hej! Du kan gå till skolkuratorn när du vill, det är sekretess."
    ui.send(staff, answer)
    expect(ui.message(staff, answer).get_by_test_id("msg-status")).to_have_text("Sent")

    # Later, on another device, the code opens the conversation with the answer.
    later = new_page(width=390, height=844)
    later.get_by_test_id("resume-input").fill(code)
    later.get_by_test_id("resume-submit").click()
    expect(ui.message(later, answer)).to_have_count(1)
    expect(ui.message(later, answer).locator(".who")).to_have_text(ui.worker_name)
    expect(later.get_by_test_id("status")).to_have_text(f"{ui.worker_name} has joined")
    expect(later.get_by_test_id("worker-name")).to_have_text(ui.worker_name)
    expect(later.get_by_test_id("queue")).to_be_hidden()


@pytest.mark.e2e
def test_the_closed_page_says_when_the_team_opens_next(
    server: Server, new_page: Callable[..., Any], ui: UI
) -> None:
    """Opening hours two days from now: still closed today, and the page says when."""
    [(team_id, zone)] = server.sql("SELECT id, timezone FROM teams WHERE slug = :s", s=ui.team)
    day = (dt.datetime.now(ZoneInfo(zone)) + dt.timedelta(days=2)).date()
    [(row,)] = server.sql(
        "INSERT INTO opening_hours (team_id, weekday, opens, closes) "
        "VALUES (:team, :day, '15:00', '21:00') RETURNING id",
        team=team_id,
        day=day.weekday(),
    )
    # Written straight to the database, as by another node: the server sees it within
    # FRESH_SECONDS (``teams.directory``).
    time.sleep(FRESH_SECONDS)
    try:
        page = new_page()
        expect(page.get_by_test_id("start")).to_have_text("Leave a question")
        expect(page.get_by_test_id("next-opening")).to_have_text(
            f"We open again {WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} 15:00."
        )
    finally:
        server.sql("DELETE FROM opening_hours WHERE id = :id", id=row)
    time.sleep(FRESH_SECONDS)
    expect(new_page().get_by_test_id("next-opening")).to_have_count(0)
