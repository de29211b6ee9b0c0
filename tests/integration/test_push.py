"""Web Push through the real app: a worker's device subscribes over HTTP, young people and
workers talk over real sockets, and the local push service receives the pushes, verifies
their VAPID signature and decrypts them (RFC 8291) — and finds nothing of what anyone
wrote."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from lykta.config import Settings
from lykta.web.csrf import CSRF_COOKIE
from lykta.web.security import STAFF_COOKIE
from tests.integration.push_helpers import (
    Device,
    flush,
    login,
    on_duty,
    pushes,
    says,
    subscribe,
    worker_socket,
    youth,
)
from tests.integration.staff_helpers import browser, db_query
from tests.support.client import Peer
from tests.support.pushservice import Delivery, PushService
from tests.support.server import Seed, ServerThread, csrf_of, settings_for

SECRET = "Jag heter Saga Lindqvist och bor på Tallvägen 7"
"""Words only the young person wrote: no push may carry any of them."""
RISK = "jag vill ta livet av mig"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data").model_copy(
        update={"push_allow_insecure_localhost": True}
    )


async def held_by_bo_in_front(
    server: ServerThread, seeded: Seed, push_service: PushService
) -> tuple[Device, Peer, Peer]:
    """Bo's device subscribed, a young person's chat that Bo holds (he answered), and Bo's
    app socket, which has said the app is in front."""
    device = subscribe(server, seeded, push_service, "Bo")
    young = await youth(server, "hej")
    bo = await worker_socket(server, device)
    assert young.conversation_id is not None
    await bo.send("Hej, jag heter Bo.", young.conversation_id)
    await bo.wait_for(lambda f: f["type"] == "ack")
    await bo.send_frame({"type": "visibility", "visible": True})
    await flush(bo)
    return device, young, bo


def content_free(delivery: Delivery, *, code: str | None = None) -> None:
    text = delivery.payload.decode()
    for word in SECRET.split() + RISK.split():
        if len(word) > 3:
            assert word not in text
    if code:
        assert code not in text
    assert set(delivery.json()) == {"title", "body", "url", "tag", "kind"}
    assert delivery.json()["body"] == ""


def shown(title: str, kind: str, conversation_id: str | None) -> dict[str, str]:
    """The whole payload a device gets: a title, no body, where a tap leads, a tag."""
    return {
        "title": title,
        "body": "",
        "url": f"/app#{conversation_id}",
        "tag": f"{kind}-{conversation_id}",
        "kind": kind,
    }


def subscriptions(settings: Settings) -> list[str]:
    return [row[0] for row in db_query(settings, "SELECT endpoint FROM push_subscriptions")]


async def test_a_new_chat_reaches_the_device_of_the_worker_on_duty_and_no_other(
    server: ServerThread, settings: Settings, seeded: Seed, push_service: PushService
) -> None:
    bo = subscribe(server, seeded, push_service, "Bo", lang="sv")
    anna = subscribe(server, seeded, push_service, "Anna")
    on_duty(settings, seeded, "Bo")
    young = await youth(server, SECRET)
    [delivery] = await pushes(push_service, bo)
    assert delivery.json() == shown(
        "Ny chatt väntar — Fältgruppen Demo", "queue", young.conversation_id
    )
    content_free(delivery, code=young.code)
    assert delivery.headers["content-encoding"] == "aes128gcm"
    # The next chat's push comes after the first one's were all sent: Anna, off duty, got
    # none of either.
    second = await youth(server, "hallå")
    later = await pushes(push_service, bo, 2)
    assert later[1].json()["url"] == f"/app#{second.conversation_id}"
    assert push_service.deliveries_to(anna.endpoint) == []
    for peer in (young, second):
        await peer.close()


async def test_a_message_reaches_the_holder_only_when_the_app_is_not_in_front(
    server: ServerThread, settings: Settings, seeded: Seed, push_service: PushService
) -> None:
    device, young, bo = await held_by_bo_in_front(server, seeded, push_service)
    await says(young, SECRET)  # the app is in front: no push
    await bo.send_frame({"type": "visibility", "visible": False})
    await flush(bo)
    await says(young, "är du kvar?")
    # A notice still waiting to go out is not queued twice (the device would show one),
    # so the next message waits until this one's notice has gone.
    await asyncio.to_thread(push_service.wait_for_delivery, device.endpoint)
    await bo.close()  # a closed app is not in front either
    await says(young, SECRET)
    # Pushes go out in order: once a new chat's push has come, every push about the
    # messages before it has been sent.
    on_duty(settings, seeded, "Bo")
    other = await youth(server, "hallå")
    await asyncio.to_thread(
        push_service.wait,
        lambda s: any(d.json()["kind"] == "queue" for d in s.deliveries_to(device.endpoint)),
    )
    messages = [
        d for d in push_service.deliveries_to(device.endpoint) if d.json()["kind"] != "queue"
    ]
    # One after the app went to the background, one after it closed.
    assert len(messages) == 2, [d.json() for d in messages]
    for delivery in messages:
        assert delivery.json() == shown(
            "New message — Fältgruppen Demo", "message", young.conversation_id
        )
        content_free(delivery, code=young.code)
    for peer in (young, other):
        await peer.close()


async def test_a_risk_flag_reaches_the_holder(
    server: ServerThread, settings: Settings, seeded: Seed, push_service: PushService
) -> None:
    device, young, bo = await held_by_bo_in_front(server, seeded, push_service)
    await says(young, RISK)
    [delivery] = await pushes(push_service, device)
    assert delivery.json() == shown(
        "A conversation needs attention — Fältgruppen Demo", "risk", young.conversation_id
    )
    content_free(delivery)
    for peer in (bo, young):
        await peer.close()


async def test_a_hand_over_reaches_the_colleague_and_one_back_in_the_queue_those_on_duty(
    server: ServerThread, settings: Settings, seeded: Seed, push_service: PushService
) -> None:
    bo_device, young, bo = await held_by_bo_in_front(server, seeded, push_service)
    anna_device = subscribe(server, seeded, push_service, "Anna", lang="sv")
    assert young.conversation_id is not None
    anna_id = seeded.workers["Anna"].user_id

    async def hand_over(peer: Peer, to: int | None) -> None:
        transfer = {"type": "transfer", "conversation_id": young.conversation_id, "to": to}
        await peer.send_frame({**transfer, "note": SECRET})
        await flush(peer)

    # Bo hands the chat to Anna, whose phone is in her pocket: she is told, in Swedish,
    # and the note he wrote is not in the push.
    await hand_over(bo, anna_id)
    [delivery] = await pushes(push_service, anna_device)
    assert delivery.json() == shown(
        "En konversation har lämnats över till dig — Fältgruppen Demo",
        "handover",
        young.conversation_id,
    )
    content_free(delivery, code=young.code)

    # Anna hands it back to the queue: Bo, on duty, is told a chat is waiting.
    on_duty(settings, seeded, "Bo")
    anna = await worker_socket(server, anna_device)
    await hand_over(anna, None)
    [waiting] = await pushes(push_service, bo_device)
    assert waiting.json()["kind"] == "queue"
    assert waiting.json()["url"] == f"/app#{young.conversation_id}"

    # Handed to Anna while her app is in front: the app shows it, no push. Once it is in
    # the background, the next hand-over is pushed again.
    await anna.send_frame({"type": "visibility", "visible": True})
    await flush(anna)
    await hand_over(bo, anna_id)
    await anna.send_frame({"type": "visibility", "visible": False})
    await flush(anna)
    await hand_over(bo, anna_id)
    await pushes(push_service, anna_device, 2)
    kinds = [d.json()["kind"] for d in push_service.deliveries_to(anna_device.endpoint)]
    assert kinds == ["handover", "handover"]
    for peer in (anna, bo, young):
        await peer.close()


async def test_a_device_the_push_service_no_longer_knows_is_removed(
    server: ServerThread, settings: Settings, seeded: Seed, push_service: PushService
) -> None:
    gone = subscribe(server, seeded, push_service, "Bo")
    kept = subscribe(server, seeded, push_service, "Bo")
    on_duty(settings, seeded, "Bo")
    push_service.answer(gone.endpoint, 410)
    first = await youth(server, "hej")
    await pushes(push_service, kept)
    second = await youth(server, "hej igen")
    await pushes(push_service, kept, 2)
    assert push_service.attempts.count(gone.endpoint) == 1  # not tried again
    assert subscriptions(settings) == [kept.endpoint]
    for peer in (first, second):
        await peer.close()


def test_the_apps_requests(
    server: ServerThread, settings: Settings, seeded: Seed, push_service: PushService
) -> None:
    with login(server, seeded, "Bo") as client:
        csrf = client.cookies[CSRF_COOKIE]
        key = client.get("/app/push/key")
        assert key.headers["cache-control"] == "no-store"
        assert len(key.json()["public_key"]) == 87  # 65 bytes, base64url
        made = push_service.subscribe()
        headers = {"X-CSRF-Token": csrf}
        assert client.post("/app/push/subscriptions", json=made).status_code == 403
        wrong = {"X-CSRF-Token": "x" * 32}
        assert client.post("/app/push/subscriptions", json=made, headers=wrong).status_code == 403
        for _ in range(2):  # the same device twice: one row
            answer = client.post("/app/push/subscriptions", json=made, headers=headers)
            assert answer.status_code == 201
        assert subscriptions(settings) == [made["endpoint"]]
        bad = {**made, "endpoint": "https://10.0.0.1/push/x"}
        refused = client.post(
            "/app/push/subscriptions", json=bad, headers={**headers, "Accept-Language": "sv"}
        )
        assert refused.status_code == 400
        assert refused.json() == {"error": "Aviseringar kan inte skickas till den push-tjänsten."}
        for body in (b"{", b"[]", b"x" * 5000):
            answer = client.post("/app/push/subscriptions", content=body, headers=headers)
            assert answer.status_code == 400
            assert answer.json()["error"]
        gone = client.request(
            "DELETE",
            "/app/push/subscriptions",
            json={"endpoint": made["endpoint"]},
            headers=headers,
        )
        assert gone.status_code == 204
        assert subscriptions(settings) == []
    with browser(server) as anonymous:
        assert anonymous.get("/app/push/key").status_code == 303
        csrf = csrf_of(anonymous.get("/app/login").text)
        posted = anonymous.post(
            "/app/push/subscriptions", json=made, headers={"X-CSRF-Token": csrf}
        )
        assert posted.status_code == 401


def test_logging_out_forgets_the_device(
    server: ServerThread, settings: Settings, seeded: Seed, push_service: PushService
) -> None:
    device = subscribe(server, seeded, push_service, "Bo")
    assert subscriptions(settings) == [device.endpoint]
    with httpx.Client(base_url=server.http, follow_redirects=False) as client:
        client.cookies.set(STAFF_COOKIE, device.session)
        client.cookies.set(CSRF_COOKIE, device.csrf)
        assert client.post("/app/logout", data={"csrf": device.csrf}).status_code == 303
    assert subscriptions(settings) == []


def test_switched_off_the_app_is_told_so(
    settings: Settings, seeded: Seed, push_service: PushService
) -> None:
    off = ServerThread(settings.model_copy(update={"push": False})).start()
    try:
        with login(off, seeded, "Bo") as client:
            key = client.get("/app/push/key", headers={"Accept-Language": "en"})
            assert key.status_code == 404
            assert key.json() == {"error": "Notifications are switched off on this server."}
            posted = client.post(
                "/app/push/subscriptions",
                json=push_service.subscribe(),
                headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]},
            )
            assert posted.status_code == 404
        assert subscriptions(settings) == []
    finally:
        off.stop()
