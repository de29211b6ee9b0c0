"""What every start, resume and queue update asks about a team, kept per node.

Who a team is by its short name, its opening hours and how many workers are on duty are
read from the database at most once a second per team and node (``FRESH_SECONDS``),
however many young people arrive at once: readers that find nothing fresh share one read.
A change made on this node (duty, hours, settings, a member deactivated) is seen at once:
the service that made it calls ``forget`` after its commit. A change made on another node
is seen within ``FRESH_SECONDS``. Unknown short names are not remembered, so a team
created on any node is found at once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select

from lykta.db import Database, utcnow
from lykta.shared_reads import SharedReads
from lykta.teams import hours
from lykta.teams.models import Team
from lykta.teams.opening import Schedule, Status, schedule_of, workers_on_duty
from lykta.teams.service import get_team_by_slug

FRESH_SECONDS = 1.0

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class TeamRef:
    """The little of a team that the young person's socket needs."""

    id: int
    slug: str


@dataclass(frozen=True)
class _Opening:
    timezone: str
    schedule: Schedule
    on_duty: int


CLOSED = Status(open=False, within_hours=False, next_opening=None)
"""A team that is gone."""


class TeamDirectory:
    def __init__(
        self,
        db: Database,
        fresh_seconds: float = FRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.fresh_seconds = fresh_seconds
        self.clock = clock
        self._teams: dict[str, tuple[TeamRef, float]] = {}
        self._opening: dict[int, tuple[_Opening, float]] = {}
        self._reads: SharedReads[tuple[str, object], Any] = SharedReads()
        self._generation = 0
        """Raised by ``forget``: a read that began before it does not store what it read."""
        self.reads = 0
        """Database reads made so far (for tests and benchmarks)."""

    def forget(self, team_id: int) -> None:
        """This node changed the team (after the commit): read it again when next asked.
        A read already under way may have missed the change: whoever asks from now on
        waits for a new one instead (those already waiting get what it read)."""
        self._generation += 1
        self._opening.pop(team_id, None)
        for slug in [s for s, (ref, _) in self._teams.items() if ref.id == team_id]:
            del self._teams[slug]
        self._reads.forget()

    async def by_slug(self, slug: str) -> TeamRef | None:
        return await self._get(self._teams, "team", slug, self._read_team)

    async def on_duty(self, team_id: int) -> int:
        opening = await self._opening_of(team_id)
        return 0 if opening is None else opening.on_duty

    async def status(
        self, team_id: int, now: dt.datetime | None = None, *, fresh: bool = False
    ) -> Status:
        """Open means within hours and at least one worker on duty. ``fresh``: read now,
        whatever this node holds (for the admin's own page, not for young people)."""
        if fresh:
            opening = await self._load(self._opening, team_id, self._read_opening)
        else:
            opening = await self._opening_of(team_id)
        if opening is None:
            return CLOSED
        now = now or utcnow()
        zone, periods, exceptions = (
            opening.timezone,
            opening.schedule.periods,
            opening.schedule.exceptions,
        )
        within = hours.is_within_hours(now, zone, periods, exceptions)
        return Status(
            open=within and opening.on_duty > 0,
            within_hours=within,
            next_opening=None if within else hours.next_opening(now, zone, periods, exceptions),
        )

    async def _opening_of(self, team_id: int) -> _Opening | None:
        return await self._get(self._opening, "opening", team_id, self._read_opening)

    async def _read_team(self, slug: str) -> TeamRef | None:
        async with self.db.read() as session:
            team = await get_team_by_slug(session, slug)
        return None if team is None else TeamRef(team.id, team.slug)

    async def _read_opening(self, team_id: int) -> _Opening | None:
        async with self.db.read() as session:
            zone = (
                await session.execute(select(Team.timezone).where(Team.id == team_id))
            ).scalar_one_or_none()
            if zone is None:
                return None
            schedule = await schedule_of(session, team_id)
            on_duty = await workers_on_duty(session, team_id)
        return _Opening(zone, schedule, on_duty)

    async def _get(
        self,
        cache: dict[K, tuple[V, float]],
        kind: str,
        key: K,
        read: Callable[[K], Awaitable[V | None]],
    ) -> V | None:
        held = cache.get(key)
        if held is not None and held[1] > self.clock():
            return held[0]
        result: V | None = await self._reads.wait((kind, key), lambda: self._load(cache, key, read))
        return result

    async def _load(
        self,
        cache: dict[K, tuple[V, float]],
        key: K,
        read: Callable[[K], Awaitable[V | None]],
    ) -> V | None:
        generation = self._generation
        self.reads += 1
        value = await read(key)
        if value is not None and generation == self._generation:
            cache[key] = (value, self.clock() + self.fresh_seconds)
        return value
