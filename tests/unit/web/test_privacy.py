"""No address of a young person in the scope or in any log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from lykta.web.privacy import ADDRESS_RE, ForgetClient, RedactAddresses, configure_logging


def redact(text: str) -> str:
    return ADDRESS_RE.sub("[address]", text)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("10.0.0.1", "[address]"),
        ("255.255.255.255", "[address]"),
        ("connection from 192.168.1.20:51234 accepted", "connection from [address] accepted"),
        ("peer=(203.0.113.9:443)", "peer=([address])"),
        ("::1", "[address]"),
        ("2001:db8::1", "[address]"),
        ("2001:db8:85a3::8a2e:370:7334 said hi", "[address] said hi"),
        ("fe80::", "[address]"),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "[address]"),
        ("FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", "[address]"),
        ("[2001:db8::1]:8080", "[address]"),
        ("client [::1]:52000 disconnected", "client [address] disconnected"),
        ("a 10.0.0.1 and b 2001:db8::2", "a [address] and b [address]"),
    ],
)
def test_addresses_are_redacted_with_their_port(line: str, expected: str) -> None:
    assert redact(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "12:30:45",
        "at 12:30:45.123 the socket closed",
        "2026-11-21T05:42:37.123456+00:00",
        "2026-11-21 05:42:37,123 INFO lykta: started",
        "lykta 1.2.3",
        "Python 3.11.4 on linux",
        "1.2.3.4.5",
        "conversation 9f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b seq 12",
        "ratio 3:2, score 10:7",
        "Class::method",
        "sha256:deadbeef",
        "uvicorn.error: Waiting for application startup.",
    ],
)
def test_times_versions_and_ids_are_left_alone(line: str) -> None:
    assert redact(line) == line


@pytest.mark.parametrize("address", ["::ffff:192.0.2.1", "64:ff9b::198.51.100.7"])
def test_ipv4_mapped_ipv6_addresses_are_redacted_whole(address: str) -> None:
    redacted = redact(f"connection from {address} closed")
    assert redacted == "connection from [address] closed"


def record(msg: str, *args: Any) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, msg, args, None)


def test_filter_rewrites_a_record_with_an_address() -> None:
    rec = record("%s - %s", "10.1.2.3:5555", "connection open")
    assert RedactAddresses().filter(rec) is True  # redacts, never drops
    assert rec.getMessage() == "[address] - connection open"
    assert "10.1.2.3" not in rec.getMessage()


def test_filter_leaves_other_records_untouched() -> None:
    rec = record("sent %d frames to %s", 3, "conv:abc")
    RedactAddresses().filter(rec)
    assert rec.msg == "sent %d frames to %s"
    assert rec.args == (3, "conv:abc")
    assert rec.getMessage() == "sent 3 frames to conv:abc"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved_root = (root.handlers[:], root.level)
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    saved_disabled = logging.getLogger("uvicorn.access").disabled
    yield
    root.handlers[:], level = saved_root
    root.setLevel(level)
    for name, (handlers, propagate) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate
    logging.getLogger("uvicorn.access").disabled = saved_disabled


def test_configured_logging_redacts_every_line_and_has_no_access_log(
    restore_logging: None,
) -> None:
    configure_logging()
    root = logging.getLogger()
    assert len(root.handlers) == 1
    handler = root.handlers[0]
    assert any(isinstance(f, RedactAddresses) for f in handler.filters)
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)

    logging.getLogger("uvicorn.error").info('%s - "WebSocket /ws/chat" [accepted]', "10.9.8.7:4444")
    logging.getLogger("lykta.anything").warning("peer [2001:db8::7]:443 went away")
    logging.getLogger("uvicorn.access").info('%s - "GET / HTTP/1.1" 200', "10.9.8.7:4444")

    output = stream.getvalue()
    assert '[address] - "WebSocket /ws/chat" [accepted]' in output
    assert "peer [address] went away" in output
    assert "10.9.8.7" not in output
    assert "2001:db8" not in output
    assert "GET /" not in output  # no access log at all
    assert logging.getLogger("uvicorn.access").disabled


def test_addresses_in_logged_exceptions_are_redacted(restore_logging: None) -> None:
    configure_logging()
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        raise ConnectionError("peer 198.51.100.23:61000 reset the connection")
    except ConnectionError:
        logging.getLogger("lykta.test").exception("socket failed")
    assert "socket failed" in stream.getvalue()
    assert "198.51.100.23" not in stream.getvalue()


async def test_forget_client_removes_the_peer_address() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope))

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        pass

    wrapped = ForgetClient(app)
    for kind in ("http", "websocket"):
        scope: dict[str, Any] = {"type": kind, "client": ("198.51.100.23", 61000), "path": "/"}
        await wrapped(scope, receive, send)
    lifespan: dict[str, Any] = {"type": "lifespan"}
    await wrapped(lifespan, receive, send)

    assert [s["type"] for s in seen] == ["http", "websocket", "lifespan"]
    assert seen[0]["client"] is None
    assert seen[1]["client"] is None
    assert "198.51.100.23" not in repr(seen)
    assert "client" not in seen[2]
