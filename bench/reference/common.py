"""What the reference servers share: the command line, the protocol's validation rules, and
the uvicorn settings, which are those of ``lykta.cli.server_config`` (uvloop, httptools,
uvicorn's sans-I/O ``websockets`` implementation, no access log, no compression, 64 KiB
frames, 20 s protocol pings), so that only the application differs between Lykta and a
reference."""

from __future__ import annotations

import argparse
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal, NoReturn

import uvicorn

CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

# Lykta's production values (``Settings.ws_ping_interval`` / ``ws_ping_timeout`` defaults).
WS_PROTOCOL = "websockets-sansio"
BACKLOG = 8192
WS_MAX_SIZE = 64 * 1024
WS_PING_INTERVAL = 20.0
WS_PING_TIMEOUT = 20.0

CLOSE_POLICY = 1008
"""Close code for a socket that breaks the protocol (a bad conversation id or frame)."""


def valid_conversation_id(value: object) -> bool:
    return isinstance(value, str) and CONVERSATION_ID.fullmatch(value) is not None


def send_frame(frame: object) -> tuple[str, str] | None:
    """``(client_id, body)`` of a young person's ``send`` frame, or None if it is not one."""
    if not isinstance(frame, dict) or frame.get("type") != "send":
        return None
    client_id, body = frame.get("client_id"), frame.get("body")
    if not isinstance(client_id, str) or not isinstance(body, str):
        return None
    return client_id, body


def open_frame(frame: object) -> str | None:
    """The conversation id of a worker's ``open`` frame, or None if it is not a valid one."""
    if not isinstance(frame, dict) or frame.get("type") != "open":
        return None
    conversation_id = frame.get("conversation_id")
    return conversation_id if valid_conversation_id(conversation_id) else None


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    db: Path | None
    redis: str | None
    synchronous: Literal["full", "normal"]


def parse_args(
    prog: str,
    description: str,
    argv: list[str] | None = None,
    *,
    needs_db: bool,
    supports_redis: bool,
) -> Options:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--db",
        type=Path,
        required=needs_db,
        help="SQLite file (created if missing)" if needs_db else "ignored: nothing is stored",
    )
    parser.add_argument(
        "--synchronous",
        choices=["full", "normal"],
        default="full",
        help="SQLite's synchronous pragma, as LYKTA_SQLITE_SYNCHRONOUS: full (the default, "
        "as Lykta's) syncs every commit to disk; normal survives a process crash only"
        if needs_db
        else "ignored: nothing is stored",
    )
    parser.add_argument(
        "--redis",
        help="Redis URL for a channel layer shared by several processes"
        if supports_redis
        else "not supported: this reference runs as one process",
    )
    args = parser.parse_args(argv)
    if args.redis and not supports_redis:
        parser.error("--redis is not supported: this reference runs as a single process")
    if not 0 < args.port < 65536:
        parser.error(f"port must be 1-65535, not {args.port}")
    return Options(
        host=args.host,
        port=args.port,
        db=args.db,
        redis=args.redis,
        synchronous=args.synchronous,
    )


def server_config(
    app: Any, host: str, port: int, *, lifespan: Literal["on", "off"] = "on"
) -> uvicorn.Config:
    """The uvicorn settings of ``lykta.cli.server_config`` (its defaults for pings)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        ws=WS_PROTOCOL,
        ws_max_size=WS_MAX_SIZE,
        ws_ping_interval=WS_PING_INTERVAL,
        ws_ping_timeout=WS_PING_TIMEOUT,
        ws_per_message_deflate=False,
        backlog=BACKLOG,
        log_config=None,
        lifespan=lifespan,
    )


def _exit_cleanly(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def exit_cleanly_on_signals() -> None:
    """Exit with status 0 on SIGTERM or SIGINT.

    While uvicorn runs it handles both signals itself (closing the sockets and running the
    lifespan shutdown), then re-raises the signal it got with the previous handler back in
    place: this one. A signal that arrives before uvicorn starts exits at once.
    """
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)


def serve(config: uvicorn.Config) -> None:
    exit_cleanly_on_signals()
    uvicorn.Server(config).run()
