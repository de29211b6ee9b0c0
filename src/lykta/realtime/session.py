"""The receive loop shared by both socket endpoints.

It parses each frame, hands it to the endpoint's handler, and turns every expected failure
into an ``error`` frame: a bad frame never closes the connection or touches the
conversation. Unexpected exceptions are logged without content and answered the same way.

It also closes silent sockets (4408): one that has not identified itself within the hello
timeout, and one that has sent no valid frame for the idle timeout. Dead peers are found
below this, by the server's protocol-level pings (``cli.server_config``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from lykta.conversations.errors import ConversationError
from lykta.i18n import N_, get_translations
from lykta.realtime.hub import Connection
from lykta.realtime.protocol import ErrorFrame, FrameError, encode

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 4408
"""Closed for silence: not identified within the hello timeout, or idle for too long."""


@dataclass(frozen=True)
class Deadlines:
    """How long a socket may stay silent, in seconds.

    ``hello``: from the handshake until the socket has identified itself (the young
    person's ``start`` or ``resume``); other frames, pings included, do not stop it. None
    when the handshake itself identified the socket (a worker's session cookie).
    ``idle``: afterwards, between two valid frames of any type, pings included.
    """

    hello: float | None
    idle: float


FRAME_ERROR_MESSAGES = {
    "bad_frame": N_("The app sent something the server could not read."),
    "unknown_type": N_("The app sent a request the server does not know."),
    "invalid": N_("The app sent a request with missing or wrong fields."),
    "busy": N_("The server could not do that just now. Try again."),
}


def error_frame(
    locale: str,
    code: str,
    message: str,
    *,
    client_id: str | None = None,
    conversation_id: str | None = None,
) -> bytes:
    text = get_translations(locale).gettext(message)
    return encode(
        ErrorFrame(code=code, message=text, client_id=client_id, conversation_id=conversation_id)
    )


async def receive_loop(
    websocket: WebSocket,
    connection: Connection,
    locale: str,
    parse: Callable[[str | bytes], Any],
    handle: Callable[[Any], Awaitable[None]],
    *,
    deadlines: Deadlines,
    identified: Callable[[], bool],
) -> None:
    loop = asyncio.get_running_loop()
    opened = last_frame = loop.time()
    while not connection.closing:
        if deadlines.hello is None or identified():
            deadline = last_frame + deadlines.idle
        else:
            deadline = opened + deadlines.hello
        try:
            async with asyncio.timeout_at(deadline):
                event = await websocket.receive()
        except TimeoutError:
            connection.close(CLOSE_TIMEOUT)
            return
        if event["type"] == "websocket.disconnect":
            return
        raw = event.get("text")
        frame: Any = None
        try:
            if raw is None:
                raise FrameError("bad_frame", "frames must be JSON text, not binary")
            frame = parse(raw)
            last_frame = loop.time()
            await handle(frame)
        except FrameError as exc:
            message = get_translations(locale).gettext(FRAME_ERROR_MESSAGES[exc.code])
            if exc.code == "invalid":
                message = f"{message} ({exc.detail})"
            connection.send(encode(ErrorFrame(code=exc.code, message=message)))
        except ConversationError as exc:
            connection.send(
                error_frame(
                    locale,
                    exc.code,
                    exc.message,
                    client_id=getattr(frame, "client_id", None),
                    conversation_id=getattr(frame, "conversation_id", None),
                )
            )
        except Exception:
            log.exception("unexpected error while handling a %s frame", getattr(frame, "type", "?"))
            connection.send(
                error_frame(
                    locale,
                    "busy",
                    FRAME_ERROR_MESSAGES["busy"],
                    client_id=getattr(frame, "client_id", None),
                    conversation_id=getattr(frame, "conversation_id", None),
                )
            )
