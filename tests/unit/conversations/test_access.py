"""The one gate to a conversation: missing and forbidden look the same."""

from __future__ import annotations

import pytest

from lykta.conversations import service
from lykta.conversations.access import (
    access_conversation_by_code,
    access_conversation_for_staff,
    access_conversation_for_youth,
)
from lykta.conversations.errors import NotFound, ResumeFailed
from lykta.runtime import Runtime
from lykta.staff.service import StaffIdentity
from lykta.teams.models import Team
from tests.support.server import Seed


def identity(seeded: Seed, name: str) -> StaffIdentity:
    return seeded.workers[name].identity()


async def test_staff_see_only_their_own_teams_conversations(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    conversation, _ = await service.do_start_conversation(rt, demo)
    async with rt.db.read() as session:
        found = await access_conversation_for_staff(
            session, identity(seeded, "Bo"), conversation.id
        )
        assert found.id == conversation.id
        with pytest.raises(NotFound):
            await access_conversation_for_staff(
                session, identity(seeded, "Cecilia"), conversation.id
            )


@pytest.mark.parametrize(
    "conversation_id", ["0" * 32, "", "x", "0" * 31, "A" * 32, "' OR 1=1 --", "0" * 32 + "\n"]
)
async def test_staff_get_not_found_for_missing_or_malformed_ids(
    rt: Runtime, seeded: Seed, conversation_id: str
) -> None:
    async with rt.db.read() as session:
        with pytest.raises(NotFound):
            await access_conversation_for_staff(session, identity(seeded, "Anna"), conversation_id)


async def test_a_resume_code_opens_its_conversation_only_in_its_team(
    rt: Runtime, demo: Team, other: Team
) -> None:
    conversation, code = await service.do_start_conversation(rt, demo)
    async with rt.db.read() as session:
        found = await access_conversation_by_code(session, demo.id, code)
        assert found.id == conversation.id
        typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
        assert (await access_conversation_by_code(session, demo.id, typed)).id == conversation.id
        with pytest.raises(ResumeFailed):
            await access_conversation_by_code(session, other.id, code)


@pytest.mark.parametrize(
    "code", ["", "wrong", "0000-0000-0000-0000-0000", "K" * 65, "K7QM-3XHD-9TPA-RW2E-V5N*"]
)
async def test_wrong_codes_fail_the_same_way(rt: Runtime, demo: Team, code: str) -> None:
    await service.do_start_conversation(rt, demo)
    async with rt.db.read() as session:
        with pytest.raises(ResumeFailed) as info:
            await access_conversation_by_code(session, demo.id, code)
    assert info.value.code == "resume_failed"
    assert not info.value.terminal  # the young person may try again


async def test_youth_reread_is_scoped_to_the_team(rt: Runtime, demo: Team, other: Team) -> None:
    conversation, _ = await service.do_start_conversation(rt, demo)
    async with rt.db.read() as session:
        assert (await access_conversation_for_youth(session, demo.id, conversation.id)).id == (
            conversation.id
        )
        with pytest.raises(NotFound):
            await access_conversation_for_youth(session, other.id, conversation.id)
