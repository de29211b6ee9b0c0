"""Which pages may be framed: only a team's chat page, only by the sites the team named.
Every other response keeps ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from lykta.web.security import CONTENT_SECURITY_POLICY, SecurityHeaders, framing_headers


def directives(csp: str) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in csp.split(";"))


async def headers_of(own: dict[str, str]) -> dict[str, list[str]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.encode(), v.encode()) for k, v in own.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await SecurityHeaders(app)({"type": "http", "path": "/chat/demo"}, receive, send)
    found: dict[str, list[str]] = {}
    for name, value in sent[0]["headers"]:
        found.setdefault(name.decode(), []).append(value.decode())
    return found


def test_the_framing_csp_differs_from_the_default_only_in_frame_ancestors() -> None:
    framed = framing_headers(["https://www.molndal.se", "http://127.0.0.1:5000"])
    default, own = (
        directives(CONTENT_SECURITY_POLICY),
        directives(framed["content-security-policy"]),
    )
    assert own.pop("frame-ancestors") == "https://www.molndal.se http://127.0.0.1:5000"
    assert default.pop("frame-ancestors") == "'none'"
    assert own == default
    assert framing_headers([]) == {"content-security-policy": CONTENT_SECURITY_POLICY}


def test_only_well_formed_origins_reach_the_header() -> None:
    # Stored values are checked when saved; a row changed behind Lykta's back still cannot
    # add a directive or a wildcard.
    csp = framing_headers(["https://ok.example", "https://x.example; script-src *", "*"])
    assert directives(csp["content-security-policy"])["frame-ancestors"] == "https://ok.example"
    only_bad = framing_headers(["'self'", "https://a.example/path"])["content-security-policy"]
    assert directives(only_bad)["frame-ancestors"] == "'none'"


async def test_a_page_that_names_sites_gets_no_x_frame_options() -> None:
    headers = await headers_of(framing_headers(["https://www.molndal.se"]))
    (csp,) = headers["content-security-policy"]
    assert directives(csp)["frame-ancestors"] == "https://www.molndal.se"
    assert "x-frame-options" not in headers
    assert headers["referrer-policy"] == ["no-referrer"]  # the host page's address stays away


async def test_a_page_that_names_no_sites_keeps_deny() -> None:
    for own in (framing_headers([]), {}, {"content-security-policy": "default-src 'none'"}):
        headers = await headers_of(own)
        assert headers["x-frame-options"] == ["DENY"], own
        assert len(headers["content-security-policy"]) == 1
