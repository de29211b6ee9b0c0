"""A team's risk words: read once a minute per team, without holding sends up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.conversations import riskflags
from lykta.conversations.riskflags import RiskWords
from lykta.db import Database
from lykta.runtime import Runtime
from lykta.teams.models import RiskWord, Team

WORD = "blåbärsmysterium"  # in no shipped list


class Reads:
    """Counts the risk words' reads of ``db`` and can hold them up until released."""

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.fail = False
        self.gate = asyncio.Event()
        self.gate.set()
        read = db.read

        @contextlib.asynccontextmanager
        async def counted() -> AsyncIterator[AsyncSession]:
            self.count += 1
            await self.gate.wait()
            if self.fail:
                raise ConnectionError("the database went away")
            async with read() as session:
                yield session

        monkeypatch.setattr(db, "read", counted)


class Clock:
    """A minute passing: every list read so far is old (``TTL`` negative) until
    ``resume``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def minute_passes(self) -> None:
        self.monkeypatch.setattr(riskflags, "TTL", -1.0)

    def resume(self) -> None:
        self.monkeypatch.setattr(riskflags, "TTL", 60.0)


@pytest.fixture
def db(rt: Runtime) -> Database:
    return rt.db


@pytest.fixture
def team(demo: Team) -> int:
    return demo.id


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def add_word(db: Database, team: int, pattern: str = WORD) -> None:
    async with db.write() as session:
        session.add(RiskWord(team_id=team, category="abuse", pattern=pattern))


def flagged(words: RiskWords, team: int, text: str = f"ett {WORD} här") -> bool:
    return "abuse" in words.match(team, text)


async def test_a_teams_own_words_flag_its_messages(db: Database, team: int) -> None:
    await add_word(db, team)
    words = RiskWords()
    await words.prepare(db, team)
    assert flagged(words, team)
    assert not flagged(words, team + 1)  # another team's words are not this one's


async def test_an_old_list_is_read_again_once_while_every_send_goes_on(
    db: Database, team: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A minute on, the sends of that moment share one read and none waits for it (each
    read the list itself before, and waited for its own read)."""
    words = RiskWords()
    await words.prepare(db, team)
    reads = Reads(db, monkeypatch)
    await add_word(db, team)  # as an admin on another node would
    clock.minute_passes()
    reads.gate.clear()  # the read takes its time
    await asyncio.wait_for(asyncio.gather(*(words.prepare(db, team) for _ in range(50))), 2)
    assert reads.count == 1
    assert not flagged(words, team)  # the old list serves meanwhile
    reads.gate.set()
    for _ in range(20):
        if flagged(words, team):
            break
        await asyncio.sleep(0.01)
    assert flagged(words, team)
    clock.resume()
    await words.prepare(db, team)
    assert reads.count == 1  # fresh for another minute


async def test_the_first_sends_of_a_team_wait_for_one_read_together(
    db: Database, team: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_word(db, team)
    reads = Reads(db, monkeypatch)
    words = RiskWords()
    await asyncio.gather(*(words.prepare(db, team) for _ in range(20)))
    assert reads.count == 1
    assert flagged(words, team)


async def test_an_admins_change_applies_to_the_next_send(
    db: Database, team: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = RiskWords()
    await words.prepare(db, team)
    await add_word(db, team)
    words.forget(team)
    await words.prepare(db, team)
    assert flagged(words, team)


async def test_a_change_during_a_read_is_not_lost(
    db: Database, team: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``forget`` while a read is under way: what that read found may be from before the
    change, so it is not kept, and the send waiting for it reads again."""
    reads = Reads(db, monkeypatch)
    reads.gate.clear()
    words = RiskWords()
    first = asyncio.create_task(words.prepare(db, team))
    await asyncio.sleep(0.01)
    assert reads.count == 1
    await add_word(db, team)
    words.forget(team)
    reads.gate.set()
    await asyncio.wait_for(first, 5)
    assert reads.count == 2
    assert flagged(words, team)


async def test_a_failed_read_keeps_the_old_list_and_the_next_send_tries_again(
    db: Database,
    team: int,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_word(db, team)
    words = RiskWords()
    await words.prepare(db, team)
    reads = Reads(db, monkeypatch)
    reads.fail = True
    clock.minute_passes()
    with caplog.at_level(logging.WARNING, logger=riskflags.__name__):
        await words.prepare(db, team)  # does not fail: the old list is at hand
        await asyncio.sleep(0.01)
    assert "could not read team" in caplog.text
    assert flagged(words, team)
    reads.fail = False
    await words.prepare(db, team)  # the list is still old: another read
    await asyncio.sleep(0.01)
    assert reads.count == 2


async def test_the_first_read_failing_fails_the_send(
    db: Database, team: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no list at hand there is nothing to flag against: the send fails (and is not
    stored unflagged), and the next one reads again."""
    reads = Reads(db, monkeypatch)
    reads.fail = True
    words = RiskWords()
    with pytest.raises(ConnectionError):
        await words.prepare(db, team)
    reads.fail = False
    await words.prepare(db, team)
    assert reads.count == 2
