"""Which risk words apply to a team: the shipped lists plus the team's own additions.

The combined list is kept per team for a minute (so an admin's change reaches every node
within a minute) and must be loaded with ``prepare`` before ``match``, which is called
inside the message's transaction and never waits.

Once a team's list is a minute old, the next send starts reading it again and goes on
with the old one meanwhile, as do all sends until the new one is in: one read per team
and minute, however many sends arrive at that moment (every one of them read it before,
each on its own, until the first read was done). Only the first send of a team on this
node, and the first after an admin's change here (``forget``), waits for the read.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select

from lykta.db import Database
from lykta.risk import WordList, load_builtin
from lykta.shared_reads import SharedReads
from lykta.teams.models import RiskWord

TTL = 60.0
log = logging.getLogger(__name__)

_TEAM_WORDS = select(RiskWord.category, RiskWord.pattern)


class RiskWords:
    def __init__(self) -> None:
        self._teams: dict[int, tuple[float, WordList]] = {}
        self._reads: SharedReads[int, None] = SharedReads(self._failed)

    async def prepare(self, db: Database, team_id: int) -> None:
        while True:
            cached = self._teams.get(team_id)
            if cached is not None and time.monotonic() - cached[0] < TTL:
                return
            if cached is not None:
                self._reads.start(team_id, lambda: self._load(db, team_id))
                return  # the old list serves until the new one is in
            # Nothing to match against yet: wait, and look again (``forget`` may have
            # come meanwhile).
            await self._reads.wait(team_id, lambda: self._load(db, team_id))

    @staticmethod
    def _failed(team_id: int, error: BaseException) -> None:
        # Waited for by nobody when a list was at hand: the old one serves on, and the
        # next send tries again.
        log.warning("could not read team %d's risk words: %s", team_id, error)

    async def _load(self, db: Database, team_id: int) -> None:
        async with db.read() as session:
            rows = (await session.execute(_TEAM_WORDS.where(RiskWord.team_id == team_id))).all()
        words = load_builtin()  # a fresh copy of the shipped lists
        for category, pattern in rows:
            try:
                words.extend([(category, pattern)])
            except ValueError:
                # Checked when saved; a row broken since must not switch off the rest.
                log.warning("team %d has an unusable risk word; ignoring it", team_id)
        if self._reads.under_way(team_id) is asyncio.current_task():
            self._teams[team_id] = (time.monotonic(), words)
        # (Otherwise ``forget`` came while it read: what it read may be from before the
        # change, and the read that ``forget`` leads to stores the list instead.)

    def forget(self, team_id: int) -> None:
        """The team's words changed (on this node): the next send reads them again."""
        self._teams.pop(team_id, None)
        self._reads.forget(team_id)

    def match(self, team_id: int, text: str) -> set[str]:
        """The risk categories ``text`` hits for this team (``prepare`` first)."""
        cached = self._teams.get(team_id)
        words = cached[1] if cached is not None else load_builtin()
        return words.match(text)
