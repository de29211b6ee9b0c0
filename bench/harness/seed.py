"""A Lykta installation for the benchmark, prepared before the server starts (not
measured): migrated, with teams open around the clock, workers on duty, and a staff
session per worker, all through the service layer.

Nobody logs in with a password during the benchmark (sessions are created directly), so
the accounts are stored with a cheap password hash; the server itself runs with the
production settings.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher

from lykta.config import Settings
from lykta.conversations.workflow import do_set_duty
from lykta.migrate import upgrade
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.staff.service import StaffIdentity, do_create_session, do_create_staff
from lykta.teams.admin_service import do_add_period
from lykta.teams.models import Team
from lykta.teams.service import do_create_team

FIRST_NAMES = ("Anna", "Bo", "Cecilia", "Dag", "Elin", "Fredrik", "Greta", "Hassan", "Ida", "Jonas")


@dataclass(frozen=True)
class SeededTeam:
    slug: str
    cookies: tuple[str, ...]
    """A complete staff session per worker (the ``lykta_staff`` cookie)."""


def team_slug(index: int) -> str:
    return f"falt-{index + 1:02d}"


async def seed(settings: Settings, teams: int, workers_per_team: int) -> list[SeededTeam]:
    """Migrate, then create ``teams`` teams of ``workers_per_team`` workers (the first of
    each team its admin), open every day 00:00-24:00, every worker on duty."""
    rt = Runtime.create(settings)
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    seeded: list[SeededTeam] = []
    try:
        await upgrade(rt.db)
        for t in range(teams):
            slug = team_slug(t)
            async with rt.db.write() as session:
                team = await do_create_team(session, slug, f"Fältgruppen {t + 1}")
                users = [
                    await do_create_staff(
                        session,
                        cheap,
                        team,
                        email=f"worker{w + 1}@{slug}.example",
                        password=secrets.token_urlsafe(16),
                        first_name=FIRST_NAMES[w % len(FIRST_NAMES)],
                        role="admin" if w == 0 else "worker",
                    )
                    for w in range(workers_per_team)
                ]
            callers = [identity(user, team) for user in users]
            if callers:
                for weekday in range(7):
                    await do_add_period(rt, callers[0], weekday, "00:00", "12:00")
                    await do_add_period(rt, callers[0], weekday, "12:00", "24:00")
            cookies = []
            for user, caller in zip(users, callers, strict=True):
                await do_set_duty(rt, caller, True)
                cookies.append(await do_create_session(rt, user))
            seeded.append(SeededTeam(slug, tuple(cookies)))
    finally:
        await rt.db.dispose()
        if rt.keys.db is not rt.db:
            await rt.keys.db.dispose()
    return seeded


def identity(user: StaffUser, team: Team) -> StaffIdentity:
    return StaffIdentity(
        user_id=user.id,
        team_id=team.id,
        first_name=user.first_name,
        team_slug=team.slug,
        team_name=team.name,
        role=user.role,
        email=user.email,
    )
