"""The operator's commands behind ``lykta demo | team create | user create``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lykta import cli
from lykta.commands import (
    DEMO_EMAIL,
    DEMO_LOGIN_FILE,
    CliError,
    create_team,
    create_user,
    ensure_demo,
    first_name_from,
    read_demo_login,
)
from lykta.config import Settings
from lykta.db import Database
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.staff.service import authenticate
from lykta.teams.models import Team
from tests.support.server import settings_for


async def count(settings: Settings) -> tuple[int, int]:
    db = Database(settings)
    try:
        async with db.read() as session:
            teams = (await session.execute(select(func.count()).select_from(Team))).scalar_one()
            users = (
                await session.execute(select(func.count()).select_from(StaffUser))
            ).scalar_one()
        return teams, users
    finally:
        await db.dispose()


async def login_works(settings: Settings, email: str, password: str) -> StaffUser | None:
    rt = Runtime.create(settings)
    try:
        return await authenticate(rt, email, password)
    finally:
        await rt.db.dispose()


@pytest.fixture
async def prepared(tmp_path: Path) -> Settings:
    settings = settings_for(tmp_path / "data")
    await cli.prepare(settings)
    return settings


async def test_ensure_demo_creates_team_and_worker_once(prepared: Settings) -> None:
    login = await ensure_demo(prepared, None)
    assert login["email"] == DEMO_EMAIL
    assert len(login["password"]) >= 12
    assert await count(prepared) == (1, 1)

    again = await ensure_demo(prepared, None)
    assert again == login  # the same password is shown on every start
    assert await count(prepared) == (1, 1)

    worker = await login_works(prepared, login["email"], login["password"])
    assert worker is not None
    assert worker.first_name == "Anna"


async def test_the_demo_login_file_is_private(prepared: Settings) -> None:
    login = await ensure_demo(prepared, None)
    login_file = prepared.data_dir / DEMO_LOGIN_FILE
    assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
    assert read_demo_login(prepared.data_dir) == login


async def test_the_demo_password_can_be_chosen(prepared: Settings) -> None:
    login = await ensure_demo(prepared, "demo password 123")
    assert login["password"] == "demo password 123"
    assert await login_works(prepared, DEMO_EMAIL, "demo password 123") is not None


async def test_a_lost_login_file_does_not_break_the_next_start(prepared: Settings) -> None:
    await ensure_demo(prepared, None)
    (prepared.data_dir / DEMO_LOGIN_FILE).unlink()
    assert (await ensure_demo(prepared, None))["email"] == DEMO_EMAIL
    assert await count(prepared) == (1, 1)


async def test_create_user_checks_its_input(prepared: Settings) -> None:
    await create_team(prepared, "norr", "Norr", "Europe/Stockholm", "sv")
    with pytest.raises(CliError, match="nosuch"):
        await create_user(prepared, "nosuch", "a@norr.example", "worker", None)
    with pytest.raises(CliError, match="e-mail"):
        await create_user(prepared, "norr", "not an address", "worker", None)
    account = await create_user(prepared, "norr", "Eva.Lind@Norr.Example", "worker", None)
    with pytest.raises(CliError, match="already exists"):
        await create_user(prepared, "norr", "eva.lind@norr.example", "admin", None)
    assert account.email == "eva.lind@norr.example"
    assert await login_works(prepared, account.email, account.password) is not None
    assert await count(prepared) == (1, 1)


async def test_create_team_refuses_a_duplicate(prepared: Settings) -> None:
    await create_team(prepared, "norr", "Norr", "Europe/Stockholm", "sv")
    with pytest.raises(CliError, match="already exists"):
        await create_team(prepared, "norr", "Norr again", "Europe/Stockholm", "sv")


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("eva.lind@x.se", "Eva"),
        ("eva_lind@x.se", "Eva"),
        ("bo-erik@x.se", "Bo"),
        ("anna@x.se", "Anna"),
        ("x" * 64 + "@x.se", "X" + "x" * 59),
    ],
)
def test_first_name_from_email(email: str, name: str) -> None:
    assert first_name_from(email) == name
