"""Keeping addresses out of everything.

``ForgetClient`` is the outermost ASGI layer: it removes the peer address from the scope
before anything (including the server's own connection log lines, which read the same
scope) can see it. ``RedactAddresses`` is a second line of defence on every log handler:
anything that looks like an IPv4 or IPv6 address is replaced.
"""

from __future__ import annotations

import logging
import re

from starlette.types import ASGIApp, Receive, Scope, Send

_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?![\d.])"
_H = "[0-9a-fA-F]{1,4}"
_IPV6 = (
    r"(?<![:\w])\[?(?:"
    f"(?:{_H}:){{7}}{_H}"  # full form
    f"|(?:{_H}:)*(?:{_H})?::(?:{_H}:)*(?:{_H})?"  # compressed form (contains ::)
    r")\]?(?::\d+)?(?![:\w])"
)
ADDRESS_RE = re.compile(f"{_IPV4}|{_IPV6}")


class ForgetClient:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["client"] = None
        await self.app(scope, receive, send)


class RedactAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = ADDRESS_RE.sub("[address]", message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Plain lines on stderr, addresses redacted, no access log."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactAddresses())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True
