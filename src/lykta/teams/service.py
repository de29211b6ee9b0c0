"""Reading and creating teams. Writes happen only here."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.audit import service as audit
from lykta.audit.service import Action, Actor
from lykta.errors import UserError
from lykta.i18n import N_
from lykta.teams.models import Team

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class TeamError(UserError):
    """A team could not be created; the message is fit to show an operator."""


def check_slug(slug: str) -> str:
    if not SLUG_RE.fullmatch(slug):
        raise TeamError(
            N_("Invalid short name %(slug)s: use 1-40 lowercase letters, digits and hyphens."),
            slug=slug,
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
    actor: Actor | None = None,
) -> Team:
    check_slug(slug)
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise TeamError(N_("A team needs a name of 1 to 200 characters."))
    check_timezone(timezone)
    check_locale(default_locale)
    if await get_team_by_slug(session, slug) is not None:
        raise TeamError(N_("A team with the short name %(slug)s already exists."), slug=slug)
    team = Team(slug=slug, name=name, timezone=timezone, default_locale=default_locale)
    session.add(team)
    await session.flush()
    await audit.record(
        session,
        team.id,
        Action.TEAM_CREATED,
        actor or audit.OPERATOR,
        target_type="team",
        target_id=team.id,
        details={"slug": slug},
    )
    return team


LOCALES = ("sv", "en")
IDLE_MINUTES = (5, 240)
ABSOLUTE_HOURS = (1, 24)


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TeamError(
            N_("Unknown time zone %(zone)s (use e.g. Europe/Stockholm)."), zone=name
        ) from None
    return name


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise TeamError(N_("Unknown language %(code)s: use sv or en."), code=locale)
    return locale


@dataclass(frozen=True)
class TeamSettings:
    name: str
    timezone: str
    default_locale: str
    session_idle_minutes: int
    session_absolute_hours: int

    def checked(self) -> TeamSettings:
        name = " ".join(self.name.split())
        if not name or len(name) > 200:
            raise TeamError(N_("A team needs a name of 1 to 200 characters."))
        if not IDLE_MINUTES[0] <= self.session_idle_minutes <= IDLE_MINUTES[1]:
            raise TeamError(N_("The idle timeout must be 5 to 240 minutes."))
        if not ABSOLUTE_HOURS[0] <= self.session_absolute_hours <= ABSOLUTE_HOURS[1]:
            raise TeamError(N_("The absolute timeout must be 1 to 24 hours."))
        return TeamSettings(
            name,
            check_timezone(self.timezone),
            check_locale(self.default_locale),
            self.session_idle_minutes,
            self.session_absolute_hours,
        )


def settings_of(team: Team) -> TeamSettings:
    return TeamSettings(
        team.name,
        team.timezone,
        team.default_locale,
        team.session_idle_minutes,
        team.session_absolute_hours,
    )


async def do_update_settings(
    session: AsyncSession, team: Team, new: TeamSettings, actor: Actor
) -> list[str]:
    """Apply checked settings in the caller's transaction; returns the changed fields."""
    new = new.checked()
    old = settings_of(team)
    changed = [f.name for f in fields(TeamSettings) if getattr(old, f.name) != getattr(new, f.name)]
    for name in changed:
        setattr(team, name, getattr(new, name))
    if changed:
        await audit.record(
            session,
            team.id,
            Action.SETTINGS_CHANGED,
            actor,
            target_type="team",
            target_id=team.id,
            details={"fields": ",".join(changed)},
        )
    return changed
