"""Security headers on every response, and the same-origin checks for state changes.

Pure ASGI middleware (no ``BaseHTTPMiddleware``): it must not buffer responses or touch
WebSocket traffic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lykta.config import Settings

STAFF_COOKIE = "lykta_staff"

CSP_WITHOUT_FRAMING = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'"
)
CONTENT_SECURITY_POLICY = CSP_WITHOUT_FRAMING + "; frame-ancestors 'none'"
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]{1,5})?")


def framing_headers(origins: Sequence[str]) -> dict[str, str]:
    """The CSP of a page that the given origins (checked ``scheme://host[:port]``, see
    ``teams.privacy.check_origin``) may show in a frame; no origins: no one may.

    A response that carries its own CSP keeps it (``SecurityHeaders`` adds only what is
    missing), and gets no ``X-Frame-Options: DENY`` unless its CSP forbids every frame:
    that header cannot name a list of sites."""
    ancestors = " ".join(o for o in origins if _ORIGIN.fullmatch(o)) or "'none'"
    return {"content-security-policy": f"{CSP_WITHOUT_FRAMING}; frame-ancestors {ancestors}"}


def _may_be_framed(headers: list[tuple[bytes, bytes]]) -> bool:
    """True when the response's own CSP names sites in ``frame-ancestors``."""
    for name, value in headers:
        if name == b"content-security-policy":
            for directive in value.split(b";"):
                key, _, sources = directive.strip().partition(b" ")
                if key.lower() == b"frame-ancestors":
                    return sources.strip() != b"'none'"
    return False


HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    ),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = list(HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))
        self.staff_headers = [
            (n, b"same-origin" if n == b"referrer-policy" else v) for n, v in self.headers
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # The worker app posts forms to itself; with no-referrer, browsers would send
        # "Origin: null" and the same-origin check would refuse them.
        headers = self.staff_headers if scope["path"].startswith("/app") else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                if _may_be_framed(message.get("headers", [])):
                    present.add(b"x-frame-options")
                extra = [(n, v) for n, v in headers if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """Answer HEAD like GET, without the body (routes are declared for GET only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def _origin_key(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return parts.scheme.lower(), parts.netloc.lower()


def origin_allowed(connection: HTTPConnection, settings: Settings) -> bool:
    """True when the request comes from our own pages (or a configured origin).

    Browsers always send ``Origin`` on WebSocket handshakes and cross-site POSTs; a request
    without one comes from a non-browser client, which cannot carry a victim's cookies.
    """
    headers = Headers(scope=connection.scope)
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        # Browsers send "Origin: null" on same-origin form posts from no-referrer pages;
        # Sec-Fetch-Site is set by the browser itself and cannot be forged by a page.
        return headers.get("sec-fetch-site") == "same-origin"
    key = _origin_key(origin)
    if key is None:
        return False
    host = headers.get("host", "").lower()
    if key[1] == host and key[0] in ("http", "https"):
        return True
    return any(_origin_key(allowed) == key for allowed in settings.allowed_origins)
