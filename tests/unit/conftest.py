from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from lykta.config import Settings
from lykta.conversations.models import Conversation
from lykta.runtime import Runtime
from lykta.teams.models import Team
from lykta.teams.service import get_team_by_slug
from tests.support.server import Seed


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    """A started runtime (one node), stopped on leaving."""
    runtime = Runtime.create(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def rt(settings: Settings, seeded: Seed) -> AsyncIterator[Runtime]:
    """A started runtime (in-process broker) on a migrated, seeded database."""
    async with running(settings) as runtime:
        yield runtime


async def reload(rt: Runtime, conversation_id: str) -> Conversation:
    """A conversation's row as stored now."""
    async with rt.db.read() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    return conversation


async def load_team(rt: Runtime, slug: str) -> Team:
    async with rt.db.read() as session:
        team = await get_team_by_slug(session, slug)
    assert team is not None
    return team


@pytest.fixture
async def demo(rt: Runtime) -> Team:
    return await load_team(rt, "demo")


@pytest.fixture
async def other(rt: Runtime) -> Team:
    return await load_team(rt, "other")
