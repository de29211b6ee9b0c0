"""A team's privacy settings for the young person's page, through the real app: quick exit
destination, neutral title and icon, and the sites allowed to show the chat in a frame."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.integration.staff_helpers import browser
from tests.support.server import Seed, ServerThread, csrf_of, http_login

PAGE = "/app/admin/privacy"
DEFAULT_EXIT = "https://www.smhi.se/"
EMPTY = {"quick_exit_url": "", "neutral_title": "", "neutral_icon": "", "embed_origins": ""}
HIDDEN = {
    "quick_exit_url": "https://www.expressen.se/sport/",
    "neutral_title": "Väder",
    "neutral_icon": "weather",
    "embed_origins": "https://www.molndal.se/\nhttp://127.0.0.1:5173\nhttps://www.molndal.se",
}


@contextmanager
def logged_in(server: ServerThread, seeded: Seed, name: str = "Anna") -> Iterator[httpx.Client]:
    with browser(server) as client:
        client.headers["accept-language"] = "en"
        assert http_login(client, seeded.workers[name]).status_code == 303
        yield client


def save(client: httpx.Client, **form: str) -> httpx.Response:
    csrf = csrf_of(client.get("/app/profile").text)
    return client.post(PAGE, data={**EMPTY, **form, "csrf": csrf})


def saved(response: httpx.Response) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{PAGE}?saved=1"


def refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    shown = re.search(r'data-testid="privacy-error">([^<]*)<', response.text)
    assert shown, "no privacy-error on the page"
    assert message in html.unescape(shown.group(1)), shown.group(1)


def audit_log(client: httpx.Client) -> list[str]:
    page = client.get("/app/admin/audit", params={"action": "settings."}).text
    return [html.unescape(d) for d in re.findall(r"<td>(area=privacy[^<]*)</td>", page)]


class ChatPage:
    """What a visitor's browser gets for ``/chat/<slug>``."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200
        self.headers = response.headers
        self.text = response.text
        found = re.search(r'<script type="application/json" id="lykta-config">([^<]*)<', self.text)
        assert found
        self.config = json.loads(html.unescape(found.group(1)))

    @property
    def title(self) -> str:
        found = re.search(r"<title>([^<]*)</title>", self.text)
        assert found
        return html.unescape(found.group(1))

    @property
    def icon(self) -> str:
        (icon,) = re.findall(r'<link rel="icon" href="([^"]*)"', self.text)
        return html.unescape(icon)

    @property
    def exit_link(self) -> str:
        found = re.search(r'href="([^"]*)"[^>]*data-testid="quick-exit"', self.text)
        assert found
        return html.unescape(found.group(1))

    @property
    def frame_ancestors(self) -> str:
        csp = self.headers.get_list("content-security-policy")
        assert len(csp) == 1
        directives = dict(d.strip().split(" ", 1) for d in csp[0].split(";"))
        return directives["frame-ancestors"]

    @property
    def frame_options(self) -> list[str]:
        return self.headers.get_list("x-frame-options")


def chat(client: httpx.Client, slug: str = "demo") -> ChatPage:
    return ChatPage(client.get(f"/chat/{slug}"))


def assert_plain(page: ChatPage, team_name: str) -> None:
    assert page.title == f"{team_name} · Lykta"
    assert page.icon == "data:,"
    assert page.exit_link == page.config["quick_exit_url"] == DEFAULT_EXIT
    assert page.frame_ancestors == "'none'"
    assert page.frame_options == ["DENY"]


def test_only_admins_open_and_save_the_privacy_settings(server: ServerThread, seeded: Seed) -> None:
    with logged_in(server, seeded) as admin:
        assert admin.get(PAGE).status_code == 200
        assert f'href="{PAGE}"' in admin.get("/app/profile").text
        no_csrf = admin.post(PAGE, data=HIDDEN)
        assert no_csrf.status_code == 403
    with logged_in(server, seeded, "Bo") as worker:
        assert worker.get(PAGE).status_code == 403
        assert f'href="{PAGE}"' not in worker.get("/app/profile").text
        assert save(worker, **HIDDEN).status_code == 403
    with browser(server) as anonymous:
        assert_plain(chat(anonymous), "Fältgruppen Demo")  # nothing was stored
    with logged_in(server, seeded) as admin:
        assert audit_log(admin) == []


