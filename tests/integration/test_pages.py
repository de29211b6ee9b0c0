"""Pages over HTTP through the real app: status codes, headers, login, languages."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import ServerThread


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http, follow_redirects=False) as http:
        yield http


def test_youth_page_is_served_with_strict_headers(client: httpx.Client) -> None:
    response = client.get("/chat/demo")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers  # no cookie of any kind for a young person
    assert "Fältgruppen Demo" in response.text


def test_youth_page_loads_nothing_from_another_origin(client: httpx.Client) -> None:
    html = client.get("/chat/demo").text
    external = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
    loads = re.findall(r"""<(?!a\b)[a-z]+[^>]*\b(?:src|href|action)\s*=\s*["']([^"']+)["']""", html)
    assert any("/static/" in url for url in loads), "expected the page's own script and style"
    assert [url for url in loads if external.match(url)] == []
    # The only link to another site is the quick exit, a navigation away, never a load.
    links = re.findall(r"""<a\b[^>]*\bhref\s*=\s*["']([^"']+)["']""", html)
    assert {url for url in links if external.match(url)} <= {"https://www.smhi.se/"}
    assert "<script>" not in html


def test_unknown_team_is_a_clear_404_page(client: httpx.Client) -> None:
    for path in ("/chat/no-such-team", "/chat/NOT_A_SLUG!", "/chat/" + "a" * 300, "/nowhere"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text
        assert "<html" in response.text


def test_head_requests_work_on_pages(client: httpx.Client) -> None:
    assert client.head("/chat/demo").status_code == 200
    assert client.head("/healthz").status_code == 200


def test_static_files_are_cached_only_under_their_content_hash(client: httpx.Client) -> None:
    html = client.get("/chat/demo").text
    versioned = re.search(r'src="(/static/chat\.js\?v=[0-9a-f]+)"', html)
    assert versioned, "the page asks for its script with a content hash"
    response = client.get(versioned.group(1))
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "immutable" in response.headers["cache-control"]
    # Modules imported without the hash, or with an old one, are revalidated each time,
    # so an upgrade never mixes a new chat.js with an old wsclient.js.
    for url in ("/static/wsclient.js", "/static/chat.js?v=0000000000"):
        assert client.get(url).headers["cache-control"] == "no-cache"
    assert client.get("/static/../config.py").status_code == 404


def test_language_follows_accept_language_and_can_be_chosen(client: httpx.Client) -> None:
    def lang(**kwargs: object) -> str:
        html = client.get("/chat/demo", **kwargs).text  # type: ignore[arg-type]
        found = re.search(r'<html[^>]*\blang="([a-z]+)"', html)
        assert found
        return found.group(1)

    assert lang() == "sv"
    assert lang(headers={"Accept-Language": "en-GB,en;q=0.9"}) == "en"
    assert lang(headers={"Accept-Language": "de-DE, fr;q=0.5"}) == "sv"
    assert lang(params={"lang": "en"}, headers={"Accept-Language": "sv"}) == "en"
    assert lang(params={"lang": "xx"}) == "sv"


def test_swedish_and_english_pages_differ(client: httpx.Client) -> None:
    swedish = client.get("/chat/demo", headers={"Accept-Language": "sv"}).text
    english = client.get("/chat/demo", headers={"Accept-Language": "en"}).text
    # The quick exit is on the page whether the team is open or closed.
    assert "Lämna snabbt" in swedish
    assert "Quick exit" not in swedish
    assert "Quick exit" in english


def test_worker_app_requires_login(client: httpx.Client) -> None:
    response = client.get("/app")
    assert response.status_code == 303
    assert response.headers["location"] == "/app/login"


def test_malformed_login_form_is_a_clear_400(client: httpx.Client) -> None:
    client.get("/app/login")  # the CSRF cookie
    response = client.post("/app/login", data={"email": "x@y.z"})
    assert response.status_code == 400
    assert "password" in response.json()["detail"]
    response = client.post("/app/login", data={"email": "x@y.z", "password": "p" * 5000})
    assert response.status_code == 400


def test_api_explorers_that_load_cdn_scripts_are_not_served(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
