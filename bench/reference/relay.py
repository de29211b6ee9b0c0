"""The relay shared by ``echo`` and ``sqlite_relay``: plain Starlette WebSocket routes and a
dict of the worker sockets that opened each conversation, frames encoded with orjson as
Lykta does. The only difference between the two references is the optional ``store`` step
awaited before the ack, so the gap between their figures is the price of that step.

A youth socket's handler acks on its own socket, then writes the message straight to each
subscribed worker socket (uvicorn writes a frame to the transport at once and only waits
while that peer's buffer is over its high-water mark). No queues, no per-socket writer task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.reference.common import CLOSE_POLICY, open_frame, send_frame, valid_conversation_id

Store = Callable[[str, str, str], Awaitable[None]]
"""Persists ``(conversation_id, client_id, body)``; returns once the message is durable."""

Lifespan = Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]


def _loads(raw: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _text(frame: dict[str, str]) -> str:
    return orjson.dumps(frame).decode()


class Relay:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self.workers: dict[str, set[WebSocket]] = {}
        """Conversation id -> the worker sockets that opened it."""

    async def youth(self, websocket: WebSocket) -> None:
        conversation_id = websocket.query_params.get("c", "")
        if not valid_conversation_id(conversation_id):
            await websocket.close(CLOSE_POLICY)
            return
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                frame = send_frame(_loads(await websocket.receive_text()))
                if frame is None:
                    await websocket.close(CLOSE_POLICY)
                    return
                client_id, body = frame
                if self.store is not None:
                    await self.store(conversation_id, client_id, body)
                await websocket.send_text(_text({"type": "ack", "client_id": client_id}))
                await self.forward(conversation_id, client_id, body)

    async def forward(self, conversation_id: str, client_id: str, body: str) -> None:
        subscribers = self.workers.get(conversation_id)
        if not subscribers:
            return
        text = _text(
            {
                "type": "message",
                "conversation_id": conversation_id,
                "client_id": client_id,
                "body": body,
            }
        )
        for worker in list(subscribers):
            # A worker socket that is closing is dropped by its own handler.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await worker.send_text(text)

    async def worker(self, websocket: WebSocket) -> None:
        await websocket.accept()
        opened: set[str] = set()
        try:
            while True:
                conversation_id = open_frame(_loads(await websocket.receive_text()))
                if conversation_id is None:
                    await websocket.close(CLOSE_POLICY)
                    return
                self.workers.setdefault(conversation_id, set()).add(websocket)
                opened.add(conversation_id)
                await websocket.send_text(
                    _text({"type": "opened", "conversation_id": conversation_id})
                )
        except WebSocketDisconnect:
            pass
        finally:
            for conversation_id in opened:
                subscribers = self.workers.get(conversation_id)
                if subscribers is not None:
                    subscribers.discard(websocket)
                    if not subscribers:
                        del self.workers[conversation_id]


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app(relay: Relay, lifespan: Lifespan | None = None) -> Starlette:
    return Starlette(
        routes=[
            Route("/ready", ready),
            WebSocketRoute("/ws/youth", relay.youth),
            WebSocketRoute("/ws/worker", relay.worker),
        ],
        lifespan=lifespan,
    )
