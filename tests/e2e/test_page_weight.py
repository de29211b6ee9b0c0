"""The young person's page is light and talks to no one but its own server; the worker
app's shell (what an installed app downloads) stays within its own budget."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend

BUDGET = 100_000  # bytes, uncompressed: HTML + CSS + every script, modules included
SHELL_BUDGET = 250_000  # the worker app: the same, plus manifest, icons, service worker


@pytest.mark.e2e
def test_youth_page_weight_and_no_third_party_requests(new_page, server_url, ui):
    page = new_page(None)
    requests: list[str] = []
    responses = []
    sockets: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: responses.append(response))
    page.on("websocket", lambda ws: sockets.append(ws.url))

    page.goto(f"/chat/{ui.team}", wait_until="load")
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("resume-code")).to_have_text(ui.code_re)

    origin = urlsplit(server_url).netloc
    foreign = [url for url in requests if urlsplit(url).netloc != origin]
    assert foreign == []
    assert sockets == [f"ws://{origin}/ws/chat"]

    sizes: dict[str, int] = {}
    for response in responses:
        if response.request.resource_type in ("document", "stylesheet", "script"):
            sizes[urlsplit(response.url).path] = len(response.body())
    assert set(sizes) == {
        f"/chat/{ui.team}",
        "/static/lykta.css",
        "/static/chat.js",
        "/static/wsclient.js",
    }
    total = sum(sizes.values())
    print(f"youth page weight: {total} bytes {sizes}")
    assert total < BUDGET

    # Nothing but its own CSS holds up the first paint: Chromium's own judgement of each
    # request (Resource Timing's renderBlockingStatus), and no classic script in the page.
    blocking = page.evaluate(
        "performance.getEntriesByType('resource')"
        ".filter((e) => e.renderBlockingStatus === 'blocking').map((e) => e.name)"
    )
    assert [urlsplit(url).path for url in blocking] == ["/static/lykta.css"]
    classic = page.locator("script[src]:not([type=module]):not([defer]):not([async])")
    assert classic.count() == 0

    # Not the worker app: nothing to install, no service worker.
    assert page.locator("link[rel=manifest]").count() == 0
    assert page.evaluate("navigator.serviceWorker.getRegistrations()") == []


@pytest.mark.e2e
@pytest.mark.one_backend
def test_worker_app_shell_weight(new_page, worker_session):
    page = new_page(None, storage_state=worker_session)
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto("/app", wait_until="load")
    expect(page.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    assert page.evaluate("navigator.serviceWorker.ready.then((reg) => !!reg.active)")

    sizes: dict[str, int] = {}
    for response in responses:
        if response.request.resource_type in ("document", "stylesheet", "script"):
            sizes[urlsplit(response.url).path] = len(response.body())
    assert {"/app", "/static/lykta.css", "/static/app.js", "/static/wsclient.js"} <= set(sizes)

    # What installing downloads besides: the manifest and its icons, the service worker
    # and everything it keeps (the offline page and its script).
    fetched = [page.locator("link[rel=manifest]").get_attribute("href") or ""]
    fetched.append(page.locator("link[rel=apple-touch-icon]").get_attribute("href") or "")
    manifest = json.loads(page.request.get(fetched[0]).text())
    fetched += [icon["src"] for icon in manifest["icons"]]
    script = page.request.get("/app/sw.js?lang=en").text()
    fetched.append("/app/sw.js?lang=en")
    shell = re.search(r"^const SHELL = (\[.*\]);$", script, re.MULTILINE)
    assert shell
    fetched += json.loads(shell.group(1))
    for url in fetched:
        path = urlsplit(url).path
        if path not in sizes:
            response = page.request.get(url)
            assert response.ok, url
            sizes[path] = len(response.body())
    total = sum(sizes.values())
    print(f"worker app shell weight: {total} bytes {sizes}")
    assert total < SHELL_BUDGET
