"""The one gate to a conversation: missing and forbidden look the same."""

from __future__ import annotations

from functools import partial

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

    async def as_worker(name: str) -> str:
        found = await rt.db.reading(
            partial(
                access_conversation_for_staff,
                caller=identity(seeded, name),
                conversation_id=conversation.id,
            )
        )
        return found.id

    assert await as_worker("Bo") == conversation.id
    with pytest.raises(NotFound):
        await as_worker("Cecilia")


@pytest.mark.parametrize(
    "conversation_id", ["0" * 32, "", "x", "0" * 31, "A" * 32, "' OR 1=1 --", "0" * 32 + "\n"]
)
async def test_staff_get_not_found_for_missing_or_malformed_ids(
    rt: Runtime, seeded: Seed, conversation_id: str
) -> None:
    caller = identity(seeded, "Anna")
    with pytest.raises(NotFound):
        await rt.db.reading(
            partial(access_conversation_for_staff, caller=caller, conversation_id=conversation_id)
        )


async def test_a_resume_code_opens_its_conversation_only_in_its_team(
    rt: Runtime, demo: Team, other: Team
) -> None:
    conversation, code = await service.do_start_conversation(rt, demo)

    async def by_code(team_id: int, code: str) -> str:
        found = await rt.db.reading(
            partial(access_conversation_by_code, team_id=team_id, code=code)
        )
        return found.id

    assert await by_code(demo.id, code) == conversation.id
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert await by_code(demo.id, typed) == conversation.id
    with pytest.raises(ResumeFailed):
        await by_code(other.id, code)


@pytest.mark.parametrize(
    "code", ["", "wrong", "0000-0000-0000-0000-0000", "K" * 65, "K7QM-3XHD-9TPA-RW2E-V5N*"]
)
async def test_wrong_codes_fail_the_same_way(rt: Runtime, demo: Team, code: str) -> None:
    await service.do_start_conversation(rt, demo)
    with pytest.raises(ResumeFailed) as info:
        await rt.db.reading(partial(access_conversation_by_code, team_id=demo.id, code=code))
    assert info.value.code == "resume_failed"
    assert not info.value.terminal  # the young person may try again


async def test_youth_reread_is_scoped_to_the_team(rt: Runtime, demo: Team, other: Team) -> None:
    conversation, _ = await service.do_start_conversation(rt, demo)

    async def reread(team_id: int) -> str:
        found = await rt.db.reading(
            partial(access_conversation_for_youth, team_id=team_id, conversation_id=conversation.id)
        )
        return found.id

    assert await reread(demo.id) == conversation.id
    with pytest.raises(NotFound):
        await reread(other.id)
