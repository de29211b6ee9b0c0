"""Is the team open now, and when does it open next? Opening hours from the database,
the rules in ``hours``: open means within hours and at least one worker on duty. The
reads are here; ``teams.directory`` keeps their results per node."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.db import utcnow
from lykta.staff.models import StaffUser
from lykta.teams import hours
from lykta.teams.models import OpeningException, OpeningHours


async def workers_on_duty(session: AsyncSession, team_id: int) -> int:
    result = await session.execute(
        select(func.count()).where(
            StaffUser.team_id == team_id, StaffUser.on_duty.is_(True), StaffUser.active.is_(True)
        )
    )
    return int(result.scalar_one())


@dataclass(frozen=True)
class Schedule:
    periods: list[hours.Period]
    exceptions: list[hours.DayException]


async def schedule_of(session: AsyncSession, team_id: int) -> Schedule:
    rows = (
        await session.execute(select(OpeningHours).where(OpeningHours.team_id == team_id))
    ).scalars()
    periods = [hours.parse_period(r.weekday, r.opens, r.closes) for r in rows]
    exception_rows = (
        await session.execute(
            select(OpeningException).where(
                OpeningException.team_id == team_id,
                OpeningException.day >= (utcnow() - dt.timedelta(days=2)).date(),
            )
        )
    ).scalars()
    exceptions = [hours.parse_exception(r.day, r.opens, r.closes) for r in exception_rows]
    return Schedule(periods, exceptions)


@dataclass(frozen=True)
class Status:
    open: bool
    within_hours: bool
    next_opening: dt.datetime | None
    """When the hours next begin (None: now, or not within two weeks)."""
