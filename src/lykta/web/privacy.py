"""Keeping addresses out of everything.

``ForgetClient`` is the outermost ASGI layer: it removes the peer address from the scope
before anything (including the server's own connection log lines, which read the same
scope) can see it. What rate limits need instead is ``scope["lykta.client_key"]``: an
HMAC of the address under a key that lives only in memory and changes every day.
``RedactAddresses`` is a second line of defence on every log handler: anything that looks
like an IPv4 or IPv6 address is replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets

from starlette.types import ASGIApp, Receive, Scope, Send

_OCTETS = r"(?:\d{1,3}\.){3}\d{1,3}"
_IPV4 = rf"(?<![\d.]){_OCTETS}(?::\d+)?(?![\d.])"
_H = "[0-9a-fA-F]{1,4}"
_TAIL = f"(?:{_OCTETS}|{_H})"  # an IPv6 address may end in an embedded IPv4 address
_IPV6 = (
    r"(?<![:\w])\[?(?:"
    f"(?:{_H}:){{6}}(?:{_H}:{_H}|{_OCTETS})"  # full form
    f"|(?:{_H}:)*(?:{_H})?::(?:{_H}:)*(?:{_TAIL})?"  # compressed form (contains ::)
    r")\]?(?::\d+)?(?![:\w.])"
)
ADDRESS_RE = re.compile(f"{_IPV4}|{_IPV6}")


CLIENT_KEY = "lykta.client_key"


class ClientKeyer:
    """Keyed hashes of client addresses, with a random key per UTC day, held in memory."""

    def __init__(self) -> None:
        self._day: dt.date | None = None
        self._key = b""

    def key_for(self, address: str) -> str:
        today = dt.datetime.now(dt.UTC).date()
        if today != self._day:
            self._day = today
            self._key = secrets.token_bytes(32)
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:32]


class ForgetClient:
    def __init__(self, app: ASGIApp, keyer: ClientKeyer | None = None) -> None:
        self.app = app
        self.keyer = keyer or ClientKeyer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope[CLIENT_KEY] = self.keyer.key_for(client[0] if client else "")
            scope["client"] = None
        await self.app(scope, receive, send)


def client_key(scope: Scope) -> str:
    """The keyed hash of the caller's address (set by ``ForgetClient``)."""
    key = scope.get(CLIENT_KEY)
    return key if isinstance(key, str) else "unknown"


class RedactAddresses(logging.Filter):
    """Redacts the message of a record (for handlers with their own formatter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = ADDRESS_RE.sub("[address]", message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the whole formatted line, tracebacks and exception texts included."""

    def format(self, record: logging.LogRecord) -> str:
        return ADDRESS_RE.sub("[address]", super().format(record))


def configure_logging(level: str = "INFO") -> None:
    """Plain lines on stderr, addresses redacted, no access log."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
