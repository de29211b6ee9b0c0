"""Reading and creating teams. Writes happen only here."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.teams.models import Team

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class TeamError(ValueError):
    """A team could not be created; the message is fit to show an operator."""


def check_slug(slug: str) -> str:
    if not SLUG_RE.fullmatch(slug):
        raise TeamError(
            f"invalid team slug {slug!r}: use 1-40 lowercase letters, digits and inner hyphens"
        )
    return slug


async def get_team_by_slug(session: AsyncSession, slug: str) -> Team | None:
    if not SLUG_RE.fullmatch(slug):
        return None
    return (await session.execute(select(Team).where(Team.slug == slug))).scalar_one_or_none()


async def do_create_team(
    session: AsyncSession,
    slug: str,
    name: str,
    *,
    timezone: str = "Europe/Stockholm",
    default_locale: str = "sv",
) -> Team:
    check_slug(slug)
    name = name.strip()
    if not name or len(name) > 200:
        raise TeamError("a team needs a name of 1-200 characters")
    if await get_team_by_slug(session, slug) is not None:
        raise TeamError(f"a team with slug {slug!r} already exists")
    team = Team(slug=slug, name=name, timezone=timezone, default_locale=default_locale)
    session.add(team)
    await session.flush()
    return team
