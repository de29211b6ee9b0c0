"""What a node keeps of each team: read once per second at most, shared by everyone who
asks at once, and forgotten at once when this node changes it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from lykta.conversations import workflow
from lykta.runtime import Runtime
from lykta.staff.models import Role, StaffUser
from lykta.staff.service import StaffIdentity
from lykta.teams import admin_service
from lykta.teams.directory import FRESH_SECONDS, TeamDirectory
from lykta.teams.service import do_create_team
from tests.support.server import Seed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def caller(seeded: Seed, name: str) -> StaffIdentity:
    return seeded.workers[name].identity()


async def open_all_week(rt: Runtime, admin: StaffIdentity) -> None:
    assert admin.role == Role.ADMIN.value
    for weekday in range(7):
        await admin_service.do_add_period(rt, admin, weekday, "00:00", "12:00")
        await admin_service.do_add_period(rt, admin, weekday, "12:00", "24:00")


async def set_duty_elsewhere(rt: Runtime, user_id: int, on: bool) -> None:
    """What another node's worker going on duty looks like from here: only the row."""
    async with rt.db.write() as session:
        await session.execute(update(StaffUser).where(StaffUser.id == user_id).values(on_duty=on))


def hold_first_read(
    directory: TeamDirectory, monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Event, asyncio.Event]:
    """The directory's first read of a team's opening returns only once ``release`` is
    set (``began`` says it has read); later reads go straight through."""
    read = directory._read_opening
    began, release = asyncio.Event(), asyncio.Event()

    async def first_read_held(key: int) -> object:
        value = await read(key)
        if not began.is_set():
            began.set()
            await release.wait()
        return value

    monkeypatch.setattr(directory, "_read_opening", first_read_held)
    return began, release


async def test_a_crowd_starting_at_once_costs_one_read_of_the_team(rt: Runtime) -> None:
    directory = TeamDirectory(rt.db)
    refs = await asyncio.gather(*(directory.by_slug("demo") for _ in range(50)))
    assert {r.slug if r else None for r in refs} == {"demo"}
    team_id = refs[0].id if refs[0] else 0
    statuses = await asyncio.gather(*(directory.status(team_id) for _ in range(50)))
    assert len({s.open for s in statuses}) == 1
    assert directory.reads == 2  # the team once, its opening once


async def test_a_change_on_another_node_shows_within_a_second(rt: Runtime, seeded: Seed) -> None:
    await open_all_week(rt, caller(seeded, "Anna"))
    clock = Clock()
    directory = TeamDirectory(rt.db, clock=clock)
    team_id = seeded.team_ids["demo"]
    assert not (await directory.status(team_id)).open  # nobody on duty yet
    await set_duty_elsewhere(rt, seeded.workers["Bo"].user_id, True)
    clock.now += FRESH_SECONDS / 2
    assert not (await directory.status(team_id)).open  # still what was read
    clock.now += FRESH_SECONDS / 2
    assert (await directory.status(team_id)).open
    assert await directory.on_duty(team_id) == 1


async def test_a_change_on_this_node_shows_at_once(rt: Runtime, seeded: Seed) -> None:
    await open_all_week(rt, caller(seeded, "Anna"))
    team_id = seeded.team_ids["demo"]
    assert not (await rt.teams.status(team_id)).open
    bo = caller(seeded, "Bo")
    await workflow.do_set_duty(rt, bo, True)
    assert (await rt.teams.status(team_id)).open
    await workflow.do_set_duty(rt, bo, False)
    assert not (await rt.teams.status(team_id)).open


async def test_hours_changed_on_this_node_show_at_once(rt: Runtime, seeded: Seed) -> None:
    team_id = seeded.team_ids["demo"]
    await workflow.do_set_duty(rt, caller(seeded, "Bo"), True)
    assert not (await rt.teams.status(team_id)).within_hours  # no hours yet
    await open_all_week(rt, caller(seeded, "Anna"))
    assert (await rt.teams.status(team_id)).open


async def test_a_read_under_way_when_the_team_changes_is_not_kept(
    rt: Runtime, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    await open_all_week(rt, caller(seeded, "Anna"))
    team_id = seeded.team_ids["demo"]
    directory = TeamDirectory(rt.db)
    began, release = hold_first_read(directory, monkeypatch)
    reader = asyncio.create_task(directory.status(team_id))
    await began.wait()  # it read "nobody on duty"
    await set_duty_elsewhere(rt, seeded.workers["Bo"].user_id, True)
    directory.forget(team_id)
    release.set()
    assert not (await reader).open  # what it read before the change
    assert (await directory.status(team_id)).open  # but it did not keep it


async def test_a_new_team_is_found_at_once_and_a_gone_one_is_closed(rt: Runtime) -> None:
    assert await rt.teams.by_slug("new-team") is None
    async with rt.db.write() as session:
        team = await do_create_team(session, "new-team", "New team")
    found = await rt.teams.by_slug("new-team")
    assert found is not None
    assert found.id == team.id
    status = await rt.teams.status(10_000)
    assert not status.open
    assert not status.within_hours
    assert status.next_opening is None


async def test_a_failed_read_reaches_every_waiter_and_is_not_kept(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = TeamDirectory(rt.db)
    read = directory._read_team
    calls = 0

    async def failing(slug: str) -> object:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise OSError("database went away")

    monkeypatch.setattr(directory, "_read_team", failing)
    results = await asyncio.gather(
        *(directory.by_slug("demo") for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(r, OSError) for r in results)
    monkeypatch.setattr(directory, "_read_team", read)
    assert (await directory.by_slug("demo")) is not None


async def test_one_waiter_giving_up_does_not_cancel_the_others(rt: Runtime) -> None:
    directory = TeamDirectory(rt.db)
    first = asyncio.create_task(directory.by_slug("demo"))
    second = asyncio.create_task(directory.by_slug("demo"))
    await asyncio.sleep(0)
    first.cancel()
    ref = await second
    assert ref is not None
    assert ref.slug == "demo"
    assert directory.reads == 1


async def test_the_admins_own_page_reads_afresh(rt: Runtime, seeded: Seed) -> None:
    await open_all_week(rt, caller(seeded, "Anna"))
    team_id = seeded.team_ids["demo"]
    assert not (await rt.teams.status(team_id)).open
    await set_duty_elsewhere(rt, seeded.workers["Bo"].user_id, True)
    assert not (await rt.teams.status(team_id)).open  # young people: held for a second
    assert (await rt.teams.status(team_id, fresh=True)).open
    assert (await rt.teams.status(team_id)).open  # and what it read is kept


async def test_asking_after_a_change_does_not_join_a_read_from_before_it(
    rt: Runtime, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker goes on duty while a read is under way: whoever asks after the change
    (the presence frame this node sends at once) waits for a read that sees it."""
    await open_all_week(rt, caller(seeded, "Anna"))
    team_id = seeded.team_ids["demo"]
    directory = TeamDirectory(rt.db)
    began, release = hold_first_read(directory, monkeypatch)
    before = asyncio.create_task(directory.status(team_id))
    await began.wait()
    await set_duty_elsewhere(rt, seeded.workers["Bo"].user_id, True)
    directory.forget(team_id)
    try:  # joining the read from before the change would wait for it forever here
        after = await asyncio.wait_for(directory.status(team_id), timeout=5)
    finally:
        release.set()
    assert not (await before).open
    assert after.open
    assert (await directory.status(team_id)).open
