"""A team admin invites a worker, who sets a password, enrols TOTP, logs in, and sees
only their own team's conversations — in Chromium, through the real pages."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import UI, Server

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend

PASSWORD = "nora's own long passphrase"


def other_team_conversation(server: Server, new_page: Callable[..., Page], ui: UI) -> str:
    """A second team on the same installation, with a conversation in it; its id."""
    server.lykta("team", "create", "other", "--name", "Annat team")
    youth = new_page("/chat/other")
    youth.get_by_test_id("start").click()
    ui.send(youth, "hemligt, bara för det andra teamet")
    expect(
        ui.message(youth, "hemligt, bara för det andra teamet").get_by_test_id("msg-status")
    ).to_have_text("Sent")
    rows = server.sql(
        "SELECT c.id FROM conversations c JOIN teams t ON t.id = c.team_id WHERE t.slug = 'other'"
    )
    return str(rows[0][0])


@pytest.mark.e2e
def test_invitation_to_login_sees_only_own_team(
    server: Server,
    worker: Callable[..., Page],
    new_page: Callable[..., Any],
    start_chat: Callable[..., Page],
    ui: UI,
) -> None:
    foreign = other_team_conversation(server, new_page, ui)
    own = start_chat()
    ui.send(own, "hej från demo-teamet")

    admin = worker()
    admin.goto("/app/admin/members")
    admin.get_by_label("E-mail address").fill("nora@demo.example")
    admin.get_by_label("Role").first.select_option("worker")
    admin.get_by_test_id("invite-button").click()
    link = admin.get_by_test_id("invite-link").input_value()
    assert re.search(r"/app/invite/[\w-]{20,}$", link)

    phone = new_page(None, width=390, height=844)
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Fältgruppen Demo")
    phone.get_by_label("First name").fill("Nora")
    phone.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    phone.get_by_label("The same password again").fill(PASSWORD)
    phone.get_by_test_id("invite-submit").click()

    expect(phone).to_have_url(re.compile(r"/app/enrol$"))
    expect(phone.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    secret = phone.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    phone.locator("#code").fill(totp.now())
    phone.get_by_test_id("enrol-submit").click()
    expect(phone.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    phone.get_by_test_id("to-app").click()
    expect(phone).to_have_url(re.compile(r"/app$"))

    # Log out, and in again the ordinary way: password, then the next code.
    phone.get_by_test_id("menu").click()
    phone.get_by_test_id("logout").click()
    expect(phone).to_have_url(re.compile(r"/app/login$"))
    phone.get_by_label("E-mail address").fill("nora@demo.example")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_test_id("login-submit").click()
    phone.get_by_label("Code").fill(totp.at(time.time() + 30))  # the enrolment used "now"
    phone.get_by_test_id("code-submit").click()
    expect(phone).to_have_url(re.compile(r"/app$"))
    expect(phone.get_by_test_id("me")).to_contain_text("Nora")

    # Her team's conversation is there; the other team's is not, and cannot be reached.
    expect(phone.get_by_test_id("conv-item").first).to_be_visible()
    ids = ui.conversation_ids(phone)
    assert ids
    assert foreign not in ids
    assert "hemligt" not in phone.content()
    # Nor can she open the admin pages.
    response = phone.goto("/app/admin/members")
    assert response is not None
    assert response.status == 403
