"""What a team admin changes about the team's day: opening hours and dated exceptions, the
help numbers shown to young people, closing topics, risk guidance and block time.

Ready replies, risk words and blocks are in ``admin_content``. Every lookup of a row by id
goes through an ``access_*`` function: a row of another team and a row that does not exist
give the same ``ItemNotFound``. Every change is audit-logged (``settings.changed`` with
the area in the details) in the transaction that makes it.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.audit import service as audit
from lykta.audit.service import Action, DetailValue
from lykta.db import utcnow
from lykta.errors import UserError
from lykta.i18n import N_
from lykta.runtime import Runtime
from lykta.staff.members import actor, require_admin
from lykta.staff.service import StaffIdentity
from lykta.teams import defaults, hours
from lykta.teams.models import OpeningException, OpeningHours, Team

MAX_PERIODS = 70
MAX_EXCEPTIONS = 200
LABEL_MAX = 100
HELP_NUMBERS = (1, 10)
HELP_LABEL = (1, 100)
HELP_NUMBER_RE = re.compile(r"[0-9 +\-]{2,30}")
TOPICS = (1, 30)
TOPIC_MAX = 40
GUIDANCE_MAX = 2000
BLOCK_HOURS = (1, 720)
_LOOSE_TIME = re.compile(r"([0-9]{1,2})[:.]([0-9]{2})")
_WHOLE = re.compile(r"[0-9]{1,6}")


def whole_number(text: str) -> int | None:
    """A form field's small non-negative whole number (ASCII digits only), else None."""
    value = text.strip()
    return int(value) if _WHOLE.fullmatch(value) else None


class AdminError(UserError):
    """A change was refused; the message is fit to show the admin."""


class ItemNotFound(LookupError):
    """Missing and another team's row look the same."""


async def record_change(
    session: AsyncSession,
    caller: StaffIdentity,
    area: str,
    change: str,
    *,
    target_type: str = "team",
    target_id: int | str | None = None,
    **details: DetailValue,
) -> None:
    """``settings.changed`` with ``area`` and ``change`` (and short identifiers) as details."""
    await audit.record(
        session,
        caller.team_id,
        Action.SETTINGS_CHANGED,
        actor(caller),
        target_type=target_type,
        target_id=caller.team_id if target_id is None else target_id,
        details={"area": area, "change": change, **details},
    )


async def own_team(session: AsyncSession, caller: StaffIdentity) -> Team:
    """The caller's team, for an admin; anyone else is refused (``require_admin``)."""
    require_admin(caller)
    team = await session.get(Team, caller.team_id)
    assert team is not None  # noqa: S101 - a live session's team exists
    return team


async def team_of(rt: Runtime, caller: StaffIdentity) -> Team:
    async with rt.db.read() as session:
        return await own_team(session, caller)


async def _exception_count(session: AsyncSession, team_id: int) -> int:
    result = await session.execute(select(func.count()).where(OpeningException.team_id == team_id))
    return int(result.scalar_one())


# ----- opening hours -----------------------------------------------------------------------


async def access_period(
    session: AsyncSession, caller: StaffIdentity, period_id: int
) -> OpeningHours:
    require_admin(caller)
    period = await session.get(OpeningHours, period_id)
    if period is None:
        raise ItemNotFound
    if period.team_id != caller.team_id:
        raise ItemNotFound
    return period


async def access_exception(
    session: AsyncSession, caller: StaffIdentity, exception_id: int
) -> OpeningException:
    require_admin(caller)
    exception = await session.get(OpeningException, exception_id)
    if exception is None:
        raise ItemNotFound
    if exception.team_id != caller.team_id:
        raise ItemNotFound
    return exception


def check_time(text: str, *, closing: bool = False) -> str:
    """``"9:00"``, ``"09.00"`` or ``"09:00"`` as the stored ``"HH:MM"`` (24:00 only closing)."""
    match = _LOOSE_TIME.fullmatch(text.strip())
    value = f"{int(match[1]):02d}:{match[2]}" if match else ""
    try:
        if value == "24:00" and not closing:
            raise ValueError(value)
        hours.parse_hhmm(value)
    except ValueError:
        raise AdminError(
            N_(
                "Write times as HH:MM, for example 09:00 or 17:30. "
                "24:00 can only be a closing time."
            )
        ) from None
    return value


@dataclass(frozen=True)
class PeriodRow:
    id: int
    weekday: int
    opens: str
    closes: str


@dataclass(frozen=True)
class ExceptionRow:
    id: int
    day: dt.date
    opens: str | None
    closes: str | None
    label: str
    past: bool


def local_today(team: Team) -> dt.date:
    return utcnow().astimezone(zoneinfo.ZoneInfo(team.timezone)).date()


async def list_periods(rt: Runtime, caller: StaffIdentity) -> list[PeriodRow]:
    require_admin(caller)
    async with rt.db.read() as session:
        rows = (
            await session.execute(
                select(OpeningHours)
                .where(OpeningHours.team_id == caller.team_id)
                .order_by(OpeningHours.weekday, OpeningHours.opens, OpeningHours.id)
            )
        ).scalars()
        return [PeriodRow(r.id, r.weekday, r.opens, r.closes) for r in rows]


