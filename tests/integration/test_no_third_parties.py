"""Nothing is loaded from a third party: a crawl of every page a young person and a
worker can reach, and of every script and style those pages load, finds no reference to
another origin (the only external addresses are the quick-exit link, a navigation away,
and tel: links to help numbers)."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import httpx

from tests.integration.staff_helpers import browser
from tests.support.server import Seed, ServerThread, http_login

REFERENCE = re.compile(
    r"""(?:src|href|action|poster|srcset)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]+)["']?\s*\)"""
    r"""|@import\s+["']([^"']+)["']|(?:import|from)\s*\(?\s*["']([^"']+)["']""",
    re.IGNORECASE,
)
ALLOWED_EXTERNAL = {"https://www.smhi.se/"}  # the quick exit: a navigation, never a load
SKIP = ("/app/logout", "/app/logout-everywhere")  # following them would end the crawl


def crawl(client: httpx.Client, start: list[str]) -> tuple[set[str], list[tuple[str, str]]]:
    seen: set[str] = set()
    foreign: list[tuple[str, str]] = []
    todo = deque(start)
    while todo and len(seen) < 200:
        path = todo.popleft()
        if path in seen or path.startswith(SKIP):
            continue
        seen.add(path)
        response = client.get(path)
        kind = response.headers.get("content-type", "")
        if not any(t in kind for t in ("html", "css", "javascript")):
            continue
        for groups in REFERENCE.findall(response.text):
            reference = next(g for g in groups if g)
            if reference.startswith(("#", "data:", "tel:", "mailto:", "javascript:void")):
                continue
            here = urlsplit(str(response.url))
            parts = urlsplit(urljoin(str(response.url), reference))
            if parts.scheme in ("http", "https") and parts.netloc != here.netloc:
                if reference not in ALLOWED_EXTERNAL:
                    foreign.append((path, reference))
                continue
            if parts.scheme in ("http", "https"):
                local = parts.path + (f"?{parts.query}" if parts.query else "")
                if local not in seen:
                    todo.append(local)
    return seen, foreign


def test_youth_pages_reference_only_lykta_itself(server: ServerThread) -> None:
    with browser(server) as client:
        seen, foreign = crawl(client, ["/", "/chat/demo", "/chat/demo?lang=en"])
    assert foreign == []
    assert any(p.startswith("/static/chat.js") for p in seen)
    assert any(p.startswith("/static/wsclient.js") for p in seen)  # imported by a module


def test_worker_pages_reference_only_lykta_itself(server: ServerThread, seeded: Seed) -> None:
    with browser(server) as client:
        http_login(client, seeded.workers["Anna"])  # an admin: every page is reachable
        seen, foreign = crawl(client, ["/app", "/app/profile"])
    assert foreign == []
    for page in ("/app/admin/members", "/app/admin/settings", "/app/admin/audit"):
        assert page in seen, page
