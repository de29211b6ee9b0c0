"""The team admin pages for the worker's day, through the real app: opening hours, help
numbers, closing topics, ready replies, risk words and guidance, blocks and block time."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from lykta.config import Settings
from lykta.staff.models import StaffUser
from tests.integration.staff_helpers import browser, db_update
from tests.support.client import Peer
from tests.support.server import Seed, ServerThread, csrf_of, http_login, login_token

PAGES = (
    "/app/admin/hours",
    "/app/admin/help",
    "/app/admin/topics",
    "/app/admin/replies",
    "/app/admin/risk",
    "/app/admin/blocks",
)
FORMS: dict[str, dict[str, Any]] = {
    "/app/admin/hours/periods": {"weekday": "0", "opens": "09:00", "closes": "17:00"},
    "/app/admin/hours/exceptions": {"day": "2099-12-24", "kind": "closed", "label": "Jul"},
    "/app/admin/help": {"label": ["Polisen"], "number": ["114 14"], "position": ["1"]},
    "/app/admin/help/reset": {"country": "no"},
    "/app/admin/topics": {"topics": "skola"},
    "/app/admin/topics/reset": {},
    "/app/admin/replies": {"key": "hej", "body": "Hej!"},
    "/app/admin/risk/words": {"category": "suicide", "pattern": "glimmerlamp*"},
    "/app/admin/risk/guidance": {"guidance": "Ring jouren."},
    "/app/admin/blocks/hours": {"block_hours": "48"},
}
"""A valid form for every admin POST route that takes no id."""


@contextmanager
def logged_in(server: ServerThread, seeded: Seed, name: str = "Anna") -> Iterator[httpx.Client]:
    with browser(server) as client:
        client.headers["accept-language"] = "en"
        assert http_login(client, seeded.workers[name]).status_code == 303
        yield client


def post(client: httpx.Client, page: str, action: str, **data: Any) -> httpx.Response:
    """Submit a form of ``page`` (GET first, for its CSRF token), as a browser would."""
    csrf = csrf_of(client.get(page).text)
    return client.post(action, data={**data, "csrf": csrf})


def saved(response: httpx.Response, page: str) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{page}?saved=1"


def refused(response: httpx.Response, testid: str, message: str) -> None:
    assert response.status_code == 400, response.text
    shown = re.search(rf'data-testid="{testid}">([^<]*)<', response.text)
    assert shown, f"no {testid} on the page"
    assert message in html.unescape(shown.group(1)), shown.group(1)


def settings_log(client: httpx.Client) -> str:
    return html.unescape(client.get("/app/admin/audit", params={"action": "settings."}).text)


async def staff_hello(server: ServerThread, settings: Settings, seeded: Seed, name: str) -> Any:
    peer = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers[name]))
    await peer.connect()
    hello, listing = await peer.hello()
    await peer.close()
    return hello, listing


async def youth(server: ServerThread, text: str, tab: str | None = None) -> Peer:
    peer = Peer(server.ws)
    await peer.connect()
    peer.team = "demo"
    frame: dict[str, Any] = {"type": "start", "team": "demo"}
    if tab:
        frame["browser"] = tab
    await peer.send_frame(frame)
    ready = await peer.wait_for(lambda f: f["type"] in ("ready", "error"))
    if ready["type"] == "ready":
        peer.code = ready["resume_code"]
        await peer.send(text)
        await peer.wait_for(lambda f: f["type"] == "ack")
    return peer


def test_admin_pages_open_for_admins_and_are_forbidden_to_workers(
    server: ServerThread, seeded: Seed
) -> None:
    with logged_in(server, seeded) as admin:
        profile = admin.get("/app/profile").text
        for path in PAGES:
            page = admin.get(path)
            assert page.status_code == 200, path
            assert f'href="{path}"' in profile, path  # in the admin's navigation
        no_csrf = admin.post("/app/admin/topics", data={"topics": "skola"})
        assert no_csrf.status_code == 403
    with logged_in(server, seeded, "Bo") as worker:
        for path in PAGES:
            assert worker.get(path).status_code == 403, path
            assert f'href="{path}"' not in worker.get("/app/profile").text
        for action, form in FORMS.items():
            assert post(worker, "/app/profile", action, **form).status_code == 403, action
    with logged_in(server, seeded) as admin:  # nothing the worker sent was stored
        assert "settings.changed" not in settings_log(admin)


def test_weekly_hours_and_dated_exceptions_are_validated_and_audited(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    page = "/app/admin/hours"
    with logged_in(server, seeded) as admin:
        add = "/app/admin/hours/periods"
        saved(post(admin, page, add, weekday="0", opens="9.00", closes="17:00"), page)
        saved(post(admin, page, add, weekday="4", opens="22:00", closes="02:00"), page)
        listing = admin.get(page + "?saved=1").text
        assert 'data-testid="hours-saved"' in listing
        assert re.search(r"<td>Monday</td>\s*<td>09:00</td>\s*<td>17:00</td>", listing)
        assert re.search(r"<td>Friday</td>\s*<td>22:00</td>\s*<td>02:00</td>", listing)
        refused(
            post(admin, page, add, weekday="0", opens="16:00", closes="18:00"),
            "hours-error",
            "overlaps an opening period",
        )
        refused(  # Friday 22:00-02:00 runs into Saturday morning
            post(admin, page, add, weekday="5", opens="01:00", closes="03:00"),
            "hours-error",
            "overlaps",
        )
        for opens, closes in (("25:00", "26:00"), ("24:00", "08:00"), ("9", "17:00")):
            response = post(admin, page, add, weekday="1", opens=opens, closes=closes)
            refused(response, "hours-error", "Write times as HH:MM")
            assert f'value="{opens}"' in response.text  # the form keeps what was typed
        refused(
            post(admin, page, add, weekday="1", opens="10:00", closes="10:00"),
            "hours-error",
            "must differ",
        )
        refused(
            post(admin, page, add, weekday="9", opens="10:00", closes="12:00"),
            "hours-error",
            "day of the week",
        )
        refused(
            post(admin, page, add, weekday="³", opens="10:00", closes="12:00"),
            "hours-error",
            "day of the week",
        )

        exceptions = "/app/admin/hours/exceptions"
        closed = {"day": "2099-06-19", "kind": "closed", "label": "Midsommarafton"}
        saved(post(admin, page, exceptions, **closed), page)
        evening = {"day": "2099-06-20", "kind": "hours", "opens": "18:00", "closes": "23:00"}
        saved(post(admin, page, exceptions, **evening), page)
        listing = admin.get(page).text
        assert "Midsommarafton" in listing
        assert "18:00–23:00" in listing
        refused(post(admin, page, exceptions, **closed), "hours-error", "already an exception")
        refused(
            post(admin, page, exceptions, **{**evening, "day": "2099-06-21", "closes": ""}),
            "hours-error",
            "Give both the opening and the closing time",
        )
        refused(
            post(admin, page, exceptions, **{**closed, "day": "2020-01-01"}),
            "hours-error",
            "today or a later date",
        )
        refused(
            post(admin, page, exceptions, **{**closed, "day": "19 juni"}),
            "hours-error",
            "YYYY-MM-DD",
        )

        ids = re.findall(r'data-testid="period-(\d+)"', listing)
        exception_ids = re.findall(r'data-testid="exception-(\d+)"', listing)
        assert len(ids) == 2
        assert len(exception_ids) == 2
        saved(post(admin, page, f"/app/admin/hours/periods/{ids[0]}/delete"), page)
        saved(post(admin, page, f"/app/admin/hours/exceptions/{exception_ids[0]}/delete"), page)
        assert post(admin, page, f"/app/admin/hours/periods/{ids[0]}/delete").status_code == 404
        listing = admin.get(page).text
        assert "<td>Monday</td>" not in listing
        assert "Midsommarafton" not in listing

        log = settings_log(admin)
        for details in (
            "area=hours, change=period_added, period=Monday 09:00-17:00",
            "area=hours, change=period_removed, period=Monday 09:00-17:00",
            "area=hours, change=exception_added, day=2099-06-19, hours=closed",
            "area=hours, change=exception_added, day=2099-06-20, hours=18:00-23:00",
            "area=hours, change=exception_removed, day=2099-06-19",
        ):
            assert details in log, details


def test_the_status_follows_the_hours_and_who_is_on_duty(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    page = "/app/admin/hours"
    with logged_in(server, seeded) as admin:
        assert 'data-testid="status-closed"' in admin.get(page).text
        assert "No opening hours in the next two weeks" in admin.get(page).text
        for day in range(7):  # open around the clock
            for opens, closes in (("00:00", "12:00"), ("12:00", "24:00")):
                form = {"weekday": str(day), "opens": opens, "closes": closes}
                saved(post(admin, page, "/app/admin/hours/periods", **form), page)
        assert 'data-testid="status-no-duty"' in admin.get(page).text
        bo = seeded.workers["Bo"]
        db_update(settings, StaffUser, StaffUser.id == bo.user_id, on_duty=True)
        assert 'data-testid="status-open"' in admin.get(page).text


def test_help_numbers_replace_reorder_reset_and_validate(
    server: ServerThread, seeded: Seed
) -> None:
    page = "/app/admin/help"
    with logged_in(server, seeded) as admin:
        first = admin.get(page).text
        assert 'data-testid="help-default"' in first
        assert 'href="tel:112"' in first
        rows = {
            "label": ["Jouren", "Nödnummer", "", ""],
            "number": ["+46 70-123 45 67", "112", "", ""],
            "position": ["2", "1", "3", "4"],
        }
        saved(post(admin, page, page, **rows), page)
        shown = admin.get(page).text
        current = shown.split('data-testid="help-current"', 1)[1].split("</ul>", 1)[0]
        assert current.index("Nödnummer") < current.index("Jouren")  # reordered
        assert 'href="tel:+46701234567"' in current
        assert 'data-testid="help-default"' not in shown
        chat = admin.get("/chat/demo").text
        assert 'href="tel:+46701234567"' in chat
        assert "Jouren" in chat

        bad: list[tuple[dict[str, list[str]], str]] = [
            ({"label": ["", ""], "number": ["", ""]}, "Give 1 to 10 help numbers"),
            ({"label": ["Jouren"], "number": ["ring oss"]}, "Row 1: a number is 2 to 30"),
            ({"label": ["Jouren"], "number": ["1" * 31]}, "Row 1: a number is 2 to 30"),
            ({"label": ["", "x" * 101], "number": ["", "112"]}, "Row 2: a label is 1 to 100"),
            ({"label": ["", "Jouren"], "number": ["", ""]}, "Row 2: a number"),
            ({"label": ["Jouren"], "number": ["112"], "position": ["första"]}, "whole number"),
            ({"label": ["Nr"] * 11, "number": ["112"] * 11}, "Give 1 to 10 help numbers"),
        ]
        for form, message in bad:
            response = post(admin, page, page, **form)
            refused(response, "help-error", message)
        assert "Jouren" in admin.get("/chat/demo").text  # unchanged by the refusals

        refused(post(admin, page, "/app/admin/help/reset", country="dk"), "help-error", "Sweden")
        saved(post(admin, page, "/app/admin/help/reset", country="no"), page)
        shown = admin.get(page).text
        assert 'data-testid="help-default"' in shown
        assert "The defaults for Norway." in shown
        assert 'href="tel:116123"' in shown
        assert "Jouren" not in admin.get("/chat/demo").text

        log = settings_log(admin)
        assert "area=help_numbers, change=replaced, count=2" in log
        assert "area=help_numbers, change=reset, country=no" in log


async def test_topics_guidance_and_block_time_reach_the_workers(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    with logged_in(server, seeded) as admin:
        page = "/app/admin/topics"
        text = "Skola\nFamilj\n\n  skola  \nPengar och   boende"
        saved(post(admin, page, page, topics=text), page)
        refused(
            post(admin, page, page, topics="\n \n"),
            "topics-error",
            "Give 1 to 30 topics, one per line",
        )
        refused(post(admin, page, page, topics="x" * 41), "topics-error", "at most 40")
        many = "\n".join(f"ämne {n}" for n in range(31))
        refused(
            post(admin, page, page, topics=many),
            "topics-error",
            "Give 1 to 30 topics, one per line",
        )

        risk = "/app/admin/risk"
        saved(post(admin, risk, "/app/admin/risk/guidance", guidance="Ring jouren direkt."), risk)
        refused(
            post(admin, risk, "/app/admin/risk/guidance", guidance="x" * 2001),
            "risk-error",
            "at most 2000",
        )

        blocks = "/app/admin/blocks"
        saved(post(admin, blocks, "/app/admin/blocks/hours", block_hours="48"), blocks)
        for value in ("0", "721", "ett dygn", "", "²", "-5"):
            refused(
                post(admin, blocks, "/app/admin/blocks/hours", block_hours=value),
                "blocks-error",
                "1 to 720 hours",
            )
        assert 'value="48"' in admin.get(blocks).text

    hello, _ = await staff_hello(server, settings, seeded, "Bo")
    assert hello["topics"] == ["Skola", "Familj", "Pengar och boende"]
    assert hello["risk_guidance"] == "Ring jouren direkt."
    other, _ = await staff_hello(server, settings, seeded, "Dag")  # another team: untouched
    assert "school" in other["topics"]
    assert other["risk_guidance"] != "Ring jouren direkt."

    with logged_in(server, seeded) as admin:
        saved(post(admin, "/app/admin/topics", "/app/admin/topics/reset"), "/app/admin/topics")
        saved(
            post(admin, "/app/admin/risk", "/app/admin/risk/guidance", guidance=""),
            "/app/admin/risk",
        )
        log = settings_log(admin)
    hello, _ = await staff_hello(server, settings, seeded, "Bo")
    assert "school" in hello["topics"]
    assert "call 112" in hello["risk_guidance"]
    for details in (
        "area=topics, change=replaced, count=3",
        "area=topics, change=reset",
        "area=risk_guidance, change=replaced, length=19",
        "area=risk_guidance, change=reset, length=0",
        "area=block_hours, change=changed, previous=24, hours=48",
    ):
        assert details in log, details


async def test_ready_replies_are_validated_and_reach_the_workers(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    page = "/app/admin/replies"
    with logged_in(server, seeded) as admin:
        body = "Hej! Jag heter {name} och jobbar på {team}."
        saved(post(admin, page, page, key="/Hej", body=body), page)
        saved(post(admin, page, page, key="tid_2", body="Vi svarar inom en timme."), page)
        refused(post(admin, page, page, key="hej", body="Igen"), "replies-error", "already")
        refused(
            post(admin, page, page, key="hej då", body="x"),
            "replies-error",
            "A shortcut is 1 to 32",
        )
        refused(
            post(admin, page, page, key="x" * 33, body="x"),
            "replies-error",
            "A shortcut is 1 to 32",
        )
        refused(post(admin, page, page, key="tom", body="   "), "replies-error", "1 to 2000")
        refused(
            post(admin, page, page, key="lång", body="x" * 2001),
            "replies-error",
            "A shortcut is 1 to 32",
        )
        refused(post(admin, page, page, key="lang", body="x" * 2001), "replies-error", "1 to 2000")
        refused(
            post(admin, page, page, key="namn", body="Hej {namn}!"),
            "replies-error",
            "only {name} and {team}",
        )
        found = re.findall(
            r'data-testid="reply-(\d+)">.*?name="key"[^>]*value="([^"]+)"',
            admin.get(page).text,
            re.S,
        )
        ids = {key: reply_id for reply_id, key in found}
        assert set(ids) == {"hej", "tid_2"}

    hello, _ = await staff_hello(server, settings, seeded, "Bo")
    assert hello["canned_replies"] == [
        {"key": "hej", "body": body},
        {"key": "tid_2", "body": "Vi svarar inom en timme."},
    ]
    other, _ = await staff_hello(server, settings, seeded, "Dag")
    assert other["canned_replies"] == []

    with logged_in(server, seeded) as admin:
        edit = f"/app/admin/replies/{ids['tid_2']}"
        saved(post(admin, page, edit, key="svar", body="Vi svarar snart."), page)
        taken = post(admin, page, edit, key="hej", body="Vi svarar snart.")
        refused(taken, "replies-error", "already a reply with the shortcut /hej")
        assert 'value="hej"' in taken.text.split(f'data-testid="reply-{ids["tid_2"]}"')[1]
        saved(post(admin, page, f"/app/admin/replies/{ids['hej']}/delete"), page)
        assert post(admin, page, f"/app/admin/replies/{ids['hej']}/delete").status_code == 404
        log = settings_log(admin)
    hello, _ = await staff_hello(server, settings, seeded, "Bo")
    assert hello["canned_replies"] == [{"key": "svar", "body": "Vi svarar snart."}]
    for details in (
        "area=replies, change=added, key=hej",
        "area=replies, change=edited, key=svar, previous_key=tid_2",
        "area=replies, change=deleted, key=hej",
    ):
        assert details in log, details
    assert "Vi svarar snart" not in log  # the text itself is not logged

    # Another team's admin cannot reach these replies: the same 404 as for a missing id.
    with logged_in(server, seeded, "Cecilia") as outsider:
        theirs = post(outsider, "/app/admin/replies", edit, key="x", body="kapad")
        missing = post(
            outsider, "/app/admin/replies", "/app/admin/replies/987654", key="x", body="k"
        )
        assert theirs.status_code == missing.status_code == 404
    hello, _ = await staff_hello(server, settings, seeded, "Bo")
    assert hello["canned_replies"] == [{"key": "svar", "body": "Vi svarar snart."}]


async def flagged(server: ServerThread, settings: Settings, seeded: Seed, cid: str) -> bool:
    _, listing = await staff_hello(server, settings, seeded, "Bo")
    (item,) = [c for c in listing["items"] if c["id"] == cid]
    return bool(item["flagged"])


async def test_team_risk_words_flag_conversations_until_deleted(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    text = "jag tänker mycket på glimmerlampor nu"
    before = await youth(server, text)
    assert before.conversation_id is not None
    assert not await flagged(server, settings, seeded, before.conversation_id)
    page = "/app/admin/risk"
    with logged_in(server, seeded) as admin:
        assert "None yet" in admin.get(page).text
        add = "/app/admin/risk/words"
        saved(post(admin, page, add, category="self_harm", pattern="  glimmerlamp* "), page)
        for same in ("glimmerlamp*", "GLIMMERLAMP*", "glimmerlammmp*"):  # one pattern, 3 ways
            refused(
                post(admin, page, add, category="self_harm", pattern=same),
                "risk-error",
                "already in the list",
            )
        refused(
            post(admin, page, add, category="suicide", pattern="självmord*"),
            "risk-error",
            "Lykta's own lists already contain that pattern",
        )
        for pattern in ("gl*", '"halv fras', "mitt*ord", "***", ""):
            refused(
                post(admin, page, add, category="suicide", pattern=pattern),
                "risk-error",
                "That pattern cannot be used",
            )
        refused(
            post(admin, page, add, category="weather", pattern="regn"),
            "risk-error",
            "Choose a category",
        )
        listing = admin.get(page).text
        assert "<code>glimmerlamp*</code>" in listing
        (word_id,) = re.findall(r'data-testid="risk-word-(\d+)"', listing)
    during = await youth(server, text)
    assert during.conversation_id is not None
    assert await flagged(server, settings, seeded, during.conversation_id)
    with logged_in(server, seeded) as admin:
        saved(post(admin, page, f"/app/admin/risk/words/{word_id}/delete"), page)
        log = settings_log(admin)
    after = await youth(server, text)
    assert after.conversation_id is not None
    assert not await flagged(server, settings, seeded, after.conversation_id)
    assert await flagged(server, settings, seeded, during.conversation_id)  # a flag stays
    assert "area=risk_words, change=added, category=self_harm, pattern=glimmerlamp*" in log
    assert "area=risk_words, change=deleted, category=self_harm, pattern=glimmerlamp*" in log
    for peer in (before, during, after):
        await peer.close()


async def test_lifting_a_block_lets_the_tab_start_again(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    tab = secrets.token_urlsafe(16)
    abusive = await youth(server, "spam spam", tab)
    anna = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers["Anna"]))
    await anna.connect()
    await anna.hello()
    await anna.send_frame({"type": "block", "conversation_id": abusive.conversation_id})
    await abusive.wait_for(lambda f: f.get("event") == "closed")
    await anna.close()
    retry = await youth(server, "igen", tab)
    assert retry.errors[-1]["code"] == "blocked"
    page = "/app/admin/blocks"
    with logged_in(server, seeded) as admin:
        listing = admin.get(page).text
        lift = re.search(r'action="(/app/admin/blocks/([0-9a-f]{32})/lift)"', listing)
        assert lift
        assert lift.group(2) == abusive.conversation_id
        assert "Chat 1" in listing
        saved(post(admin, page, lift.group(1)), page)
        assert "No conversation is blocked." in admin.get(page).text
        saved(post(admin, page, lift.group(1)), page)  # already lifted: nothing to do
        unknown = f"/app/admin/blocks/{secrets.token_hex(16)}/lift"
        assert post(admin, page, unknown).status_code == 404
        log = html.unescape(admin.get("/app/admin/audit").text)
    assert log.count("<code>conversation.unblocked</code>") == 1
    again = await youth(server, "förlåt", tab)
    assert again.code is not None
    assert not again.errors
    for peer in (abusive, retry, again):
        await peer.close()


def test_another_teams_admin_sees_none_of_it(server: ServerThread, seeded: Seed) -> None:
    with logged_in(server, seeded) as admin:
        post(admin, "/app/admin/replies", "/app/admin/replies", key="demohej", body="Hej demo")
        post(
            admin,
            "/app/admin/risk",
            "/app/admin/risk/words",
            category="abuse",
            pattern="demoordet",
        )
        form = {"weekday": "2", "opens": "13:37", "closes": "14:00"}
        post(admin, "/app/admin/hours", "/app/admin/hours/periods", **form)
    with logged_in(server, seeded, "Cecilia") as outsider:
        for path in PAGES:
            text = outsider.get(path).text
            assert "demohej" not in text
            assert "demoordet" not in text
            assert "13:37" not in text
