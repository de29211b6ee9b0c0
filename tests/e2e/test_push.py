"""A push sent when a young person writes reaches a push service, verifies and decrypts to a
content-free text.

Chromium here cannot reach a real push service, so the subscription comes from the test
suite's own (``tests/support/pushservice.py``); the worker's page registers it with the
server exactly as the app does, with its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import set_duty
from tests.support.pushservice import PushService

WORDS = "Hemligt: jag heter Saga och bor på Tallvägen sju"

REGISTER = """async (subscription) => {
  const csrf = document.querySelector("input[name=csrf]").value;
  const answer = await fetch("/app/push/subscriptions", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
    body: JSON.stringify(subscription),
  });
  return answer.status;
}"""
UNREGISTER = """async (endpoint) => {
  const csrf = document.querySelector("input[name=csrf]").value;
  const answer = await fetch("/app/push/subscriptions", {
    method: "DELETE",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
    body: JSON.stringify({endpoint}),
  });
  return answer.status;
}"""


@pytest.mark.e2e
def test_a_young_persons_message_reaches_the_workers_device_without_its_words(
    worker: Callable[..., Page],
    start_chat: Callable[..., Page],
    push_service: PushService,
    ui: Any,
) -> None:
    staff = worker()
    key = staff.evaluate("async () => (await (await fetch('/app/push/key')).json()).public_key")
    subscription = push_service.subscribe(application_server_key=key)
    assert staff.evaluate(REGISTER, subscription) == 201
    set_duty(staff, True)
    try:
        youth = start_chat()
        ui.send(youth, WORDS)
        expect(ui.message(youth, WORDS)).to_be_visible()
        [delivery] = push_service.wait_for_delivery(subscription["endpoint"])
    finally:
        set_duty(staff, False)
        assert staff.evaluate(UNREGISTER, subscription["endpoint"]) == 204
    # Verified (VAPID, signed with the key the page was given) and decrypted (RFC 8291):
    assert delivery.vapid_key == key
    assert delivery.headers["content-encoding"] == "aes128gcm"
    pushed = delivery.json()
    assert pushed["title"] == "New chat waiting — Fältgruppen Demo"
    assert pushed["body"] == ""
    assert pushed["kind"] == "queue"
    assert re.fullmatch(r"/app#[0-9a-f]{32}", pushed["url"])
    text = delivery.payload.decode()
    for word in WORDS.split():
        if len(word) > 3:
            assert word not in text
    code = youth.get_by_test_id("resume-code").inner_text()
    assert code not in text
    # The address opens that conversation in the worker's list.
    conversation_id = pushed["url"].split("#", 1)[1]
    expect(ui.item(staff, conversation_id)).to_be_visible()
