from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lykta.config import Settings
from lykta.runtime import Runtime
from lykta.teams.models import Team
from lykta.teams.service import get_team_by_slug
from tests.support.server import Seed, seed, settings_for


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seed]:
    """One migrated, seeded SQLite database per run; each test gets a copy of it."""
    data_dir = tmp_path_factory.mktemp("seeded-template") / "data"
    return data_dir, asyncio.run(seed(settings_for(data_dir)))


@pytest.fixture
def seeded(settings: Settings, seeded_template: tuple[Path, Seed]) -> Seed:
    """The same database as ``tests/conftest.py``'s ``seeded``, copied instead of rebuilt
    (migrating and hashing for every test would take most of the unit suite's time)."""
    if os.environ.get("LYKTA_TEST_DATABASE_URL"):
        return asyncio.run(seed(settings))
    template_dir, template = seeded_template
    shutil.copytree(template_dir, settings.data_dir)
    return copy.deepcopy(template)


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
