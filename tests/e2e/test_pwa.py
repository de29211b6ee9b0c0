"""The installable worker app: manifest, service worker, offline page, push notifications,
and what it keeps on the worker's device (the app shell, never a conversation)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import time
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image
from playwright.sync_api import CDPSession, Page, expect
from tests.e2e.conftest import set_duty
from tests.support.pushservice import PushService

CONTROLLED = """() => navigator.serviceWorker.controller !== null || new Promise((done) =>
  navigator.serviceWorker.addEventListener("controllerchange", () => done(true)))"""
SW_READY = """async () => {
  const reg = await navigator.serviceWorker.ready;
  return {scope: reg.scope, state: reg.active && reg.active.state,
          controlled: !!navigator.serviceWorker.controller};
}"""


def _app(worker: Any, **options: Any) -> Page:
    """The worker app with its service worker active and in control of the page."""
    page: Page = worker(**options)
    assert page.evaluate(CONTROLLED)
    return page


def _installability_errors(page: Page) -> list[dict[str, Any]]:
    cdp = page.context.new_cdp_session(page)
    try:
        errors: list[dict[str, Any]] = cdp.send("Page.getInstallabilityErrors")[
            "installabilityErrors"
        ]
        return errors
    finally:
        cdp.detach()


@pytest.mark.e2e
@pytest.mark.one_backend
def test_the_manifest_is_linked_and_complete(worker, server_url):
    page = worker()
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href == "/app/manifest.webmanifest?lang=en"
    response = page.request.get(href)
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(response.text())
    assert manifest["name"] == "Lykta"
    assert manifest["short_name"] == "Lykta"
    assert manifest["start_url"] == "/app"
    assert manifest["scope"] == "/app"
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    purposes = set()
    for icon in manifest["icons"]:
        image = page.request.get(icon["src"])
        assert image.ok, icon["src"]
        width, height = Image.open(io.BytesIO(image.body())).size
        assert icon["sizes"] == f"{width}x{height}"
        purposes.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes
    # Chromium itself reads it without complaint.
    cdp = page.context.new_cdp_session(page)
    read = cdp.send("Page.getAppManifest")
    assert read["url"] == f"{server_url}{href}"
    assert read["errors"] == []
    assert read["manifest"]["startUrl"] == f"{server_url}/app"

    touch = page.locator("link[rel=apple-touch-icon]").get_attribute("href")
    assert touch
    image = page.request.get(touch)
    assert Image.open(io.BytesIO(image.body())).size == (180, 180)


@pytest.mark.e2e
@pytest.mark.one_backend
def test_the_service_worker_controls_the_app_and_chromium_can_install_it(
    worker_profile, server_url
):
    page = worker_profile.pages[0] if worker_profile.pages else worker_profile.new_page()
    page.goto("/app")
    assert page.evaluate(CONTROLLED)
    ready = page.evaluate(SW_READY)
    assert ready == {"scope": f"{server_url}/app", "state": "activated", "controlled": True}
    assert _installability_errors(page) == []

    # The check can fail: a page of the app without the manifest (the offline page, under
    # the same service worker) is not installable.
    page.goto("/app/offline")
    assert page.evaluate(CONTROLLED)
    errors = _installability_errors(page)
    assert {"errorId": "no-manifest", "errorArguments": []} in errors


CACHED = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      out.push({url: request.url, type: response.headers.get("content-type") || "",
                body: await response.text()});
    }
  }
  return out;
}"""
STORED = """() => [localStorage, sessionStorage].flatMap((area) =>
  Object.keys(area).map((key) => key + "=" + area.getItem(key)))"""


def _shell(page: Page) -> set[str]:
    script = page.request.get("/app/sw.js?lang=en").text()
    found = re.search(r"^const SHELL = (\[.*\]);$", script, re.MULTILINE)
    assert found
    return set(json.loads(found.group(1)))


