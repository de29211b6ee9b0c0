"""A load-generator process: simulated people on one asyncio loop (uvloop), carrying out
the coordinator's commands (``plan``) one at a time and answering each.

A young person and the worker who follows their conversation live in the same process,
so the send time and the receive time come from one ``time.perf_counter()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import resource
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import uvloop
from websockets.exceptions import InvalidHandshake, WebSocketException

from bench.harness.clients import (
    BODIES,
    Frame,
    FrameRefused,
    LyktaWorker,
    LyktaYouth,
    RefWorker,
    RefYouth,
    Tracker,
    Worker,
    Youth,
)
from bench.harness.plan import (
    Answer,
    CheckIdle,
    CheckResult,
    Command,
    ConnectIdle,
    Crashed,
    DropIdle,
    Endpoint,
    Failures,
    Heal,
    HealResult,
    IdleResult,
    Populate,
    PopulateResult,
    RateResult,
    Reset,
    SendAtRate,
    Shutdown,
    StormGo,
    StormPrepare,
    StormPrepared,
    StormResult,
    TeamPlan,
)

EXPECTED = (OSError, TimeoutError, FrameRefused, WebSocketException, InvalidHandshake)
"""What can go wrong with one simulated person without the harness being broken."""

T = TypeVar("T")
KEEPALIVE = 25.0
"""Seconds of silence after which a Lykta client sends ``ping`` (as the pages do)."""


def raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def sources(index: int) -> Iterator[str]:
    """Loopback addresses to connect from, many per process (127.0.<index+1>.1-250), so
    the server sees many clients and no one address runs out of ports."""
    return itertools.cycle(f"127.0.{index + 1}.{k}" for k in range(1, 251))


async def bounded(limit: int, items: Iterable[T], work: Callable[[T], Awaitable[None]]) -> None:
    """Run ``work`` on every item, at most ``limit`` at a time."""
    semaphore = asyncio.Semaphore(max(1, limit))

    async def one(item: T) -> None:
        async with semaphore:
            await work(item)

    await asyncio.gather(*(one(item) for item in items))


class LoadGen:
    def __init__(self, index: int) -> None:
        self.index = index
        self.tracker = Tracker()
        self.tracker.prefix = f"g{index}"
        self.sources = sources(index)
        self.idle: list[Youth] = []
        self.serial = 0
        self.pairs: list[tuple[Youth, Worker]] = []
        self.workers: list[Worker] = []
        self.missed: dict[int, str] = {}
        """id(young person) -> the client id of the worker's message sent while away."""
        self.keeper: asyncio.Task[None] | None = None

    async def keep_alive(self) -> None:
        """Ping from every Lykta client that has been silent for ``KEEPALIVE`` seconds."""
        ping = b'{"type":"ping"}'
        while True:
            await asyncio.sleep(1.0)
            quiet = time.monotonic() - KEEPALIVE
            peers = [*self.idle, *self.workers, *(youth for youth, _ in self.pairs)]
            for peer in peers:
                if peer.keepalive and peer.connected and 0 < peer.last_sent < quiet:
                    with contextlib.suppress(ConnectionError, WebSocketException):
                        await peer.send_raw(ping)

    async def dispatch(self, command: Command) -> Answer:
        if self.keeper is None:
            self.keeper = asyncio.create_task(self.keep_alive())
        match command:
            case ConnectIdle():
                return await self.connect_idle(command)
            case CheckIdle():
                return await self.check_idle(command.timeout)
            case DropIdle():
                for peer in self.idle:
                    peer.abort()
                self.idle = []
                return None
            case Populate():
                return await self.populate(command)
            case SendAtRate():
                return await self.send_at_rate(command)
            case Heal():
                return await self.heal(command.timeout)
            case StormPrepare():
                return await self.storm_prepare(command.concurrency)
            case StormGo():
                return await self.storm_go(command)
            case Reset():
                self.drop_all()
                self.idle, self.pairs, self.workers, self.missed = [], [], [], {}
                self.tracker.reset()
                return None
        raise ValueError(f"unknown command {command!r}")

    def drop_all(self) -> None:
        for peer in [*self.idle, *self.workers, *(y for y, _ in self.pairs)]:
            peer.abort()

    # ----- idle connections --------------------------------------------------------------

    def _youth(self, endpoint: Endpoint, team: str) -> Youth:
        source = next(self.sources)
        if endpoint.protocol == "lykta":
            return LyktaYouth(self.tracker, endpoint.youth_base, source, team)
        self.serial += 1
        return RefYouth(self.tracker, endpoint.youth_base, source, team, f"{team}-{self.serial}")

    async def connect_idle(self, command: ConnectIdle) -> IdleResult:
        failures = Failures()
        started, before = time.perf_counter(), len(self.idle)

        async def one(i: int) -> None:
            youth = self._youth(command.endpoint, command.teams[i % len(command.teams)])
            left = 60.0 if command.give_up_at is None else command.give_up_at - time.time()
            try:
                if left <= 0:
                    raise TimeoutError("the idle phase's time limit passed")
                if isinstance(youth, LyktaYouth):
                    await youth.start(within=min(left, 60))
                else:
                    await youth.connect(within=min(left, 60))
            except EXPECTED as exc:
                failures.add(exc)
                youth.abort()
                return
            self.idle.append(youth)

        await bounded(command.concurrency, range(command.count), one)
        return IdleResult(len(self.idle) - before, failures, time.perf_counter() - started)

    async def check_idle(self, within: float) -> CheckResult:
        answered = [False] * len(self.idle)

        async def one(i: int) -> None:
            answered[i] = await self.idle[i].ping(within)

        await bounded(500, range(len(self.idle)), one)
        return CheckResult(alive=sum(answered), total=len(self.idle))

    # ----- the conversation workload -------------------------------------------------------

    async def populate(self, command: Populate) -> PopulateResult:
        """Pairs of a young person and the worker following them; idle young people still
        connected are taken first (their conversations have started), the rest are new."""
        started = time.perf_counter()
        failures = Failures()
        endpoint, within = command.endpoint, command.timeout
        waiting: dict[str, list[Youth]] = {}
        for youth in self.idle:
            if youth.connected:
                waiting.setdefault(youth.team, []).append(youth)
            else:
                youth.abort()
        self.idle = []
        planned: list[tuple[Youth, Worker, bool]] = []
        for team in command.teams:
            workers = await self._connect_workers(endpoint, team, within, failures)
            ready = waiting.pop(team.slug, [])
            for youth in ready[team.youths :]:
                youth.abort()
            if not workers:
                continue
            for i in range(team.youths):
                worker = workers[i % len(workers)]
                if i < len(ready):
                    planned.append((ready[i], worker, True))
                else:
                    planned.append((self._youth(endpoint, team.slug), worker, False))
        for leftovers in waiting.values():
            for youth in leftovers:
                youth.abort()

        async def one(pair: tuple[Youth, Worker, bool]) -> None:
            youth, worker, connected = pair
            try:
                steps = self._set_up(youth, worker, connected, within)
                await asyncio.wait_for(steps, within * 2)
                self.pairs.append((youth, worker))
            except EXPECTED as exc:
                failures.add(exc)
                youth.abort()

        await bounded(command.concurrency, planned, one)
        return PopulateResult(
            len(self.pairs), len(self.workers), failures, time.perf_counter() - started
        )

    async def _connect_workers(
        self, endpoint: Endpoint, team: TeamPlan, within: float, failures: Failures
    ) -> list[Worker]:
        workers: list[Worker] = []
        for cookie in team.cookies:
            worker: Worker
            try:
                if endpoint.protocol == "lykta":
                    base, source = endpoint.worker_base, next(self.sources)
                    worker = LyktaWorker(self.tracker, base, source, cookie)
                    await worker.hello(within)
                else:
                    worker = RefWorker(self.tracker, endpoint.worker_base, next(self.sources))
                    await worker.connect(within)
            except EXPECTED as exc:
                failures.add(exc)
                continue
            workers.append(worker)
        self.workers.extend(workers)
        return workers

    async def _set_up(self, youth: Youth, worker: Worker, connected: bool, within: float) -> None:
        """Start (unless ``connected``), send a first message, and have the worker open
        the conversation (and, on Lykta, take it: it is then active, out of the queue)."""
        tracker = self.tracker
        client_id = tracker.new_client_id()
        if isinstance(youth, LyktaYouth) and isinstance(worker, LyktaWorker):
            if not connected:
                await youth.start(within)
            waits = [tracker.expect(("ack", client_id)), tracker.expect(("got", client_id))]
            await youth.send_raw(youth.message(client_id, BODIES[0]))
            await asyncio.wait_for(asyncio.gather(*waits), within)
            conversation = youth.conversation_id
            assert conversation is not None  # noqa: S101 - set by the echoed message
            joined = tracker.expect(("joined", conversation))
            await worker.open(conversation)
            await worker.send({"type": "take", "conversation_id": conversation})
            await asyncio.wait_for(joined, within)
        elif isinstance(youth, RefYouth) and isinstance(worker, RefWorker):
            opened = tracker.expect(("opened", youth.conversation_id))
            await worker.open(youth.conversation_id)
            await asyncio.wait_for(opened, within)
            if not connected:
                await youth.connect(within)
            waits = [tracker.expect(("ack", client_id)), tracker.expect(("deliver", client_id))]
            await youth.send_raw(youth.message(client_id, BODIES[0]))
            await asyncio.wait_for(asyncio.gather(*waits), within)
        else:
            raise TypeError("a young person and a worker of different protocols")

    async def send_at_rate(self, command: SendAtRate) -> RateResult:
        tracker = self.tracker
        tracker.reset()
        tracker.late_ms = command.late_ms
        give_up = command.give_up_after_late
        gave_up = False
        senders = [youth for youth, _ in self.pairs if youth.connected]
        total = round(command.rate * command.duration)
        if not senders or total == 0:
            return RateResult(0, 0, 0, 0.0, [], [], [], {}, {}, 0)
        interval = 1.0 / command.rate
        t0 = time.perf_counter() + max(0.0, command.start_at - time.time())
        lag_ms: list[float] = []
        send_failures = 0
        i = 0
        while i < total:
            now = time.perf_counter()
            next_at = t0 + i * interval
            if now < next_at:
                await asyncio.sleep(next_at - now)
                continue
            due = min(total, int((now - t0) / interval) + 1)
            while i < due:
                youth = senders[i % len(senders)]
                client_id = tracker.new_client_id()
                data = youth.message(client_id, BODIES[i % len(BODIES)])
                at = time.perf_counter()
                lag_ms.append((at - (t0 + i * interval)) * 1000)
                tracker.timed(client_id, at)
                try:
                    await youth.send_raw(data)
                except (ConnectionError, WebSocketException):
                    send_failures += 1
                i += 1
            await asyncio.sleep(0)
            if give_up is not None and tracker.late(time.perf_counter()) >= give_up:
                gave_up = True
                break
        send_seconds = time.perf_counter() - t0
        if tracker.unacked or tracker.undelivered:
            tracker.settled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tracker.settled.wait(), command.grace)
        now = time.perf_counter()
        censored = [(now - sent) * 1000 for sent in tracker.undelivered.values()]
        return RateResult(
            censored_ms=censored,
            sent=i,
            acked=i - len(tracker.unacked),
            delivered=i - len(tracker.undelivered),
            send_seconds=send_seconds,
            ack_ms=tracker.ack_ms,
            delivery_ms=tracker.delivery_ms,
            lag_ms=lag_ms,
            errors=dict(tracker.errors),
            closes=dict(tracker.closes),
            send_failures=send_failures,
            gave_up=gave_up,
        )

    async def heal(self, within: float) -> HealResult:
        failures, youths, workers = Failures(), 0, 0
        for worker in self.workers:
            if worker.connected:
                continue
            try:
                if isinstance(worker, LyktaWorker):
                    await worker.hello(within)
                    await worker.reopen_all()
                    pong = self.tracker.expect(("pong", worker.key))
                    await worker.send({"type": "ping"})
                    await asyncio.wait_for(pong, within)
                else:
                    await worker.connect(within)
                    opened = [self.tracker.expect(("opened", c)) for c in worker.following]
                    await worker.reopen_all()
                    await asyncio.wait_for(asyncio.gather(*opened), within)
                workers += 1
            except EXPECTED as exc:
                failures.add(exc)
                worker.abort()

        async def youth_back(youth: Youth) -> None:
            nonlocal youths
            try:
                if isinstance(youth, LyktaYouth):
                    await youth.resume(within)
                else:
                    await youth.connect(within)
                youths += 1
            except EXPECTED as exc:
                failures.add(exc)
                youth.abort()

        await bounded(64, [y for y, _ in self.pairs if not y.connected], youth_back)
        return HealResult(youths, workers, failures)

    # ----- the reconnect storm (Lykta only: the references have no resume) -----------------

    async def storm_prepare(self, concurrency: int) -> StormPrepared:
        failures = Failures()
        away = [(y, w) for y, w in self.pairs if isinstance(y, LyktaYouth) and y.code]
        await asyncio.gather(*(y.close() for y, _ in away))
        self.missed = {}
        sent = 0

        async def write(pair: tuple[Youth, Worker]) -> None:
            nonlocal sent
            youth, worker = pair
            client_id = self.tracker.new_client_id()
            ack = self.tracker.expect(("ack", client_id))
            try:
                await worker.send(
                    {
                        "type": "send",
                        "conversation_id": youth.conversation_id,
                        "client_id": client_id,
                        "body": BODIES[sent % len(BODIES)],
                    }
                )
                await asyncio.wait_for(ack, 30)
            except EXPECTED as exc:
                failures.add(exc)
                return
            self.missed[id(youth)] = client_id
            sent += 1

        await bounded(concurrency, away, write)
        return StormPrepared(len(away), sent, failures)

    async def _catch_up(
        self, youth: LyktaYouth, got: asyncio.Future[Frame], deadline: float
    ) -> None:
        """One attempt as the page makes it: connect (a handshake hanging 15 s is given
        up), send ``resume``, then wait — for the missed message, an error answer, the
        connection dropping, or the deadline. No timeout on ``ready`` itself: the page
        waits as long as the link lives, and drops a link silent for 60 s although it
        pinged (the keep-alive pings after 25 s of silence)."""
        await youth.connect(within=max(0.1, min(15.0, deadline - time.perf_counter())))
        ready = await youth.send_resume()
        watched: set[asyncio.Future[Any]] = {got, ready}
        if youth.reader is not None:
            watched.add(youth.reader)
        try:
            while not got.done():
                left = deadline - time.perf_counter()
                if left <= 0:
                    return
                await asyncio.wait(
                    watched, timeout=min(left, 5.0), return_when=asyncio.FIRST_COMPLETED
                )
                if ready.done():
                    watched.discard(ready)
                    if ready.exception() is not None:
                        raise FrameRefused(str(ready.exception()))
                if not got.done() and not youth.connected:
                    raise ConnectionError("dropped before catching up")
                if not got.done() and youth.silent_link():
                    raise ConnectionError("no frame for 60 s although pinged")
        finally:
            self.tracker.forget(("ready", youth.key))

    async def storm_go(self, command: StormGo) -> StormResult:
        missed = self.missed
        storming = [y for y, _ in self.pairs if id(y) in missed]
        times: list[float] = []
        failures, retries, lost = Failures(), 0, 0
        await asyncio.sleep(max(0.0, command.start_at - time.time()))
        self.tracker.closes.clear()
        t0 = time.perf_counter()
        deadline = t0 + command.deadline

        async def back(youth: Youth) -> None:
            nonlocal retries, lost
            assert isinstance(youth, LyktaYouth)  # noqa: S101 - storming holds Lykta youths
            got = self.tracker.expect(("got", missed[id(youth)]))
            tries = 0
            while not got.done() and time.perf_counter() < deadline:
                try:
                    await self._catch_up(youth, got, deadline)
                except EXPECTED as exc:
                    failures.add(exc)
                    youth.abort()
                    retries += 1
                    # wsclient.js: min(10 s, 0.5 s * 2^tries), half of it fixed, half random.
                    delay = min(10.0, 0.5 * 2**tries)
                    tries += 1
                    pause = delay / 2 + random.random() * delay / 2  # noqa: S311 - jitter
                    await asyncio.sleep(min(pause, max(0.0, deadline - time.perf_counter())))
            if got.done():
                times.append(time.perf_counter() - t0)
            else:
                lost += 1

        await asyncio.gather(*(back(youth) for youth in storming))
        closes = dict(self.tracker.closes)
        return StormResult(len(storming), times, lost, retries, failures, closes)


async def serve(connection: Connection, index: int) -> None:
    loop = asyncio.get_running_loop()
    generator = LoadGen(index)
    try:
        while True:
            command: Any = await loop.run_in_executor(None, connection.recv)
            if isinstance(command, Shutdown):
                break
            try:
                answer = await generator.dispatch(command)
            except Exception as exc:
                answer = Crashed(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            connection.send(answer)
    finally:
        generator.drop_all()
        with contextlib.suppress(Exception):
            connection.close()


def run(connection: Connection, index: int) -> None:
    """The process's entry point (``multiprocessing``, spawn)."""
    raise_open_files_limit()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(connection, index))
