"""The installable worker app over HTTP: manifest, service worker and offline page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import Seed, ServerThread, http_login

MANIFEST_LINK = re.compile(r'<link rel="manifest" href="([^"]+)">')


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http, follow_redirects=False) as http:
        yield http


def _strict(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def _shell(script: str) -> list[str]:
    found = re.search(r"^const SHELL = (\[.*\]);$", script, re.MULTILINE)
    assert found, "the service worker names no shell"
    urls: list[str] = json.loads(found.group(1))
    return urls


def test_manifest_is_served_with_its_type_and_revalidated(client: httpx.Client) -> None:
    response = client.get("/app/manifest.webmanifest", params={"lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/manifest+json"
    assert response.headers["cache-control"] == "no-cache"
    _strict(response)
    manifest = response.json()
    assert manifest["name"] == "Lykta"
    assert manifest["start_url"] == "/app"
    assert manifest["scope"] == "/app"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#f6f3ee"
    assert manifest["lang"] == "en"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200, icon
        assert image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")

    swedish = client.get("/app/manifest.webmanifest", params={"lang": "sv"}).json()
    assert swedish["lang"] == "sv"
    assert swedish["description"] != manifest["description"]


def test_service_worker_is_javascript_allowed_the_app_scope_and_revalidated(
    client: httpx.Client,
) -> None:
    response = client.get("/app/sw.js", params={"lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["service-worker-allowed"] == "/app"
    _strict(response)
    script = response.text
    assert "__SHELL__" not in script
    assert "__VERSION__" not in script
    shell = _shell(script)
    # The shell: static files and the offline page, never a page rendered for a worker.
    assert "/app/offline?lang=en" in shell
    assert [url for url in shell if not url.startswith("/static/")] == ["/app/offline?lang=en"]
    for url in shell:
        assert client.get(url).status_code == 200, url

    swedish = client.get("/app/sw.js", params={"lang": "sv"}).text
    assert "/app/offline?lang=sv" in _shell(swedish)
    version = re.compile(r'^const VERSION = "(lykta-shell-[0-9a-f]{12})";', re.MULTILINE)
    found_en, found_sv = version.search(script), version.search(swedish)
    assert found_en
    assert found_sv
    assert found_en.group(1) != found_sv.group(1)  # a new language, a new cache


def test_offline_page_is_translated_and_holds_nothing_of_a_worker(client: httpx.Client) -> None:
    response = client.get("/app/offline", params={"lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    _strict(response)
    assert "No connection — we will reconnect" in response.text
    assert 'name="csrf"' not in response.text
    swedish = client.get("/app/offline", params={"lang": "sv"}).text
    assert "No connection — we will reconnect" not in swedish
    assert "<h1>" in swedish


def test_worker_pages_link_the_manifest_and_the_youth_page_does_not(
    client: httpx.Client, seeded: Seed
) -> None:
    assert http_login(client, seeded.workers["Anna"]).status_code == 303
    app = client.get("/app", params={"lang": "en"})
    assert app.status_code == 200
    found = MANIFEST_LINK.search(app.text)
    assert found
    assert found.group(1) == "/app/manifest.webmanifest?lang=en"
    assert '<link rel="apple-touch-icon"' in app.text
    assert MANIFEST_LINK.search(client.get("/app/profile").text)

    youth = client.get("/chat/demo").text
    assert "manifest" not in youth
    assert "apple-touch-icon" not in youth