@pytest.mark.e2e
def test_nothing_of_a_conversation_is_kept_on_the_workers_device(
    start_chat, worker, ui, server_url
):
    staff = _app(worker)
    before = ui.conversation_ids(staff)
    asked = "Kan någon hjälpa mig med pwa-hemligheten 7319?"
    answered = "Ja, vi pratar om pwa-svaret 8642 här."

    youth = start_chat()
    ui.send(youth, asked)
    ui.new_conversation(staff, before).click()
    expect(ui.message(staff, asked)).to_have_count(1)
    staff.get_by_test_id("take").click()
    ui.send(staff, answered)
    expect(ui.message(youth, answered)).to_have_count(1)
    # Loaded again (through the service worker), with the conversation open.
    staff.reload()
    expect(ui.message(staff, answered)).to_have_count(1)

    cached: list[dict[str, str]] = staff.evaluate(CACHED)
    paths = {entry["url"].removeprefix(server_url) for entry in cached}
    assert paths == _shell(staff)
    for entry in cached:
        assert asked not in entry["body"], entry["url"]
        assert answered not in entry["body"], entry["url"]
        assert 'name="csrf"' not in entry["body"], entry["url"]  # no page of a session
        assert "json" not in entry["type"], entry["url"]
    assert staff.evaluate("indexedDB.databases()") == []
    stored: list[str] = staff.evaluate(STORED)
    assert [item for item in stored if asked in item or answered in item] == []


@pytest.mark.e2e
@pytest.mark.one_backend
def test_offline_the_app_shows_the_offline_page_and_comes_back(worker):
    page = _app(worker, width=360, height=640)
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="No connection — we will reconnect")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/app$"))
    expect(page.get_by_test_id("retry")).to_be_visible()

    # Back online: the app loads again by itself.
    page.context.set_offline(False)
    expect(page.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_test_id("offline")).to_have_count(0)


SHOWN = """async (count) => {
  // The notifications shown, once there are `count` of them (or after 10 s, whatever is).
  const reg = await navigator.serviceWorker.getRegistration("/app");
  const until = Date.now() + 10000;
  for (;;) {
    const shown = await reg.getNotifications();
    if (shown.length >= count || Date.now() > until) {
      return shown.map((n) => ({title: n.title, body: n.body, tag: n.tag, icon: n.icon,
                                badge: n.badge, url: n.data && n.data.url}));
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}"""

SHOWN_SOON = SHOWN.replace("Date.now() + 10000", "Date.now() + 1000")  # within 1 s


class DeliveredPush:
    """Pushes delivered to the app's service worker through the DevTools protocol, as if
    they came from the browser's push service (already decrypted). The page must be
    controlled by the service worker when this is made: the protocol may report other
    contexts' registrations for the same scope, and the page tells which is its own."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.page = page
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.target = self.cdp.send("Target.getTargetInfo")["targetInfo"]["targetId"]
        self.versions: list[dict[str, Any]] = []
        self.cdp.on("ServiceWorker.workerVersionUpdated", self._updated)
        self.cdp.send("ServiceWorker.enable")
        self.registration = self._own_registration()

    def _updated(self, event: dict[str, Any]) -> None:
        self.versions.extend(event["versions"])

    def _own_registration(self) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for version in self.versions:
                if self.target in version.get("controlledClients", []):
                    return str(version["registrationId"])
            self.page.wait_for_timeout(50)  # lets Playwright deliver the protocol's events
        raise AssertionError(f"no service worker controls the page: {self.versions}")

    def wait_released(self) -> None:
        """Until the protocol reports that the service worker no longer controls the page
        (after it left the app): before that, the worker may still count it as a window."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            own = [v for v in self.versions if str(v["registrationId"]) == self.registration]
            if own and self.target not in own[-1].get("controlledClients", []):
                return
            self.page.wait_for_timeout(50)  # lets Playwright deliver the protocol's events
        raise AssertionError(f"the service worker still controls the page: {self.versions}")

    def push(self, data: str) -> None:
        self.cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": self.origin, "registrationId": self.registration, "data": data},
        )


