"""CPU per message, start and resume on the hot paths, in-process, without sockets.

``python -m bench.hotpath``: a seeded SQLite database in a temporary directory, N
conversations (half held by a worker whose app is in front), then every conversation sends
ROUNDS messages at once through ``do_send_message``: group commit, encryption, publishing
to the hub (nobody subscribed). Prints messages/s and the process's CPU time per message
(every thread, the database driver's included), split into the process's own code
and the kernel's work for it. With ``LYKTA_TEST_DATABASE_URL`` and ``LYKTA_TEST_REDIS_URL``
set, as for the tests, it runs on PostgreSQL and Redis instead.

``--path start``: N young people send ``start`` at once, each through the young person's
socket handler (``YouthSocket``) on a socket that only collects what it is sent; ROUNDS
such waves. ``--path resume``: the same for ``resume`` with the codes those starts gave.
``--profile`` adds cProfile's top entries. The figures in docs/performance.md's history of
the hot paths come from this.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import secrets
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from starlette.websockets import WebSocket, WebSocketState
from tests.support.server import seed, settings_for

from lykta.conversations import service
from lykta.conversations.models import Sender
from lykta.conversations.service import Author
from lykta.conversations.youth_socket import YouthSocket
from lykta.realtime.protocol import parse_youth_frame
from lykta.runtime import Runtime
from lykta.teams.models import Team
from lykta.teams.service import get_team_by_slug

PATHS = ("send", "start", "resume")


class Collector:
    """Stands in for a socket: keeps what the server sends."""

    application_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    async def send_text(self, text: str) -> None:
        data = json.loads(text)
        self.sent.extend(data if isinstance(data, list) else [data])

    async def close(self, code: int = 1000) -> None:
        self.application_state = WebSocketState.DISCONNECTED


def youth(rt: Runtime, n: int) -> tuple[YouthSocket, Collector]:
    socket = Collector()
    connection = rt.hub.connect(cast(WebSocket, socket))
    return YouthSocket(rt, connection, client_key=f"client-{n}"), socket


@dataclass(frozen=True)
class Measured:
    wall: float
    user: float
    """CPU seconds in the process's own code (every thread)."""
    system: float
    """CPU seconds in the kernel on the process's behalf: system calls (socket sends and
    receives, disk syncs), which on a virtual machine can cost as much as the code."""
    profiler: cProfile.Profile | None


async def measure(work: Callable[[], Awaitable[object]], profile: bool) -> Measured:
    profiler = cProfile.Profile() if profile else None
    began, cpu = time.perf_counter(), os.times()
    if profiler is not None:
        profiler.enable()
    await work()
    if profiler is not None:
        profiler.disable()
    now = os.times()
    return Measured(
        time.perf_counter() - began, now.user - cpu.user, now.system - cpu.system, profiler
    )


async def sends(
    rt: Runtime, team: Team, staff: Author, conversations: int, rounds: int, profile: bool
) -> Measured:
    ids = []
    for _ in range(conversations):
        conversation, _code = await service.do_start_conversation(rt, team)
        ids.append(conversation.id)
    for n, conversation_id in enumerate(ids):
        await service.do_send_message(
            rt, team.id, conversation_id, Author.youth(), uuid.uuid4().hex, "hej"
        )
        if n % 2 == 0:
            await service.do_send_message(
                rt, team.id, conversation_id, staff, uuid.uuid4().hex, "hej hej"
            )

    async def sender(conversation_id: str) -> None:
        for _ in range(rounds):
            await service.do_send_message(
                rt,
                team.id,
                conversation_id,
                Author.youth(),
                uuid.uuid4().hex,
                "ett meddelande som är lagom långt",
            )

    async def work() -> None:
        await asyncio.gather(*(sender(c) for c in ids))

    return await measure(work, profile)


async def handshakes(
    rt: Runtime, path: str, conversations: int, rounds: int, profile: bool
) -> Measured:
    codes: list[str] = []

    async def wave(frames: list[dict[str, str]], keep: bool) -> None:
        pairs = [youth(rt, n) for n in range(len(frames))]
        await asyncio.gather(
            *(
                h.handle(parse_youth_frame(json.dumps(f)))
                for (h, _), f in zip(pairs, frames, strict=True)
            )
        )
        await asyncio.sleep(0)  # the writers hand over what they were sent
        for handler, socket in pairs:
            ready = next(f for f in socket.sent if f["type"] == "ready")
            if keep:
                codes.append(str(ready["resume_code"]))
            await rt.hub.disconnect(handler.connection)

    # As the page does: each tab sends its random token (so that a block can hold).
    start = [
        {"type": "start", "team": "demo", "browser": secrets.token_urlsafe(16)}
        for _ in range(conversations)
    ]
    if path == "start":

        async def work() -> None:
            for _ in range(rounds):
                await wave(start, keep=False)

        return await measure(work, profile)
    await wave(start, keep=True)

    async def resume() -> None:
        for _ in range(rounds):
            await wave([{"type": "resume", "team": "demo", "code": c} for c in codes], False)

    return await measure(resume, profile)


async def run(path: str, conversations: int, rounds: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(Path(tmp) / "data")
        seeded = await seed(settings)
        rt = Runtime.create(settings)
        await rt.start()
        try:
            async with rt.db.read() as session:
                team = await get_team_by_slug(session, "demo")
            assert team is not None  # noqa: S101 - seeded above
            worker = next(w for w in seeded.workers.values() if w.team_slug == "demo")
            staff = Author(Sender.STAFF, worker.user_id, worker.first_name)
            rt.push.visible.set(object(), worker.user_id, True)
            if path == "send":
                measured = await sends(rt, team, staff, conversations, rounds, profile)
            else:
                measured = await handshakes(rt, path, conversations, rounds, profile)
        finally:
            await rt.stop()
    count = conversations * rounds
    what = {"send": "messages", "start": "starts", "resume": "resumes"}[path]
    cpu = measured.user + measured.system
    print(
        f"{count} {what} from {conversations} young people: {count / measured.wall:,.0f} "
        f"{what}/s, {cpu / count * 1000:.3f} ms of CPU each "
        f"({measured.user / count * 1000:.3f} user, {measured.system / count * 1000:.3f} system)"
    )
    if measured.profiler is not None:
        pstats.Stats(measured.profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__)
    parser.add_argument("--path", choices=PATHS, default="send")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.conversations < 1 or args.rounds < 1:
        parser.error("--conversations and --rounds must be at least 1")
    asyncio.run(run(args.path, args.conversations, args.rounds, args.profile))


if __name__ == "__main__":
    main()
