"""A protocol client that behaves like the browser's ``wsclient.js``: an outbox of
unacknowledged sends that is replayed after every reconnect, a per-conversation record of
applied sequence numbers, and catch-up from the last one seen. Tests use it to check the
delivery guarantees from the outside, over real sockets."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.frames import frames_in


def new_client_id() -> str:
    return secrets.token_urlsafe(12)


class Peer:
    """One young person or one worker; survives disconnects and server restarts."""

    def __init__(
        self, ws_base: str, *, staff_cookie: str | None = None, source: str | None = None
    ) -> None:
        self.ws_base = ws_base
        self.staff_cookie = staff_cookie
        self.source = source
        """A loopback address to connect from (limits are per client address)."""
        self.ws: ClientConnection | None = None
        self.outbox: dict[str, dict[str, Any]] = {}
        self.acks: dict[str, int] = {}
        self.errors: list[dict[str, Any]] = []
        self.frames: list[dict[str, Any]] = []
        self.unread: collections.deque[dict[str, Any]] = collections.deque()
        """Frames received together with one a ``wait_for`` returned, not yet applied."""
        self.seen: dict[str, dict[int, dict[str, Any]]] = {}
        """conversation id -> seq -> message frame (a seq seen twice must be identical)."""
        self.duplicates = 0
        self.code: str | None = None
        self.team: str | None = None
        self.conversation_id: str | None = None
        self.open: set[str] = set()
        self.resyncs = 0

    # ----- connection --------------------------------------------------------------------

    @property
    def path(self) -> str:
        return "/ws/staff" if self.staff_cookie else "/ws/chat"

    async def connect(self) -> None:
        while self.unread:  # received on the last socket: the browser applied them at once
            self.apply(self.unread.popleft())
        headers = {"Cookie": f"lykta_staff={self.staff_cookie}"} if self.staff_cookie else {}
        self.ws = await websockets.connect(
            self.ws_base + self.path,
            additional_headers=headers,
            open_timeout=5,
            local_addr=(self.source, 0) if self.source else None,
        )

    async def drop(self) -> None:
        """Cut the connection abruptly, as a phone going into a tunnel would."""
        if self.ws is not None:
            ws, self.ws = self.ws, None
            ws.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.wait_closed(), 2)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def send_frame(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps(frame).decode())

    def last_seq(self, conversation_id: str | None = None) -> int:
        seen = self.seen.get(conversation_id or self.conversation_id or "", {})
        return max(seen, default=0)

    # ----- youth -------------------------------------------------------------------------

    async def start(self, team: str = "demo") -> dict[str, Any]:
        self.team = team
        await self.send_frame({"type": "start", "team": team})
        ready = await self.wait_for(lambda f: f["type"] in ("ready", "error"))
        if ready["type"] == "ready":
            self.code = ready["resume_code"]
        return ready

    async def resume(self, code: str | None = None, last_seq: int | None = None) -> dict[str, Any]:
        await self.send_frame(
            {
                "type": "resume",
                "team": self.team or "demo",
                "code": code or self.code,
                "last_seq": self.last_seq() if last_seq is None else last_seq,
            }
        )
        return await self.wait_for(lambda f: f["type"] in ("ready", "error"))

    # ----- staff -------------------------------------------------------------------------

    async def hello(self) -> tuple[dict[str, Any], dict[str, Any]]:
        hello = await self.wait_for(lambda f: f["type"] == "hello")
        listing = await self.wait_for(lambda f: f["type"] == "conversations")
        return hello, listing

    async def open_conversation(self, conversation_id: str) -> None:
        self.open.add(conversation_id)
        await self.send_frame(
            {
                "type": "open",
                "conversation_id": conversation_id,
                "last_seq": self.last_seq(conversation_id),
            }
        )

    # ----- both --------------------------------------------------------------------------

    async def send(self, body: str, conversation_id: str | None = None) -> str:
        client_id = new_client_id()
        frame: dict[str, Any] = {"type": "send", "client_id": client_id, "body": body}
        if self.staff_cookie:
            frame["conversation_id"] = conversation_id or self.conversation_id
        self.outbox[client_id] = frame
        if self.ws is not None:
            await self.send_frame(frame)
        return client_id

    async def resend_outbox(self) -> None:
        for frame in list(self.outbox.values()):
            await self.send_frame(frame)

    async def reconnect(self) -> None:
        """Reconnect, re-establish the session, catch up, resend what was never acked."""
        await self.connect()
        if self.staff_cookie:
            await self.hello()
            for conversation_id in sorted(self.open):
                await self.open_conversation(conversation_id)
        else:
            ready = await self.resume()
            assert ready["type"] == "ready", ready
        await self.resend_outbox()

    def apply(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        kind = frame["type"]
        if kind == "message":
            seen = self.seen.setdefault(frame["conversation_id"], {})
            if frame["seq"] in seen:
                assert seen[frame["seq"]] == frame, "same seq delivered with different content"
                self.duplicates += 1
            seen[frame["seq"]] = frame
            if self.conversation_id is None and not self.staff_cookie:
                self.conversation_id = frame["conversation_id"]
        elif kind == "redacted":
            # A worker removed a text: the client shows "[removed]" from now on, and any
            # later copy of that message (history) must say so too.
            seen = self.seen.get(frame["conversation_id"], {})
            if frame["seq"] in seen:
                seen[frame["seq"]] = {**seen[frame["seq"]], "body": None, "redacted": True}
        elif kind == "ack":
            previous = self.acks.setdefault(frame["client_id"], frame["seq"])
            assert previous == frame["seq"], "a retry was acknowledged with another seq"
            self.outbox.pop(frame["client_id"], None)
        elif kind == "error":
            self.errors.append(frame)
            if frame.get("client_id") and frame["code"] not in ("busy", "rate_limited"):
                self.outbox.pop(frame["client_id"], None)

    async def answer_resync(self) -> None:
        """The server may have missed events between nodes: ask again, as the pages do."""
        self.resyncs += 1
        if self.staff_cookie:
            for conversation_id in sorted(self.open):
                await self.send_frame(
                    {
                        "type": "sync",
                        "conversation_id": conversation_id,
                        "last_seq": self.last_seq(conversation_id),
                    }
                )
        elif self.conversation_id is not None or self.code is not None:
            await self.send_frame({"type": "sync", "last_seq": self.last_seq()})

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        """Read frames, applying each, until one matches."""
        assert self.ws is not None
        deadline = time.monotonic() + timeout
        while True:
            while self.unread:
                frame = self.unread.popleft()
                self.apply(frame)
                if frame["type"] == "resync":
                    await self.answer_resync()
                if predicate(frame):
                    return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching frame")
            raw = await asyncio.wait_for(self.ws.recv(), remaining)
            self.unread.extend(frames_in(raw))

    async def expect(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        """The latest frame already received that matches, or the next one that does."""
        matches: list[dict[str, Any]] = [f for f in self.frames if predicate(f)]
        if matches:
            return matches[-1]
        return await self.wait_for(predicate, timeout)

    async def pump_until(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        if condition():
            return
        await self.wait_for(lambda _frame: condition(), timeout)

    def bodies(self, conversation_id: str | None = None) -> list[str]:
        """Written messages in sequence order."""
        seen = self.seen.get(conversation_id or self.conversation_id or "", {})
        return [seen[s]["body"] for s in sorted(seen) if seen[s]["event"] is None]

    def assert_gap_free(self, conversation_id: str | None = None) -> None:
        seen = self.seen.get(conversation_id or self.conversation_id or "", {})
        assert sorted(seen) == list(range(1, len(seen) + 1)), "sequence has gaps"