def _payload(kind: str, conversation: str) -> str:
    return json.dumps(
        {
            "title": "New chat waiting — Fältgruppen Demo",
            "body": "",
            "url": f"/app#{conversation}",
            "tag": f"{kind}-{conversation}",
            "kind": kind,
        }
    )


@pytest.mark.e2e
@pytest.mark.one_backend
def test_a_push_shows_a_notification_with_its_title_and_tag(worker, server_url):
    page = _app(worker)
    page.context.grant_permissions(["notifications"], origin=server_url)
    pushes = DeliveredPush(page, server_url)

    pushes.push(_payload("queue", "c1"))
    shown = page.evaluate(SHOWN, 1)
    assert shown == [
        {
            "title": "New chat waiting — Fältgruppen Demo",
            "body": "",
            "tag": "queue-c1",
            "icon": shown[0]["icon"],
            "badge": shown[0]["badge"],
            "url": "/app#c1",
        }
    ]
    assert re.fullmatch(rf"{server_url}/static/icons/app-192\.png\?v=\w+", shown[0]["icon"])
    assert re.fullmatch(rf"{server_url}/static/icons/app-badge-96\.png\?v=\w+", shown[0]["badge"])

    # Something that is not the agreed payload still shows a notification (Chrome wants
    # one for every push), saying nothing but "Lykta".
    pushes.push("not json at all")
    shown = page.evaluate(SHOWN, 2)
    assert {"title": "Lykta", "tag": "lykta", "url": "/app"} in [
        {"title": n["title"], "tag": n["tag"], "url": n["url"]} for n in shown
    ]
    pushes.push(json.dumps({"title": "x", "url": "https://elsewhere.example/", "kind": "risk"}))
    shown = page.evaluate(SHOWN, 2)
    assert sorted(n["tag"] for n in shown) == ["lykta", "queue-c1"]  # the same generic one


@pytest.mark.e2e
@pytest.mark.one_backend
def test_a_message_push_is_not_shown_while_the_app_is_in_front(worker, server_url):
    page = _app(worker)
    page.context.grant_permissions(["notifications"], origin=server_url)
    pushes = DeliveredPush(page, server_url)

    # A message or a hand-over: the app in front shows it itself. A risk flag still shows.
    pushes.push(_payload("message", "c2"))
    pushes.push(_payload("handover", "c2"))
    pushes.push(_payload("risk", "c2"))
    shown = page.evaluate(SHOWN, 1)
    assert [n["tag"] for n in shown] == ["risk-c2"]

    # No window of the app any more: the message is shown.
    page.goto("/healthz")
    pushes.wait_released()
    # The worker may still count the window for a moment after it left the app (the
    # protocol saying it is released is not enough: CI saw it), so the push comes again
    # until it is shown; each one replaces the last (one tag). A worker that kept
    # hiding messages fails here.
    for _ in range(10):
        pushes.push(_payload("message", "c3"))
        shown = page.evaluate(SHOWN_SOON, 2)
        if len(shown) == 2:
            break
    assert sorted(n["tag"] for n in shown) == ["message-c3", "risk-c2"]


