"""What a group commit's writes share: the conversations they change are written together."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from lykta.conversations import service, workflow
from lykta.conversations.models import ConversationState, Sender
from lykta.conversations.service import Author
from lykta.runtime import Runtime
from lykta.teams.models import Team
from tests.support.server import Seed
from tests.unit.conftest import reload
from tests.unit.fakes import Commits

YOUTH = Author.youth()


@contextmanager
def conversation_updates() -> Iterator[list[tuple[str, int]]]:
    """Every ``UPDATE conversations`` sent to the database, with its number of rows."""
    seen: list[tuple[str, int]] = []

    def executed(
        _conn: object, _cursor: object, statement: str, params: Any, _ctx: object, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("UPDATE CONVERSATIONS"):
            seen.append((statement, len(params) if many else 1))

    event.listen(Engine, "before_cursor_execute", executed)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", executed)


async def test_a_groups_changes_to_its_conversations_are_stored_one_statement_per_kind(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    """Sends, a take and a read receipt of the same moment share one commit; what each
    changed in its conversation is stored, the sends' changes in one statement for all."""
    anna = seeded.workers["Anna"]
    staff = Author(Sender.STAFF, anna.user_id, anna.first_name)
    ids = []
    for n in range(4):
        conversation, _ = await service.do_start_conversation(rt, demo)
        await service.do_send_message(rt, demo.id, conversation.id, YOUTH, f"first{n}", "hej")
        ids.append(conversation.id)
    first, second, taken, read = ids
    await service.do_take(rt, demo.id, read, staff)  # seq 2
    before = {cid: await reload(rt, cid) for cid in ids}

    commits = Commits(rt.db)
    with conversation_updates() as updates:
        await asyncio.gather(
            service.do_send_message(rt, demo.id, first, YOUTH, "a", "ett"),
            service.do_send_message(rt, demo.id, second, YOUTH, "b", "två"),
            service.do_take(rt, demo.id, taken, staff),
            workflow.do_mark_read(rt, demo.id, read, Sender.STAFF, 2),
        )
    commits.stop()
    assert commits.count == 1

    after = {cid: await reload(rt, cid) for cid in ids}
    for cid in (first, second):
        assert after[cid].last_seq == 2
        assert after[cid].last_activity_at > before[cid].last_activity_at
        assert after[cid].state == ConversationState.QUEUED
    assert after[taken].state == ConversationState.ACTIVE
    assert after[taken].assigned_staff_id == anna.user_id
    assert after[taken].last_seq == 2
    assert after[read].staff_read_seq == 2
    assert after[read].last_seq == 2
    # One statement per set of changed columns: the two sends' together.
    assert sorted(rows for _, rows in updates) == [1, 1, 2]

    # And the next send of each builds on what was stored.
    for cid in ids:
        await service.do_send_message(rt, demo.id, cid, YOUTH, "next", "igen")
        assert (await reload(rt, cid)).last_seq == 3