def test_each_setting_is_saved_audited_and_shown_on_the_chat_page(
    server: ServerThread, seeded: Seed
) -> None:
    with logged_in(server, seeded) as admin:
        saved(save(admin, quick_exit_url=" https://www.yr.no/ "))
        saved(save(admin, quick_exit_url="https://www.yr.no/", neutral_title=" Väder  idag "))
        keep = {"quick_exit_url": "https://www.yr.no/", "neutral_title": "Väder idag"}
        saved(save(admin, **keep, neutral_icon="notes"))
        saved(save(admin, **keep, neutral_icon="notes", embed_origins=HIDDEN["embed_origins"]))
        saved(save(admin, **keep, neutral_icon="notes", embed_origins=HIDDEN["embed_origins"]))

        form = admin.get(f"{PAGE}?saved=1").text
        assert 'data-testid="privacy-saved"' in form
        assert 'value="https://www.yr.no/"' in form
        assert 'value="Väder idag"' in form
        assert re.search(r'value="notes" data-testid="icon-notes" checked', form)
        assert ">https://www.molndal.se\nhttp://127.0.0.1:5173</textarea>" in form

        assert audit_log(admin) == [  # newest first; saving the same again is no change
            "area=privacy, change=changed, fields=embed_origins, origins=2",
            "area=privacy, change=changed, fields=neutral_icon, origins=0",
            "area=privacy, change=changed, fields=neutral_title, origins=0",
            "area=privacy, change=changed, fields=quick_exit_url, origins=0",
        ]

    with browser(server) as visitor:
        page = chat(visitor)
        assert page.title == "Väder idag"
        assert re.fullmatch(r"/static/icons/notes\.svg\?v=[0-9a-f]{10}", page.icon)
        assert page.exit_link == page.config["quick_exit_url"] == "https://www.yr.no/"
        assert page.frame_ancestors == "https://www.molndal.se http://127.0.0.1:5173"
        assert page.frame_options == []
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "Fältgruppen Demo · Lykta" not in page.text
        assert 'data-testid="team-name">Fältgruppen Demo<' in page.text  # the page itself
        icon = visitor.get(page.icon)
        assert icon.status_code == 200
        assert icon.headers["content-type"] == "image/svg+xml"
        assert icon.content.startswith(b"<svg")
        # HEAD (a link checker) gets the same headers.
        head = visitor.head("/chat/demo")
        assert head.headers["content-security-policy"] == page.headers["content-security-policy"]
        assert "x-frame-options" not in head.headers

    with logged_in(server, seeded) as admin:  # all back to the defaults
        saved(save(admin, **EMPTY))
        assert audit_log(admin)[0] == (
            "area=privacy, change=changed, "
            "fields=quick_exit_url,neutral_title,neutral_icon,embed_origins, origins=0"
        )
    with browser(server) as visitor:
        assert_plain(chat(visitor), "Fältgruppen Demo")


