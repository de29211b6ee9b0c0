"""The simulated people, over real WebSockets (the ``websockets`` client library).

Two protocols: Lykta's own (``/ws/chat`` for a young person, ``/ws/staff`` for a worker,
see docs/protocol.md) and the references' reduced one (``/ws/youth?c=<conversation>`` and
``/ws/worker``, see bench/README.md). Every connection reads its frames in a task of its
own and reports them to the load generator's ``Tracker``: acknowledgements and deliveries
of timed messages, errors, and the futures that set-up steps wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections import Counter
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]
Key = tuple[str, ...]

BODIES = (
    "Hej, jag undrar en sak om skolan",
    "Det har varit lite jobbigt hemma den senaste veckan, kan man prata med någon här?",
    "okej tack",
    "Min kompis har det svårt och jag vet inte hur jag ska hjälpa henne",
    "Vad händer om man berättar för en lärare?",
    "Jag är kvar vid busshållplatsen, svarar när jag är hemma",
    "Tack för att du lyssnade, det kändes bättre nu",
    "Kan jag komma tillbaka hit i morgon också?",
)
"""Ordinary messages of 9 to 83 characters (no risk words: those flag a conversation)."""


class Tracker:
    """Timed messages in flight in one load-generator process, and waiting set-up steps.

    ``unacked`` and ``undelivered`` map a client id to the ``perf_counter`` time of its
    send; the ack (to the sender) and the delivery (to the worker following the
    conversation) each remove it and record the latency in milliseconds.
    """

    def __init__(self) -> None:
        self.unacked: dict[str, float] = {}
        self.undelivered: dict[str, float] = {}
        self.ack_ms: list[float] = []
        self.delivery_ms: list[float] = []
        self.errors: Counter[str] = Counter()
        self.closes: Counter[str] = Counter()
        self.settled = asyncio.Event()
        """Set whenever no timed message is waiting for its ack or delivery."""
        self.late_ms = float("inf")
        self.delivered_late = 0
        self.waiters: dict[Key, asyncio.Future[Frame]] = {}
        self._ids = itertools.count(1)
        self.prefix = "g"

    def new_client_id(self) -> str:
        return f"{self.prefix}x{next(self._ids):012d}"

    def reset(self) -> None:
        self.unacked.clear()
        self.undelivered.clear()
        self.ack_ms = []
        self.delivery_ms = []
        self.errors = Counter()
        self.closes = Counter()
        self.delivered_late = 0

    def late(self, now: float) -> int:
        """Messages later than ``late_ms``: delivered late, or still on their way."""
        limit, waiting = self.late_ms / 1000, 0
        for sent in self.undelivered.values():  # oldest first
            if now - sent <= limit:
                break
            waiting += 1
        return self.delivered_late + waiting

    def timed(self, client_id: str, at: float) -> None:
        self.unacked[client_id] = at
        self.undelivered[client_id] = at

    def acked(self, client_id: str) -> None:
        sent = self.unacked.pop(client_id, None)
        if sent is not None:
            self.ack_ms.append((time.perf_counter() - sent) * 1000)
            if not self.unacked and not self.undelivered:
                self.settled.set()
        self.resolve(("ack", client_id), {})

    def delivered(self, client_id: str) -> None:
        sent = self.undelivered.pop(client_id, None)
        if sent is not None:
            latency = (time.perf_counter() - sent) * 1000
            self.delivery_ms.append(latency)
            if latency > self.late_ms:
                self.delivered_late += 1
            if not self.unacked and not self.undelivered:
                self.settled.set()
        self.resolve(("deliver", client_id), {})

    def error(self, frame: Frame, *keys: Key) -> None:
        self.errors[str(frame.get("code"))] += 1
        client_id = frame.get("client_id")
        failed = [*keys, ("ack", client_id)] if isinstance(client_id, str) else list(keys)
        for key in failed:
            waiter = self.waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(FrameRefused(str(frame.get("code"))))

    def expect(self, key: Key) -> asyncio.Future[Frame]:
        """A future resolved when ``key`` is reported; register it before sending."""
        waiter: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.waiters[key] = waiter
        return waiter

    def resolve(self, key: Key, frame: Frame) -> None:
        waiter = self.waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(frame)

    def forget(self, *keys: Key) -> None:
        for key in keys:
            self.waiters.pop(key, None)


class FrameRefused(Exception):
    """The server answered a step with an ``error`` frame (its code is the message)."""


class Peer:
    """One WebSocket connection whose frames are read by a task of its own."""

    path = "/"
    keepalive = False
    """Whether the client sends a ``ping`` frame when it has been silent for a while, as
    Lykta's pages do every 25 s (the server closes sockets silent for 300 s)."""

    def __init__(self, tracker: Tracker, base: str, source: str | None) -> None:
        self.tracker = tracker
        self.base = base
        self.source = source
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.last_sent = 0.0
        self.last_received = 0.0

    @property
    def connected(self) -> bool:
        return self.ws is not None and self.reader is not None and not self.reader.done()

    def headers(self) -> dict[str, str]:
        return {}

    async def connect(self, within: float = 30) -> None:
        self.ws = await connect(
            self.base + self.path,
            origin=None,
            additional_headers=self.headers(),
            compression=None,
            proxy=None,
            open_timeout=within,
            ping_interval=None,  # the server pings; the library answers by itself
            close_timeout=2,
            max_queue=None,
            local_addr=(self.source, 0) if self.source else None,
        )
        self.last_received = time.monotonic()
        self.reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self.last_received = time.monotonic()
                data = orjson.loads(raw)
                # Lykta sends frames that went out together as one array (docs/protocol.md).
                for frame in data if isinstance(data, list) else (data,):
                    self.on_frame(frame)
        except ConnectionClosed:
            pass
        finally:
            code = ws.close_code
            self.tracker.closes[str(code) if code is not None else "none"] += 1
            self.on_closed()

    def on_frame(self, frame: Frame) -> None:
        raise NotImplementedError

    def silent_link(self, limit: float = 60.0) -> bool:
        """The page's dead-link rule (wsclient.js): nothing received for ``limit`` seconds
        although a frame (a ping) went out more than 5 s ago."""
        now = time.monotonic()
        return (
            now - self.last_received > limit
            and now - self.last_sent > 5
            and (self.last_sent > self.last_received)
        )

    def on_closed(self) -> None:
        """The connection ended (by either side)."""

    async def send(self, frame: Frame) -> None:
        await self.send_raw(orjson.dumps(frame))

    async def send_raw(self, data: bytes) -> None:
        """Send JSON already encoded, as a text frame (binary frames are refused)."""
        if self.ws is None:
            raise ConnectionError("not connected")
        self.last_sent = time.monotonic()
        await self.ws.send(data, text=True)

    async def ping(self, within: float) -> bool:
        """A protocol-level ping answered in time: the connection is really held."""
        if not self.connected or self.ws is None:
            return False
        try:
            pong = await self.ws.ping()
            await asyncio.wait_for(pong, within)
        except (ConnectionClosed, TimeoutError):
            return False
        return True

    def abort(self) -> None:
        """Drop the connection at once, as a phone losing its network would."""
        if self.ws is not None:
            self.ws.transport.abort()
        if self.reader is not None:
            self.reader.cancel()
        self.ws = None
        self.reader = None

    async def close(self) -> None:
        """Close politely (closing handshake), as a page being left does."""
        ws, reader = self.ws, self.reader
        self.ws = self.reader = None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class LyktaYouth(Peer):
    """A young person on ``/ws/chat``: start or resume, then send."""

    path = "/ws/chat"
    keepalive = True

    def __init__(self, tracker: Tracker, base: str, source: str | None, team: str) -> None:
        super().__init__(tracker, base, source)
        self.team = team
        self.code: str | None = None
        self.conversation_id: str | None = None
        self.last_seq = 0
        self.key = f"y{id(self)}"
        self.browser = secrets.token_urlsafe(16)
        """The tab's random token, sent with ``start`` as the page does."""

    def on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "ack":
            self.tracker.acked(frame["client_id"])
        elif kind == "message":
            self.last_seq = max(self.last_seq, frame["seq"])
            if self.conversation_id is None:
                self.conversation_id = frame["conversation_id"]
            if frame.get("client_id"):
                self.tracker.resolve(("got", frame["client_id"]), frame)
        elif kind == "ready":
            self.tracker.resolve(("ready", self.key), frame)
        elif kind == "error":
            self.tracker.error(frame, ("ready", self.key))

    async def start(self, within: float) -> None:
        """Connect and start a new conversation (a row and a data key on the server)."""
        await self.connect(within)
        ready = self.tracker.expect(("ready", self.key))
        await self.send({"type": "start", "team": self.team, "browser": self.browser})
        frame = await asyncio.wait_for(ready, within)
        self.code = frame["resume_code"]

    async def resume(self, within: float) -> None:
        """Connect and resume with the code and the last seq seen; history follows."""
        await self.connect(within)
        ready = await self.send_resume()
        await asyncio.wait_for(ready, within)

    async def send_resume(self) -> asyncio.Future[Frame]:
        """Send ``resume`` on the open connection; the future resolves with ``ready``
        (or fails with the error frame that answered instead)."""
        ready = self.tracker.expect(("ready", self.key))
        await self.send(
            {"type": "resume", "team": self.team, "code": self.code, "last_seq": self.last_seq}
        )
        return ready

    def message(self, client_id: str, body: str) -> bytes:
        return orjson.dumps({"type": "send", "client_id": client_id, "body": body})


