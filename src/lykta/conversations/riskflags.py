"""Which risk words apply to a team: the shipped lists plus the team's own additions.

The combined list is kept per team for a minute (so an admin's change reaches every node
within a minute) and must be loaded with ``prepare`` before ``match``, which is called
inside the message's transaction and never waits.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from lykta.db import Database
from lykta.risk import WordList, load_builtin
from lykta.teams.models import RiskWord

TTL = 60.0
log = logging.getLogger(__name__)


class RiskWords:
    def __init__(self) -> None:
        self._teams: dict[int, tuple[float, WordList]] = {}

    async def prepare(self, db: Database, team_id: int) -> None:
        cached = self._teams.get(team_id)
        if cached is not None and time.monotonic() - cached[0] < TTL:
            return
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(RiskWord.category, RiskWord.pattern).where(RiskWord.team_id == team_id)
                )
            ).all()
        words = load_builtin()  # a fresh copy of the shipped lists
        for category, pattern in rows:
            try:
                words.extend([(category, pattern)])
            except ValueError:
                # Checked when saved; a row broken since must not switch off the rest.
                log.warning("team %d has an unusable risk word; ignoring it", team_id)
        self._teams[team_id] = (time.monotonic(), words)

    def forget(self, team_id: int) -> None:
        self._teams.pop(team_id, None)

    def match(self, team_id: int, text: str) -> set[str]:
        """The risk categories ``text`` hits for this team (``prepare`` first)."""
        cached = self._teams.get(team_id)
        words = cached[1] if cached is not None else load_builtin()
        return words.match(text)
