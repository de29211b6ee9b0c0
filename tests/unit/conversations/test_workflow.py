"""The conversation workflow (read state) on a real, migrated database."""

from __future__ import annotations

import asyncio

import pytest

from lykta.conversations import service, workflow
from lykta.conversations.errors import NotFound
from lykta.conversations.models import Sender
from lykta.conversations.service import Author
from lykta.realtime.broker import conversation_channel, team_channel
from lykta.runtime import Runtime
from lykta.teams.models import Team
from tests.support.server import Seed
from tests.unit.conftest import reload
from tests.unit.fakes import Commits, FakeWebSocket, eventually

YOUTH = Author.youth()


async def test_read_receipts_share_commits_with_messages_and_only_move_forward(
    rt: Runtime, demo: Team, other: Team, seeded: Seed
) -> None:
    """Every message seen on either side sends a read receipt: they are group-committed
    with the messages of the same moment, a mark never moves back or past the last
    message, and each change reaches both sides and the team's list once."""
    anna = seeded.workers["Anna"]
    staff = Author(Sender.STAFF, anna.user_id, anna.first_name)
    conversation, _ = await service.do_start_conversation(rt, demo)
    cid = conversation.id
    await service.do_send_message(rt, demo.id, cid, YOUTH, "c1", "hej")  # seq 1
    await service.do_take(rt, demo.id, cid, staff)  # seq 2, "joined"
    await service.do_send_message(rt, demo.id, cid, staff, "c2", "hej hej")  # seq 3
    websocket = FakeWebSocket()
    connection = rt.hub.connect(websocket.as_websocket)
    await rt.hub.subscribe(connection, conversation_channel(cid))
    await rt.hub.subscribe(connection, team_channel(demo.id))

    commits = Commits(rt.db)
    await asyncio.gather(
        workflow.do_mark_read(rt, demo.id, cid, Sender.STAFF, 1),
        workflow.do_mark_read(rt, demo.id, cid, Sender.YOUTH, 99),  # past the end
        service.do_send_message(rt, demo.id, cid, YOUTH, "c3", "tack"),  # seq 4
    )
    commits.stop()
    assert commits.count == 1
    stored = await reload(rt, cid)
    assert (stored.staff_read_seq, stored.youth_read_seq, stored.last_seq) == (1, 3, 4)

    # Backwards or unchanged: nothing stored, nothing sent.
    await workflow.do_mark_read(rt, demo.id, cid, Sender.STAFF, 0)
    await workflow.do_mark_read(rt, demo.id, cid, Sender.YOUTH, 3)
    with pytest.raises(NotFound):
        await workflow.do_mark_read(rt, other.id, cid, Sender.STAFF, 4)
    await workflow.do_mark_read(rt, demo.id, cid, Sender.STAFF, 4)
    stored = await reload(rt, cid)
    assert (stored.staff_read_seq, stored.youth_read_seq) == (4, 3)

    def reads() -> list[tuple[str, int]]:
        return [(f["reader"], f["seq"]) for f in websocket.frames if f["type"] == "read"]

    await eventually(lambda: len(reads()) >= 3)
    assert sorted(reads()) == [("staff", 1), ("staff", 4), ("youth", 3)]
    entries = [
        f["conversation"]
        for f in websocket.frames
        if f["type"] == "conversation" and f["conversation"]["id"] == cid
    ]
    # The list entry after the last receipt: nothing unread, and still Anna's.
    assert entries[-1]["staff_read_seq"] == 4
    assert entries[-1]["assigned"]["first_name"] == "Anna"
    await rt.hub.disconnect(connection)
