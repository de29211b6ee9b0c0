"""The embeddable widget over HTTP: ``/widget.js`` is loadable by other sites, the chat page
in embed mode keeps the team's framing rules, and the admin page shows the line to add."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.staff_helpers import browser
from tests.support.server import Seed, ServerThread, csrf_of, http_login

PRIVACY = "/app/admin/privacy"
SITE = "https://www.molndal.se"


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http, follow_redirects=False) as http:
        yield http


@pytest.fixture
def admin(server: ServerThread, seeded: Seed) -> Iterator[httpx.Client]:
    with browser(server) as client:
        client.headers["accept-language"] = "en"
        assert http_login(client, seeded.workers["Anna"]).status_code == 303
        yield client


def allow_sites(admin: httpx.Client, sites: str) -> None:
    csrf = csrf_of(admin.get(PRIVACY).text)
    saved = admin.post(PRIVACY, data={"embed_origins": sites, "csrf": csrf})
    assert saved.status_code == 303, saved.text


def frame_ancestors(response: httpx.Response) -> str:
    (csp,) = response.headers.get_list("content-security-policy")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    return directives["frame-ancestors"]


def config_of(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="lykta-config">([^<]*)<', page)
    assert found
    loaded: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return loaded


def test_other_sites_can_load_the_widget_script(client: httpx.Client) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    # The rest of the site is same-origin only; this one file is for every site.
    assert response.headers.get_list("cross-origin-resource-policy") == ["cross-origin"]
    assert response.headers["x-content-type-options"] == "nosniff"
    cache = response.headers["cache-control"]
    found = re.fullmatch(r"public, max-age=(\d+)", cache)
    assert found, cache
    assert 0 < int(found.group(1)) <= 3600  # an upgrade reaches host pages within the hour
    # The labels come translated, in every language, and the placeholder is filled.
    assert "Chatta med oss" in response.text
    assert "Chat with us" in response.text
    assert "/*CONFIG*/" not in response.text
    assert "set-cookie" not in response.headers

    again = client.get("/widget.js", headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert client.head("/widget.js").status_code == 200
    chat = client.get("/chat/demo")
    assert chat.headers.get_list("cross-origin-resource-policy") == ["same-origin"]


def test_the_embedded_chat_may_be_framed_only_by_the_teams_sites(
    client: httpx.Client, admin: httpx.Client
) -> None:
    # No sites named: even in embed mode, no one may frame the chat.
    refused = client.get("/chat/demo", params={"embed": "1"})
    assert refused.status_code == 200
    assert frame_ancestors(refused) == "'none'"
    assert refused.headers.get_list("x-frame-options") == ["DENY"]

    allow_sites(admin, f"{SITE}\nhttp://127.0.0.1:5173")
    for params in ({"embed": "1"}, {}):
        response = client.get("/chat/demo", params=params)
        assert frame_ancestors(response) == f"{SITE} http://127.0.0.1:5173"
        assert "x-frame-options" not in response.headers  # it could only contradict the CSP
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert "set-cookie" not in response.headers

    # Embed mode is the same page and script; it only tells the script it is in the widget,
    # and quick exit's plain link leaves the whole tab.
    embedded, plain = (client.get("/chat/demo", params=p).text for p in ({"embed": "1"}, {}))
    assert config_of(embedded)["embed"] is True
    assert config_of(plain)["embed"] is False
    assert re.search(r'<a class="btn exit" id="exit" href="[^"]*" target="_top"', embedded)
    assert 'target="_top"' not in plain
    scripts = re.compile(r'<script type="module" src="([^"]+)"')
    assert scripts.findall(embedded) == scripts.findall(plain)


def test_the_admin_page_gives_the_line_for_the_teams_site(
    server: ServerThread, admin: httpx.Client
) -> None:
    page = admin.get(PRIVACY).text
    found = re.search(r'<code data-testid="widget-snippet">([^<]*)</code>', page)
    assert found, "no widget snippet on the privacy page"
    assert html.unescape(found.group(1)) == (
        f'<script src="{server.http}/widget.js" data-team="demo" '
        'referrerpolicy="no-referrer" async></script>'
    )