class LyktaWorker(Peer):
    """A worker on ``/ws/staff`` (session cookie), following some conversations."""

    path = "/ws/staff"
    keepalive = True

    def __init__(self, tracker: Tracker, base: str, source: str | None, cookie: str) -> None:
        super().__init__(tracker, base, source)
        self.cookie = cookie
        self.following: dict[str, int] = {}
        """Conversation id -> the highest seq seen in it."""
        self.summaries = 0
        self.key = f"w{id(self)}"

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"lykta_staff={self.cookie}"}

    def on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "conversation":
            self.summaries += 1  # the team's summary of every message: real Lykta work
        elif kind == "message":
            conversation = frame["conversation_id"]
            if conversation in self.following:
                self.following[conversation] = max(self.following[conversation], frame["seq"])
            client_id = frame.get("client_id")
            if client_id and frame.get("sender") == "youth":
                self.tracker.delivered(client_id)
            elif frame.get("event") == "joined":
                self.tracker.resolve(("joined", conversation), frame)
        elif kind == "ack":
            self.tracker.acked(frame["client_id"])
        elif kind == "conversations":
            self.tracker.resolve(("hello", self.key), frame)
        elif kind == "pong":
            self.tracker.resolve(("pong", self.key), frame)
        elif kind == "error":
            conversation = frame.get("conversation_id") or ""
            self.tracker.error(frame, ("joined", conversation), ("hello", self.key))

    async def hello(self, within: float) -> None:
        """Connect and wait for ``hello`` and the team's ``conversations``."""
        listing = self.tracker.expect(("hello", self.key))
        try:
            await self.connect(within)
            # The worker app says on connect whether it is in front; these workers are
            # answering, so it is (and a youth message then queues no push to them).
            await self.send({"type": "visibility", "visible": True})
            await asyncio.wait_for(listing, within)
        finally:
            self.tracker.forget(("hello", self.key))

    async def open(self, conversation_id: str) -> None:
        last = self.following.setdefault(conversation_id, 0)
        await self.send({"type": "open", "conversation_id": conversation_id, "last_seq": last})

    async def reopen_all(self) -> None:
        for conversation_id in list(self.following):
            await self.open(conversation_id)