def test_every_other_response_still_refuses_frames(server: ServerThread, seeded: Seed) -> None:
    with logged_in(server, seeded) as admin:
        saved(save(admin, embed_origins="https://www.molndal.se"))
        paths = ["/", "/app/login", PAGE, "/app/admin/settings", "/chat/nosuchteam"]
        paths += ["/chat/other", "/static/chat.js", "/static/icons/news.svg", "/healthz"]
        for path in paths:
            response = admin.get(path)
            csp = response.headers.get_list("content-security-policy")
            assert len(csp) == 1, path
            assert csp[0].endswith("frame-ancestors 'none'"), path
            assert response.headers.get_list("x-frame-options") == ["DENY"], path
        assert chat(admin).frame_ancestors == "https://www.molndal.se"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"quick_exit_url": "http://www.smhi.se/"}, "starting with https://"),
        ({"quick_exit_url": "www.smhi.se"}, "starting with https://"),
        ({"quick_exit_url": "javascript:alert(1)"}, "starting with https://"),
        ({"quick_exit_url": "https://anna:hemligt@www.smhi.se/"}, "name or password"),
        ({"quick_exit_url": "https://www.smhi.se/" + "x" * 481}, "at most 500 characters"),
        ({"quick_exit_url": "OWN/chat/demo"}, "another site"),
        ({"neutral_title": "V" * 61}, "at most 60 characters"),
        ({"neutral_title": "Väder\u202e"}, "at most 60 characters"),
        ({"neutral_icon": "skull"}, "icons offered"),
        ({"embed_origins": "https://www.molndal.se/chatt"}, "not a site's address"),
        ({"embed_origins": "http://www.molndal.se"}, "not a site's address"),
        ({"embed_origins": "https://ok.example\nhttps://*.molndal.se"}, "not a site's address"),
        ({"embed_origins": "https://www.molndal.se; script-src *"}, "not a site's address"),
        ({"embed_origins": "'self'"}, "not a site's address"),
        (
            {"embed_origins": "\n".join(f"https://s{i}.example" for i in range(21))},
            "at most 20 sites",
        ),
    ],
)
def test_bad_values_are_refused_with_the_reason_and_change_nothing(
    server: ServerThread, seeded: Seed, form: dict[str, str], message: str
) -> None:
    typed = {k: v.replace("OWN", server.http) for k, v in form.items()}
    with logged_in(server, seeded) as admin:
        saved(save(admin, **HIDDEN))
        before = chat(admin)
        response = save(admin, **{**HIDDEN, **typed})
        refused(response, message)
        for name, value in typed.items():  # the form keeps what was typed
            if name != "neutral_icon":
                assert value in html.unescape(response.text)
        after = chat(admin)
        assert (after.title, after.icon, after.config) == (before.title, before.icon, before.config)
        assert after.headers["content-security-policy"] == before.headers["content-security-policy"]
        assert len(audit_log(admin)) == 1


def test_a_teams_settings_are_its_own(server: ServerThread, seeded: Seed) -> None:
    with logged_in(server, seeded, "Cecilia") as other_admin:
        saved(save(other_admin, **HIDDEN))
        assert audit_log(other_admin) != []
    with logged_in(server, seeded) as admin:
        form = admin.get(PAGE).text
        assert "expressen" not in form
        assert re.search(r'<textarea id="embed_origins"[^>]*></textarea>', form)
        assert 'value="weather" data-testid="icon-weather" checked' not in form
        assert audit_log(admin) == []  # nothing in team demo's log
        saved(save(admin, neutral_title="Anteckningar", neutral_icon="notes"))
    with browser(server) as visitor:
        other = chat(visitor, "other")
        assert other.title == "Väder"
        assert other.frame_ancestors == "https://www.molndal.se http://127.0.0.1:5173"
        assert other.config["quick_exit_url"] == "https://www.expressen.se/sport/"
        demo = chat(visitor)
        assert demo.title == "Anteckningar"
        assert "notes.svg" in demo.icon
        assert demo.config["quick_exit_url"] == DEFAULT_EXIT
        assert demo.frame_ancestors == "'none'"
        assert demo.frame_options == ["DENY"]
    with logged_in(server, seeded, "Cecilia") as other_admin:  # Anna's change did not reach
        assert 'value="Väder"' in other_admin.get(PAGE).text
        assert len(audit_log(other_admin)) == 1


def test_the_chat_page_keeps_nothing_about_the_embedding_page(
    server: ServerThread, seeded: Seed, caplog: pytest.LogCaptureFixture
) -> None:
    with logged_in(server, seeded) as admin:
        saved(save(admin, embed_origins="https://www.molndal.se"))
        entries = len(audit_log(admin))
    headers: dict[str, Any] = {
        "referer": "https://www.molndal.se/stod/ung?elev=Kalle",
        "sec-fetch-dest": "iframe",
        "sec-fetch-site": "cross-site",
    }
    caplog.set_level(logging.DEBUG)
    with browser(server) as visitor:
        page = ChatPage(visitor.get("/chat/demo", headers=headers))
        assert "Kalle" not in page.text
        assert "set-cookie" not in page.headers
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert server_side  # the server's own log lines were captured
    assert not [r for r in server_side if "molndal" in r.getMessage()]
    with logged_in(server, seeded) as admin:
        assert len(audit_log(admin)) == entries
