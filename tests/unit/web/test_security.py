"""Security headers on every response and the same-origin check for state changes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lykta.config import Settings
from lykta.web.security import SecurityHeaders, origin_allowed

Headers = dict[str, list[str]]


def connection(headers: dict[str, str], kind: str = "http") -> HTTPConnection:
    scope = {
        "type": kind,
        "path": "/",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    }
    return HTTPConnection(scope)


@pytest.fixture
def plain() -> Settings:
    return Settings(allowed_origins=[])


@pytest.mark.parametrize("kind", ["http", "websocket"])
@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        # No Origin: not a browser, so no victim's cookies to abuse.
        ({"host": "lykta.example"}, True),
        ({"host": "lykta.example", "origin": "https://lykta.example"}, True),
        ({"host": "lykta.example", "origin": "http://lykta.example"}, True),
        ({"host": "lykta.example:8443", "origin": "https://lykta.example:8443"}, True),
        ({"host": "Lykta.Example", "origin": "HTTPS://LYKTA.example"}, True),
        ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}, True),
        # Another site.
        ({"host": "lykta.example", "origin": "https://evil.example"}, False),
        ({"host": "lykta.example", "origin": "https://lykta.example.evil.example"}, False),
        ({"host": "lykta.example", "origin": "https://evil.example/lykta.example"}, False),
        ({"host": "lykta.example:8000", "origin": "https://lykta.example"}, False),
        ({"host": "lykta.example", "origin": "https://lykta.example:8000"}, False),
        # Malformed or opaque origins.
        ({"host": "lykta.example", "origin": "null"}, False),
        ({"host": "lykta.example", "origin": ""}, False),
        ({"host": "lykta.example", "origin": "lykta.example"}, False),
        ({"host": "lykta.example", "origin": "//lykta.example"}, False),
        ({"host": "lykta.example", "origin": "file://"}, False),
        ({"host": "lykta.example", "origin": "ftp://lykta.example"}, False),
        ({"host": "lykta.example", "origin": "javascript://lykta.example"}, False),
        # An Origin but no Host to compare with.
        ({"origin": "https://lykta.example"}, False),
    ],
)
def test_origin_allowed(plain: Settings, headers: dict[str, str], allowed: bool, kind: str) -> None:
    assert origin_allowed(connection(headers, kind), plain) is allowed


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://widget.example", True),
        ("HTTPS://Widget.Example", True),
        ("https://other.example", True),
        ("http://widget.example", False),  # the scheme is part of the origin
        ("https://widget.example:444", False),
        ("https://evil.example", False),
        ("null", False),
    ],
)
def test_configured_allowed_origins(origin: str, allowed: bool) -> None:
    settings = Settings(
        allowed_origins=["https://widget.example", "https://other.example/", "not a url"]
    )
    request = connection({"host": "lykta.example", "origin": origin})
    assert origin_allowed(request, settings) is allowed


# ----- SecurityHeaders -----------------------------------------------------------------


async def call(
    middleware: SecurityHeaders, scope_type: str = "http"
) -> tuple[list[Message], Headers]:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        messages.append(message)

    await middleware({"type": scope_type, "path": "/"}, receive, send)
    headers: Headers = {}
    for message in messages:
        if message["type"] == "http.response.start":
            for name, value in message["headers"]:
                headers.setdefault(name.decode(), []).append(value.decode())
    return messages, headers


def app_with(extra: list[tuple[bytes, bytes]] | None = None) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), *(extra or [])]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


async def test_every_response_gets_the_security_headers() -> None:
    messages, headers = await call(SecurityHeaders(app_with()))
    csp = headers["content-security-policy"]
    assert len(csp) == 1
    directives = dict(d.strip().split(" ", 1) for d in csp[0].split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "'unsafe-inline'" not in csp[0]
    assert "'unsafe-eval'" not in csp[0]
    assert "*" not in csp[0]
    assert headers["x-frame-options"] == ["DENY"]
    assert headers["referrer-policy"] == ["no-referrer"]
    assert headers["x-content-type-options"] == ["nosniff"]
    assert "camera=()" in headers["permissions-policy"][0]
    assert "strict-transport-security" not in headers
    # The app's own headers and body are passed through.
    assert headers["content-type"] == ["text/plain"]
    assert messages[-1] == {"type": "http.response.body", "body": b"ok"}


async def test_hsts_only_when_enabled() -> None:
    _, without = await call(SecurityHeaders(app_with(), hsts=False))
    _, with_hsts = await call(SecurityHeaders(app_with(), hsts=True))
    assert "strict-transport-security" not in without
    (value,) = with_hsts["strict-transport-security"]
    max_age = int(value.split("max-age=")[1].split(";")[0])
    assert max_age >= 180 * 24 * 3600


async def test_a_header_the_app_set_is_not_duplicated() -> None:
    own = (b"content-security-policy", b"default-src 'none'; img-src 'self'")
    _, headers = await call(SecurityHeaders(app_with([own])))
    assert headers["content-security-policy"] == ["default-src 'none'; img-src 'self'"]
    assert headers["x-frame-options"] == ["DENY"]


async def test_websocket_traffic_is_not_touched() -> None:
    received: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        received.append(send)

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        pass

    await SecurityHeaders(app)({"type": "websocket", "path": "/ws/chat"}, receive, send)
    assert received == [send]
