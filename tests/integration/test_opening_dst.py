"""Opening hours set through the admin page hold across the daylight-saving changes of
2026 in Europe/Stockholm: 09:00-17:00 local is 07:00-15:00 UTC in summer time (CEST) and
08:00-16:00 UTC in winter time (CET), also on the Sundays the clocks change."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import pytest

from lykta.config import Settings
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.teams.models import Team
from lykta.teams.opening import Status
from tests.integration.staff_helpers import browser, db_update
from tests.support.client import Peer
from tests.support.server import Seed, ServerThread, csrf_of, http_login, login_token


def utc(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def set_weekly_hours(server: ServerThread, seeded: Seed) -> None:
    """09:00-17:00 every day of the week, through the admin page."""
    with browser(server) as admin:
        assert http_login(admin, seeded.workers["Anna"]).status_code == 303
        page = admin.get("/app/admin/hours")
        assert "Europe/Stockholm" in page.text
        for weekday in range(7):
            response = admin.post(
                "/app/admin/hours/periods",
                data={
                    "weekday": str(weekday),
                    "opens": "09:00",
                    "closes": "17:00",
                    "csrf": csrf_of(page.text),
                },
            )
            assert response.status_code == 303, response.text
        listing = admin.get("/app/admin/hours").text
    assert len(re.findall(r"<td>09:00</td>\s*<td>17:00</td>", listing)) == 7


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime.create(settings)
    try:
        yield rt
    finally:
        await rt.db.dispose()


async def status_at(rt: Runtime, team_id: int, now: dt.datetime) -> Status:
    async with rt.db.read() as session:
        team = await session.get(Team, team_id)
    assert team is not None
    assert team.timezone == "Europe/Stockholm"
    return await rt.teams.status(team.id, now=now)


# (instant, open?, next opening when closed). Local times in the comments.
INSTANTS = [
    # Saturday 2026-03-28, still winter time (UTC+1).
    (utc(2026, 3, 28, 7, 59), False, utc(2026, 3, 28, 8, 0)),  # 08:59 CET
    (utc(2026, 3, 28, 8, 0), True, None),  # 09:00 CET
    (utc(2026, 3, 28, 15, 59), True, None),  # 16:59 CET
    # 17:00 CET; the clocks go forward tonight, so Sunday opens an hour earlier in UTC.
    (utc(2026, 3, 28, 16, 0), False, utc(2026, 3, 29, 7, 0)),
    # Sunday 2026-03-29: 02:00 CET became 03:00 CEST at 01:00 UTC.
    (utc(2026, 3, 29, 6, 59), False, utc(2026, 3, 29, 7, 0)),  # 08:59 CEST
    (utc(2026, 3, 29, 7, 0), True, None),  # 09:00 CEST
    (utc(2026, 3, 29, 14, 59), True, None),  # 16:59 CEST
    (utc(2026, 3, 29, 15, 0), False, utc(2026, 3, 30, 7, 0)),  # 17:00 CEST
    (utc(2026, 3, 29, 15, 30), False, utc(2026, 3, 30, 7, 0)),  # 17:30 CEST (16:30 in CET)
    # Saturday 2026-10-24, still summer time (UTC+2).
    (utc(2026, 10, 24, 6, 59), False, utc(2026, 10, 24, 7, 0)),  # 08:59 CEST
    (utc(2026, 10, 24, 7, 0), True, None),  # 09:00 CEST
    (utc(2026, 10, 24, 14, 59), True, None),  # 16:59 CEST
    # 17:00 CEST; the clocks go back tonight, so Sunday opens an hour later in UTC.
    (utc(2026, 10, 24, 15, 0), False, utc(2026, 10, 25, 8, 0)),
    # Sunday 2026-10-25: 03:00 CEST became 02:00 CET at 01:00 UTC.
    (utc(2026, 10, 25, 0, 30), False, utc(2026, 10, 25, 8, 0)),  # 02:30 CEST, first time
    (utc(2026, 10, 25, 1, 30), False, utc(2026, 10, 25, 8, 0)),  # 02:30 CET, second time
    (utc(2026, 10, 25, 7, 0), False, utc(2026, 10, 25, 8, 0)),  # 08:00 CET (09:00 in CEST)
    (utc(2026, 10, 25, 7, 59), False, utc(2026, 10, 25, 8, 0)),  # 08:59 CET
    (utc(2026, 10, 25, 8, 0), True, None),  # 09:00 CET
    (utc(2026, 10, 25, 15, 59), True, None),  # 16:59 CET
    (utc(2026, 10, 25, 16, 0), False, utc(2026, 10, 26, 8, 0)),  # 17:00 CET
]


async def test_weekly_hours_across_both_changes_of_2026(
    server: ServerThread, settings: Settings, seeded: Seed, runtime: Runtime
) -> None:
    set_weekly_hours(server, seeded)
    team_id = seeded.team_ids["demo"]
    # Nobody on duty: within hours, but not open to young people.
    summer_morning = await status_at(runtime, team_id, utc(2026, 3, 29, 7, 0))
    assert (summer_morning.within_hours, summer_morning.open) == (True, False)
    # A worker goes on duty through the worker app.
    bo = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers["Bo"]))
    await bo.connect()
    await bo.hello()
    await bo.send_frame({"type": "duty", "on": True})
    await bo.wait_for(lambda f: f["type"] == "presence" and f["on_duty"])
    await bo.close()
    # ``runtime`` is another node: it would see the change within a second on its own.
    runtime.teams.forget(team_id)
    for now, expected_open, expected_next in INSTANTS:
        status = await status_at(runtime, team_id, now)
        assert status.within_hours is expected_open, now
        assert status.open is expected_open, now
        assert status.next_opening == expected_next, now
        if status.next_opening is not None:
            assert status.next_opening.utcoffset() == dt.timedelta(0)


def test_the_closed_page_shows_the_help_numbers(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    set_weekly_hours(server, seeded)
    with browser(server) as admin:
        http_login(admin, seeded.workers["Anna"])
        page = admin.get("/app/admin/help")
        response = admin.post(
            "/app/admin/help",
            data={
                "label": ["Nödnummer", "Jouren"],
                "number": ["112", "+46 70-123 45 67"],
                "csrf": csrf_of(page.text),
            },
        )
        assert response.status_code == 303
    # Within hours perhaps, but nobody is on duty: closed, whatever the clock says.
    db_update(settings, StaffUser, StaffUser.team_id == seeded.team_ids["demo"], on_duty=False)
    with browser(server) as young:
        chat = young.get("/chat/demo", headers={"accept-language": "sv"})
    assert chat.status_code == 200
    section = chat.text.split('data-testid="help-numbers"', 1)[1].split("</section>", 1)[0]
    links = re.findall(r'href="(tel:[^"]+)"', section)
    assert links == ["tel:112", "tel:+46701234567"]
    assert "Jouren" in section
    assert '"open": false' in chat.text  # the page's script is told the team is closed
