"""CPU per message on the send path, in-process, without sockets.

``python -m bench.hotpath``: a seeded SQLite database in a temporary directory, N
conversations (half held by a worker whose app is in front), then every conversation sends
ROUNDS messages at once through ``do_send_message``: group commit, encryption, publishing
to the hub (nobody subscribed). Prints messages/s and the process's CPU time per message
(every thread, the database driver's included). ``--profile`` adds cProfile's top entries.
The figures in docs/performance.md's history of the send path come from this.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.server import seed, settings_for

from lykta.conversations import service
from lykta.conversations.models import Sender
from lykta.conversations.service import Author
from lykta.runtime import Runtime
from lykta.teams.service import get_team_by_slug


async def run(conversations: int, rounds: int, profile: bool) -> None:
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

            profiler = cProfile.Profile() if profile else None
            began, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            await asyncio.gather(*(sender(c) for c in ids))
            if profiler is not None:
                profiler.disable()
            wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        finally:
            await rt.stop()
    count = conversations * rounds
    print(
        f"{count} messages from {conversations} conversations: {count / wall:,.0f} messages/s, "
        f"{cpu / count * 1000:.3f} ms of CPU per message"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.conversations < 1 or args.rounds < 1:
        parser.error("--conversations and --rounds must be at least 1")
    asyncio.run(run(args.conversations, args.rounds, args.profile))


if __name__ == "__main__":
    main()