async def list_exceptions(rt: Runtime, caller: StaffIdentity) -> list[ExceptionRow]:
    async with rt.db.read() as session:
        team = await own_team(session, caller)
        rows = (
            await session.execute(
                select(OpeningException)
                .where(OpeningException.team_id == caller.team_id)
                .order_by(OpeningException.day)
            )
        ).scalars()
        today = local_today(team)
        return [ExceptionRow(r.id, r.day, r.opens, r.closes, r.label, r.day < today) for r in rows]


async def do_add_period(
    rt: Runtime, caller: StaffIdentity, weekday: int, opens: str, closes: str
) -> None:
    if weekday not in range(7):
        raise AdminError(N_("Choose a day of the week."))
    opens, closes = check_time(opens), check_time(closes, closing=True)
    try:
        new = hours.parse_period(weekday, opens, closes)
    except ValueError:
        raise AdminError(
            N_(
                "The opening and closing times must differ. For a whole day, add "
                "00:00-12:00 and 12:00-24:00."
            )
        ) from None
    async with rt.db.write() as session:
        require_admin(caller)
        existing = list(
            (
                await session.execute(
                    select(OpeningHours).where(OpeningHours.team_id == caller.team_id)
                )
            ).scalars()
        )
        if len(existing) >= MAX_PERIODS:
            raise AdminError(N_("A team can have at most 70 weekly opening periods."))
        try:
            hours.check_periods(
                [new, *(hours.parse_period(p.weekday, p.opens, p.closes) for p in existing)]
            )
        except ValueError:
            raise AdminError(
                N_(
                    "That period overlaps an opening period already set. A period that "
                    "closes after midnight runs into the next day."
                )
            ) from None
        period = OpeningHours(team_id=caller.team_id, weekday=weekday, opens=opens, closes=closes)
        session.add(period)
        await session.flush()
        await record_change(
            session,
            caller,
            "hours",
            "period_added",
            target_type="opening_hours",
            target_id=period.id,
            period=str(new),
        )
    rt.teams.forget(caller.team_id)


async def do_remove_period(rt: Runtime, caller: StaffIdentity, period_id: int) -> None:
    async with rt.db.write() as session:
        period = await access_period(session, caller, period_id)
        text = str(hours.Period(period.weekday, *_times(period.opens, period.closes)))
        await session.delete(period)
        await record_change(
            session,
            caller,
            "hours",
            "period_removed",
            target_type="opening_hours",
            target_id=period_id,
            period=text,
        )
    rt.teams.forget(caller.team_id)


def _times(opens: str, closes: str) -> tuple[dt.time, dt.time]:
    return hours.parse_hhmm(opens), hours.parse_hhmm(closes)


@dataclass(frozen=True)
class NewException:
    """What the admin typed for a dated exception (kept to fill the form again on an error)."""

    day: str = ""
    closed: bool = True
    opens: str = ""
    closes: str = ""
    label: str = ""


async def do_add_exception(rt: Runtime, caller: StaffIdentity, new: NewException) -> None:
    try:
        day = dt.date.fromisoformat(new.day.strip())
    except ValueError:
        raise AdminError(N_("Give the date as YYYY-MM-DD.")) from None
    label = " ".join(new.label.split())
    if len(label) > LABEL_MAX:
        raise AdminError(N_("The label can be at most 100 characters."))
    opens = closes = None
    if not new.closed:
        if not new.opens.strip() or not new.closes.strip():
            raise AdminError(
                N_("Give both the opening and the closing time, or choose closed all day.")
            )
        opens, closes = check_time(new.opens), check_time(new.closes, closing=True)
    try:
        hours.parse_exception(day, opens, closes)
    except ValueError:
        raise AdminError(N_("The opening and closing times must differ.")) from None
    try:
        async with rt.db.write() as session:
            team = await own_team(session, caller)
            if day < local_today(team):
                raise AdminError(N_("Choose today or a later date."))
            if await _exception_count(session, team.id) >= MAX_EXCEPTIONS:
                raise AdminError(N_("A team can have at most 200 dated exceptions."))
            taken = (
                await session.execute(
                    select(OpeningException.id).where(
                        OpeningException.team_id == team.id, OpeningException.day == day
                    )
                )
            ).first()
            if taken is not None:
                raise AdminError(
                    N_("There is already an exception for %(day)s. Remove it first."),
                    day=day.isoformat(),
                )
            exception = OpeningException(
                team_id=team.id, day=day, opens=opens, closes=closes, label=label
            )
            session.add(exception)
            await session.flush()
            await record_change(
                session,
                caller,
                "hours",
                "exception_added",
                target_type="opening_exception",
                target_id=exception.id,
                day=day.isoformat(),
                hours="closed" if opens is None else f"{opens}-{closes}",
            )
    except IntegrityError:  # another admin added that date at the same moment
        raise AdminError(
            N_("There is already an exception for %(day)s. Remove it first."), day=day.isoformat()
        ) from None
    rt.teams.forget(caller.team_id)


