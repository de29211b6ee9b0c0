"""The young person's page is light and talks to no one but its own server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

BUDGET = 100_000  # bytes, uncompressed: HTML + CSS + every script, modules included


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