class RefYouth(Peer):
    """A young person on a reference server: ``/ws/youth?c=<conversation>``."""

    def __init__(
        self, tracker: Tracker, base: str, source: str | None, team: str, conversation: str
    ) -> None:
        super().__init__(tracker, base, source)
        self.team = team
        self.conversation_id = conversation
        self.path = f"/ws/youth?c={conversation}"

    def on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "ack":
            self.tracker.acked(frame["client_id"])
        elif kind == "error":
            self.tracker.error(frame)

    def message(self, client_id: str, body: str) -> bytes:
        return orjson.dumps({"type": "send", "client_id": client_id, "body": body})


class RefWorker(Peer):
    """A worker on a reference server: ``/ws/worker``, ``open`` per conversation."""

    path = "/ws/worker"

    def __init__(self, tracker: Tracker, base: str, source: str | None) -> None:
        super().__init__(tracker, base, source)
        self.following: dict[str, int] = {}

    def on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "message":
            client_id = frame.get("client_id")
            if client_id:
                self.tracker.delivered(client_id)
        elif kind == "opened":
            self.tracker.resolve(("opened", frame["conversation_id"]), frame)
        elif kind == "error":
            self.tracker.error(frame)

    async def open(self, conversation_id: str) -> None:
        self.following.setdefault(conversation_id, 0)
        await self.send({"type": "open", "conversation_id": conversation_id})

    async def reopen_all(self) -> None:
        for conversation_id in list(self.following):
            await self.open(conversation_id)


Youth = LyktaYouth | RefYouth
Worker = LyktaWorker | RefWorker