async def do_remove_exception(rt: Runtime, caller: StaffIdentity, exception_id: int) -> None:
    async with rt.db.write() as session:
        exception = await access_exception(session, caller, exception_id)
        day = exception.day.isoformat()
        await session.delete(exception)
        await record_change(
            session,
            caller,
            "hours",
            "exception_removed",
            target_type="opening_exception",
            target_id=exception_id,
            day=day,
        )
    rt.teams.forget(caller.team_id)


# ----- help numbers ------------------------------------------------------------------------


@dataclass(frozen=True)
class HelpRow:
    label: str
    number: str
    position: str = ""


def check_help_numbers(rows: list[HelpRow]) -> list[dict[str, str]]:
    """The filled-in rows (wholly empty ones are skipped), ordered by their position."""
    keep: list[tuple[int, int, dict[str, str]]] = []
    for index, row in enumerate(rows, 1):
        label, number = " ".join(row.label.split()), " ".join(row.number.split())
        if not label and not number:
            continue
        if not HELP_LABEL[0] <= len(label) <= HELP_LABEL[1]:
            raise AdminError(N_("Row %(row)s: a label is 1 to 100 characters."), row=index)
        if not HELP_NUMBER_RE.fullmatch(number) or not any(c.isdigit() for c in number):
            raise AdminError(
                N_("Row %(row)s: a number is 2 to 30 characters: digits, spaces, + and -."),
                row=index,
            )
        position = whole_number(row.position) if row.position.strip() else index
        if position is None:
            raise AdminError(N_("Row %(row)s: the position must be a whole number."), row=index)
        keep.append((position, index, {"label": label, "number": number}))
    if not HELP_NUMBERS[0] <= len(keep) <= HELP_NUMBERS[1]:
        raise AdminError(N_("Give 1 to 10 help numbers."))
    return [entry for _, _, entry in sorted(keep, key=lambda k: (k[0], k[1]))]


async def do_set_help_numbers(rt: Runtime, caller: StaffIdentity, rows: list[HelpRow]) -> None:
    numbers = check_help_numbers(rows)
    async with rt.db.write() as session:
        team = await own_team(session, caller)
        team.help_numbers = numbers
        await record_change(session, caller, "help_numbers", "replaced", count=len(numbers))


async def do_reset_help_numbers(rt: Runtime, caller: StaffIdentity, country: str) -> None:
    if country not in defaults.COUNTRIES:
        raise AdminError(N_("Choose Sweden or Norway."))
    async with rt.db.write() as session:
        team = await own_team(session, caller)
        team.help_numbers = None
        team.country = country
        await record_change(session, caller, "help_numbers", "reset", country=country)


# ----- closing topics, risk guidance, block time -------------------------------------------


def check_topics(text: str) -> list[str]:
    """One topic per line; blank lines and repeats are dropped."""
    topics: list[str] = []
    for line in text.splitlines():
        topic = " ".join(line.split())
        if not topic or topic.casefold() in (t.casefold() for t in topics):
            continue
        if len(topic) > TOPIC_MAX:
            raise AdminError(
                N_("A topic is at most 40 characters: %(topic)s"), topic=topic[:TOPIC_MAX] + "…"
            )
        topics.append(topic)
    if not TOPICS[0] <= len(topics) <= TOPICS[1]:
        raise AdminError(N_("Give 1 to 30 topics, one per line."))
    return topics


async def do_set_topics(rt: Runtime, caller: StaffIdentity, text: str | None) -> None:
    """Replace the closing topics; ``None`` goes back to the default list."""
    topics = None if text is None else check_topics(text)
    async with rt.db.write() as session:
        team = await own_team(session, caller)
        team.topics = topics
        await record_change(
            session,
            caller,
            "topics",
            "reset" if topics is None else "replaced",
            count=len(topics or defaults.TOPICS),
        )


async def do_set_risk_guidance(rt: Runtime, caller: StaffIdentity, text: str) -> None:
    """Empty goes back to the default guidance."""
    guidance = text.replace("\r\n", "\n").strip()
    if len(guidance) > GUIDANCE_MAX:
        raise AdminError(N_("The guidance can be at most 2000 characters."))
    async with rt.db.write() as session:
        team = await own_team(session, caller)
        team.risk_guidance = guidance or None
        await record_change(
            session,
            caller,
            "risk_guidance",
            "replaced" if guidance else "reset",
            length=len(guidance),
        )


async def do_set_block_hours(rt: Runtime, caller: StaffIdentity, text: str) -> None:
    value = whole_number(text)
    if value is None or not BLOCK_HOURS[0] <= value <= BLOCK_HOURS[1]:
        raise AdminError(N_("The block time is 1 to 720 hours."))
    async with rt.db.write() as session:
        team = await own_team(session, caller)
        previous, team.block_hours = team.block_hours, value
        if previous != value:
            await record_change(
                session, caller, "block_hours", "changed", previous=previous, hours=value
            )
