"""CSRF protection for the worker app: a double-submit token plus the Origin check.

``CsrfCookie`` gives every browser that visits ``/app`` a random token in an HttpOnly,
SameSite=Strict cookie scoped to ``/app`` (so young people's pages never get one); pages
put the same token in their forms. ``check_csrf`` refuses a state-changing request whose
form field or ``X-CSRF-Token`` header does not match the cookie, or whose Origin is
foreign.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lykta.config import Settings
from lykta.web.security import origin_allowed

CSRF_COOKIE = "lykta_csrf"
CSRF_FIELD = "csrf"
SCOPE_KEY = "lykta.csrf"


def _valid(token: str | None) -> bool:
    return token is not None and 20 <= len(token) <= 64 and token.isascii()


class CsrfCookie:
    def __init__(self, app: ASGIApp, *, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/app"):
            await self.app(scope, receive, send)
            return
        existing = HTTPConnection(scope).cookies.get(CSRF_COOKIE)
        token = existing if existing is not None and _valid(existing) else None
        scope[SCOPE_KEY] = token or secrets.token_urlsafe(24)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and token is None:
                headers = MutableHeaders(scope=message)
                cookie = f"{CSRF_COOKIE}={scope[SCOPE_KEY]}; Path=/app; HttpOnly; SameSite=Strict"
                headers.append("set-cookie", cookie + ("; Secure" if self.secure else ""))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def csrf_token(request: Request) -> str:
    token: str = request.scope.get(SCOPE_KEY, "")
    return token


async def check_csrf(request: Request, settings: Settings) -> None:
    """Refuse a cross-site or token-less state change with 403."""
    if not origin_allowed(request, settings):
        raise HTTPException(status_code=403, detail="cross-site request refused")
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not (_valid(cookie) and sent and hmac.compare_digest(cookie or "", sent)):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