FAKE_PUSH = """(() => {
  // The browser's side of a push service (which Chromium cannot reach here): it hands out
  // the subscription it was given, for the server key it was given, and keeps it in this
  // tab so that a reload finds it.
  const SUBSCRIPTION = %s;
  const SERVER_KEY = %s;
  const KEY = "e2e-fake-subscription";
  const make = (json) => ({
    endpoint: json.endpoint,
    toJSON: () => json,
    unsubscribe: async () => { sessionStorage.removeItem(KEY); return true; },
  });
  const b64 = (bytes) => btoa(String.fromCharCode(...bytes))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  PushManager.prototype.getSubscription = async function () {
    const kept = sessionStorage.getItem(KEY);
    return kept ? make(JSON.parse(kept)) : null;
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = options.applicationServerKey;
    if (!options.userVisibleOnly || key.length !== 65 || (SERVER_KEY && b64(key) !== SERVER_KEY)) {
      throw new DOMException("refused", "NotAllowedError");
    }
    sessionStorage.setItem(KEY, JSON.stringify(SUBSCRIPTION));
    return make(SUBSCRIPTION);
  };
})();"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _browser_push_service(
    page: Page, subscription: dict[str, Any] | None = None, key: str | None = None
) -> str:
    """The page's browser subscribes without reaching a push service: to ``subscription``
    (for the server key ``key``), or to a made-up one. Returns the endpoint."""
    if subscription is None:
        point = ec.generate_private_key(ec.SECP256R1()).public_key()
        raw = point.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        subscription = {
            "endpoint": f"https://push.example.net/send/{secrets.token_urlsafe(16)}",
            "expirationTime": None,
            "keys": {"p256dh": _b64(raw), "auth": _b64(os.urandom(16))},
        }
    page.context.add_init_script(FAKE_PUSH % (json.dumps(subscription), json.dumps(key)))
    endpoint: str = subscription["endpoint"]
    return endpoint


@pytest.mark.e2e
def test_notifications_are_switched_on_and_off_on_this_device(worker, server_url):
    page = _app(worker)
    page.context.grant_permissions(["notifications"], origin=server_url)
    endpoint = _browser_push_service(page)
    page.reload()
    button = page.get_by_test_id("push")
    note = page.get_by_test_id("push-note")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(button).to_have_accessible_name("Notifications")

    with page.expect_response("**/app/push/subscriptions") as saved:
        button.click()
    assert saved.value.status == 201
    sent = saved.value.request.post_data_json
    assert sent
    assert sent["endpoint"] == endpoint
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(note).to_have_text(
        "Notifications are on for this device. They never show what anyone wrote."
    )

    # Loaded again, the app knows; it tells the server again, in case it forgot.
    with page.expect_response("**/app/push/subscriptions") as again:
        page.reload()
    assert again.value.status == 201
    expect(button).to_have_attribute("aria-pressed", "true")

    with page.expect_response("**/app/push/subscriptions") as deleted:
        button.press("Enter")  # the keyboard works too
    assert deleted.value.request.method == "DELETE"
    assert deleted.value.status == 204
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(note).to_have_text("Notifications are off for this device.")


@pytest.mark.e2e
def test_a_push_service_that_cannot_be_reached_is_said_in_words(worker, server_url):
    # The test browser has no push service: subscribing fails, as on a phone offline.
    page = _app(worker)
    page.context.grant_permissions(["notifications"], origin=server_url)
    page.get_by_test_id("push").click()
    expect(page.get_by_test_id("push-note")).to_have_text(
        "Notifications could not be switched on: the browser did not reach its push "
        "service. Try again later."
    )
    expect(page.get_by_test_id("push")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("push")).to_have_attribute("data-state", "off")


@pytest.mark.e2e
@pytest.mark.one_backend
def test_notifications_blocked_in_the_browser_are_said_in_words(worker, server_url):
    page = _app(worker)
    cdp = page.context.new_cdp_session(page)
    context_id = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
    cdp.detach()
    browser = page.context.browser
    assert browser is not None
    session = browser.new_browser_cdp_session()
    session.send(
        "Browser.setPermission",
        {
            "permission": {"name": "notifications"},
            "setting": "denied",
            "origin": server_url,
            "browserContextId": context_id,
        },
    )
    page.reload()
    button = page.get_by_test_id("push")
    expect(button).to_have_attribute("data-state", "blocked")
    button.click()
    expect(page.get_by_test_id("push-note")).to_have_text(
        "Notifications are blocked for Lykta in this browser's settings. Allow them there, "
        "then try again."
    )


@pytest.mark.e2e
@pytest.mark.one_backend
def test_a_tapped_notification_opens_only_the_app(worker, server_url):
    page = _app(worker)
    (sw,) = page.context.service_workers
    # Where a tap may lead: pages of the app on this server, nothing else.
    targets = {
        "/app#abc": f"{server_url}/app#abc",
        f"{server_url}/app/profile": f"{server_url}/app/profile",
        "https://elsewhere.example/app": f"{server_url}/app",
        "/chat/demo": f"{server_url}/app",
        "/apple": f"{server_url}/app",
        "javascript:alert(1)": f"{server_url}/app",
        "//elsewhere.example/app": f"{server_url}/app",
    }
    for url, expected in targets.items():
        assert sw.evaluate("(url) => target(url).href", url) == expected, url

    # What a tap does (the browser's own tap cannot be given here): the open app shows it.
    sw.evaluate("(url) => openApp(url).then(() => true)", f"{server_url}/app#c9")
    expect(page).to_have_url(f"{server_url}/app#c9")


@pytest.mark.e2e
def test_a_new_chat_becomes_a_notification_on_the_workers_phone(worker, start_chat, ui, server_url):
    """The whole way: the worker switches notifications on with the button, a young person
    writes, the server's push reaches the push service, and the browser shows it."""
    staff = _app(worker)
    staff.context.grant_permissions(["notifications"], origin=server_url)
    key = staff.request.get("/app/push/key").json()["public_key"]
    with PushService() as service:
        subscription = service.subscribe(application_server_key=key)
        _browser_push_service(staff, subscription, key)
        staff.reload()
        expect(staff.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
        staff.get_by_test_id("push").click()
        expect(staff.get_by_test_id("push")).to_have_attribute("aria-pressed", "true")
        set_duty(staff, True)
        try:
            before = ui.conversation_ids(staff)
            youth = start_chat()
            ui.send(youth, "Jag heter Saga och det är hemligt")
            conversation = ui.new_conversation(staff, before).get_attribute("data-id")
            [delivery] = service.wait_for_delivery(subscription["endpoint"])
        finally:
            set_duty(staff, False)
            staff.get_by_test_id("push").click()
            expect(staff.get_by_test_id("push")).to_have_attribute("aria-pressed", "false")

    # The push service hands what it decrypted to the browser, which wakes the app.
    DeliveredPush(staff, server_url).push(delivery.payload.decode())
    shown = staff.evaluate(SHOWN, 1)
    assert [(n["title"], n["body"], n["tag"], n["url"]) for n in shown] == [
        ("New chat waiting — Fältgruppen Demo", "", f"queue-{conversation}", f"/app#{conversation}")
    ]


@pytest.mark.e2e
@pytest.mark.one_backend
def test_the_app_tells_the_server_when_it_is_in_front(new_page, worker_session):
    # The server sends no "new message" push to a worker whose app is in front.
    page = new_page(None, storage_state=worker_session)
    sent: list[Any] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda data: sent.append(json.loads(data))))
    page.goto("/app")
    expect(page.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    deadline = time.monotonic() + 10
    while not any(f.get("type") == "visibility" for f in sent) and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright deliver the socket's events
    assert {"type": "visibility", "visible": True} in sent


@pytest.mark.e2e
@pytest.mark.one_backend
@pytest.mark.parametrize(
    ("locale", "scheme", "heading"),
    [
        ("en-US", "light", "No connection — we will reconnect"),
        ("sv-SE", "dark", "Ingen anslutning – vi ansluter igen"),
    ],
)
def test_the_offline_page_is_accessible_and_in_the_workers_language(
    new_page, worker_session, locale, scheme, heading
):
    page = new_page(None, locale=locale, color_scheme=scheme, storage_state=worker_session)
    page.goto("/app")
    expect(page.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    assert page.evaluate(CONTROLLED)
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    serious = [
        f"{v['id']} ({v['impact']}) at {[n['target'] for n in v['nodes']]}"
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    # "Try again" is in the keyboard's way.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.testid") == "retry":
            break
    expect(page.get_by_test_id("retry")).to_be_focused()
