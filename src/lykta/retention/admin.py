"""The team admin's retention settings, and the statistics that outlive the content."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from lykta.errors import UserError
from lykta.i18n import N_
from lykta.retention.models import DailyStats
from lykta.retention.purge import QUESTION_WAIT_RANGE, RETENTION_RANGE
from lykta.runtime import Runtime
from lykta.staff.service import StaffIdentity
from lykta.teams.admin_service import own_team, record_change

STATS_MONTHS = 12


@dataclass(frozen=True)
class RetentionForm:
    retention_days: str
    question_wait_days: str


@dataclass(frozen=True)
class Retention:
    retention_days: int
    question_wait_days: int


def _days(text: str, bounds: tuple[int, int], message: str) -> int:
    low, high = bounds
    try:
        value = int(text.strip())
    except ValueError:
        raise UserError(message, low=low, high=high) from None
    if not low <= value <= high:
        raise UserError(message, low=low, high=high)
    return value


def check_retention(form: RetentionForm) -> Retention:
    return Retention(
        retention_days=_days(
            form.retention_days,
            RETENTION_RANGE,
            N_("Keep closed conversations for a whole number of days from %(low)s to %(high)s."),
        ),
        question_wait_days=_days(
            form.question_wait_days,
            QUESTION_WAIT_RANGE,
            N_("Let questions wait a whole number of days from %(low)s to %(high)s."),
        ),
    )


async def retention_of(rt: Runtime, caller: StaffIdentity) -> Retention:
    async with rt.db.read() as session:
        team = await own_team(session, caller)
        return Retention(team.retention_days, team.question_wait_days)


async def do_set_retention(rt: Runtime, caller: StaffIdentity, form: RetentionForm) -> bool:
    """Save the checked periods; ``False`` when nothing changed. The next purge applies them."""
    new = check_retention(form)
    async with rt.db.write() as session:
        team = await own_team(session, caller)
        if (team.retention_days, team.question_wait_days) == (
            new.retention_days,
            new.question_wait_days,
        ):
            return False
        team.retention_days = new.retention_days
        team.question_wait_days = new.question_wait_days
        await record_change(
            session,
            caller,
            "retention",
            "changed",
            retention_days=new.retention_days,
            question_wait_days=new.question_wait_days,
        )
    return True


@dataclass(frozen=True)
class MonthStats:
    month: str
    conversations: int
    answered: int
    flagged: int
    average_wait_minutes: int | None


async def monthly_stats(rt: Runtime, caller: StaffIdentity, today: dt.date) -> list[MonthStats]:
    """Purged conversations per month (the last ``STATS_MONTHS``), newest first."""
    first = (today.replace(day=1) - dt.timedelta(days=31 * (STATS_MONTHS - 1))).replace(day=1)
    async with rt.db.read() as session:
        await own_team(session, caller)
        rows = list(
            (
                await session.execute(
                    select(DailyStats).where(
                        DailyStats.team_id == caller.team_id, DailyStats.day >= first
                    )
                )
            ).scalars()
        )
    months: dict[str, list[int]] = {}
    for row in rows:
        totals = months.setdefault(row.day.strftime("%Y-%m"), [0, 0, 0, 0])
        totals[0] += row.conversations
        totals[1] += row.answered
        totals[2] += row.flagged
        totals[3] += row.wait_seconds
    return [
        MonthStats(
            month=month,
            conversations=c,
            answered=a,
            flagged=f,
            average_wait_minutes=round(wait / a / 60) if a else None,
        )
        for month, (c, a, f, wait) in sorted(months.items(), reverse=True)
    ]
