"""Team slugs (they appear in the chat URL) and team creation."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.runtime import Runtime
from lykta.teams.models import Team
from lykta.teams.service import TeamError, check_slug, do_create_team, get_team_by_slug
from tests.support.server import Seed

VALID = ["a", "7", "demo", "faltgruppen-norr", "a-b-c", "x" * 40, "0-0"]
INVALID = [
    "",
    "-demo",
    "demo-",
    "Demo",
    "DEMO",
    "fält",
    "a_b",
    "a b",
    "a.b",
    "a/b",
    "demo\n",
    "\ndemo",
    " demo",
    "x" * 41,
    "../etc",
    "demo;drop",
]


@pytest.mark.parametrize("slug", VALID)
def test_valid_slugs(slug: str) -> None:
    assert check_slug(slug) == slug


@pytest.mark.parametrize("slug", INVALID)
def test_invalid_slugs_raise_a_clear_error(slug: str) -> None:
    with pytest.raises(TeamError) as info:
        check_slug(slug)
    message = str(info.value)
    assert "1-40 lowercase letters, digits and" in message
    if slug.isprintable():
        assert slug in message  # the operator sees what they typed


class NoQueries:
    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("queried the database for an invalid slug")


@pytest.mark.parametrize("slug", [*INVALID, "x" * 10_000])
async def test_lookup_of_an_invalid_slug_is_none_without_a_query(slug: str) -> None:
    assert await get_team_by_slug(cast(AsyncSession, NoQueries()), slug) is None


async def test_create_and_find(rt: Runtime) -> None:
    async with rt.db.write() as session:
        team = await do_create_team(session, "nattvandrarna", "  Nattvandrarna  ")
    assert team.id is not None
    async with rt.db.read() as session:
        found = await get_team_by_slug(session, "nattvandrarna")
        missing = await get_team_by_slug(session, "nobody")
    assert found is not None
    assert (found.id, found.name) == (team.id, "Nattvandrarna")
    assert found.default_locale == "sv"
    assert found.timezone == "Europe/Stockholm"
    assert found.conversation_counter == 0
    assert missing is None


async def test_duplicate_slug_is_refused(rt: Runtime) -> None:
    with pytest.raises(TeamError, match=r"(?i)already exists") as info:
        async with rt.db.write() as session:
            await do_create_team(session, "demo", "Another demo")
    assert "demo" in str(info.value)
    async with rt.db.read() as session:
        count = await session.execute(
            select(func.count()).select_from(Team).where(Team.slug == "demo")
        )
    assert count.scalar_one() == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_a_team_needs_a_name(rt: Runtime, name: str) -> None:
    with pytest.raises(TeamError, match=r"(?i)a team needs a name of 1"):
        async with rt.db.write() as session:
            await do_create_team(session, "named", name)


async def test_invalid_slug_is_refused_before_writing(rt: Runtime, seeded: Seed) -> None:
    with pytest.raises(TeamError, match="1-40 lowercase letters"):
        async with rt.db.write() as session:
            await do_create_team(session, "Bad Slug", "Team")
    async with rt.db.read() as session:
        count = await session.execute(select(func.count()).select_from(Team))
    assert count.scalar_one() == len(seeded.team_ids)
