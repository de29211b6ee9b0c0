"""A team's privacy settings in Chromium: the admin sets them through the form; the chat
page then has the neutral title and icon, quick exit leaves for the team's own page (and
Back does not return), and only the sites the team named can show the chat in a frame."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from tests.e2e.conftest import Server, Totp, log_in

# What this shows happens in the browser, whatever the database or broker: CI runs it
# in the SQLite run only.
pytestmark = pytest.mark.one_backend

TEAM = "gomd"
TEAM_NAME = "Fältgruppen Gömd"
TITLE = "Väder"


class Site:
    """Another site on a port of its own: a few fixed pages over plain http on 127.0.0.1."""

    def __init__(self, pages: dict[str, str]) -> None:
        site_pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site_pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "").encode())

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.pages = pages
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Setup:
    exit_site: Site
    embedding: Site
    """Named in the team's list of sites that may embed the chat."""
    stranger: Site
    """Not named: the same page on another port (another origin)."""


def _embedding_page(server_url: str) -> dict[str, str]:
    frame = f'<iframe src="{server_url}/chat/{TEAM}?lang=en" width="360" height="640"></iframe>'
    return {"/": f"<!doctype html><title>Host</title><h1>Kommunen</h1>{frame}"}


def _create_admin(server: Server) -> tuple[str, str, Totp]:
    run = server.lykta
    run("team", "create", TEAM, "--name", TEAM_NAME)
    email = "admin@gomd.example"
    created = json.loads(
        run("user", "create", "--team", TEAM, "--email", email, "--role", "admin", "--json")
    )
    totp = Totp(pyotp.parse_uri(created["totp_uri"]).secret)
    return created["email"], created["password"], totp


@pytest.fixture(scope="module")
def setup(server: Server, chromium: Browser) -> Iterator[Setup]:
    """Team ``gomd``, its admin, and its privacy settings saved through the admin's form."""
    exit_site = Site({"/exit": "<!doctype html><title>SMHI</title><p>Sol och moln</p>"})
    before = "<!doctype html><title>Start</title><p>Startsidan</p>"
    exit_site.pages["/before"] = before
    embedding, stranger = Site(_embedding_page(server.url)), Site(_embedding_page(server.url))
    email, password, totp = _create_admin(server)
    context = chromium.new_context(base_url=server.url, locale="en-US")
    try:
        admin = context.new_page()
        log_in(admin, totp, email, password)
        admin.goto("/app/admin/settings")
        admin.get_by_test_id("nav-privacy").click()
        admin.get_by_label("Quick exit leads to").fill(f"{exit_site.origin}/exit")
        admin.get_by_label("Neutral page title").fill(TITLE)
        admin.get_by_test_id("icon-weather").check()
        admin.get_by_label("Sites that may show the chat in a frame").fill(
            f"{embedding.origin}\nhttps://www.molndal.se"
        )
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_test_id("privacy-saved")).to_be_visible()
        expect(admin.get_by_label("Neutral page title")).to_have_value(TITLE)
        yield Setup(exit_site, embedding, stranger)
    finally:
        context.close()
        for site in (exit_site, embedding, stranger):
            site.close()


@pytest.fixture
def browser_context(chromium: Browser, server: Server) -> Iterator[BrowserContext]:
    """A context of the test's own: the framing test expects a CSP report in the console,
    which the shared ``new_page`` fixture counts as a failure."""
    context = chromium.new_context(base_url=server.url, locale="en-US")
    yield context
    context.close()


@pytest.mark.e2e
def test_the_tab_shows_the_neutral_title_and_icon(setup: Setup, new_page, ui) -> None:
    page = new_page(f"/chat/{TEAM}")
    expect(page).to_have_title(TITLE)
    expect(page.get_by_test_id("team-name")).to_have_text(TEAM_NAME)  # on the page, not the tab
    icon = page.locator("link[rel=icon]")
    expect(icon).to_have_count(1)
    href = icon.get_attribute("href")
    assert href is not None
    assert re.fullmatch(r"/static/icons/weather\.svg\?v=[0-9a-f]{10}", href)
    served = page.evaluate(
        "async (url) => { const r = await fetch(url); "
        "return [r.status, r.headers.get('content-type'), (await r.text()).slice(0, 4)]; }",
        href,
    )
    assert served == [200, "image/svg+xml", "<svg"]
    # Chatting does not bring the team's name back into the tab.
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    assert page.title() == TITLE

    # Another team's page is unaffected.
    demo = new_page(f"/chat/{ui.team}")
    assert TITLE not in demo.title()
    assert demo.locator("link[rel=icon]").get_attribute("href") == "data:,"


@pytest.mark.e2e
def test_quick_exit_leaves_for_the_teams_page_and_back_skips_the_chat(
    setup: Setup, new_page, ui
) -> None:
    exit_url = f"{setup.exit_site.origin}/exit"
    page = new_page(f"{setup.exit_site.origin}/before")
    page.goto(f"/chat/{TEAM}")
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    ui.send(page, "ingen får se det här")
    expect(ui.message(page, "ingen får se det här").get_by_test_id("msg-status")).to_have_text(
        "Sent"
    )
    length = page.evaluate("history.length")

    page.get_by_test_id("quick-exit").click()
    page.wait_for_url(exit_url)
    expect(page.get_by_text("Sol och moln")).to_be_visible()
    assert page.evaluate("history.length") == length

    page.go_back()
    page.wait_for_url(f"{setup.exit_site.origin}/before")
    expect(page.get_by_text("Startsidan")).to_be_visible()
    page.go_forward()
    page.wait_for_url(exit_url)

    # Esc twice leads to the same place.
    again = new_page(f"/chat/{TEAM}")
    again.keyboard.press("Escape")
    again.keyboard.press("Escape")
    again.wait_for_url(exit_url)


def _frame_refusals(page: Page) -> list[str]:
    found: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "frame-ancestors" in message.text:
            found.append(message.text)

    page.on("console", seen)
    return found


@pytest.mark.e2e
def test_only_a_named_site_can_show_the_chat_in_a_frame(
    setup: Setup, browser_context: BrowserContext, server: Server, ui
) -> None:
    allowed = browser_context.new_page()
    refusals = _frame_refusals(allowed)
    allowed.goto(setup.embedding.origin + "/")
    chat = allowed.frame_locator("iframe")
    expect(chat.get_by_test_id("team-name")).to_have_text(TEAM_NAME)
    # It works in the frame: a conversation starts and a message is sent.
    chat.get_by_test_id("start").click()
    expect(chat.get_by_test_id("resume-code")).to_have_text(ui.code_re)
    chat.get_by_test_id("composer-input").fill("hej från kommunens sida")
    chat.get_by_test_id("composer-input").press("Enter")
    expect(chat.get_by_test_id("message").get_by_text("hej från kommunens sida")).to_be_visible()
    assert refusals == []

    blocked = browser_context.new_page()
    refusals = _frame_refusals(blocked)
    with blocked.expect_console_message(lambda m: "frame-ancestors" in m.text):
        blocked.goto(setup.stranger.origin + "/")
    expect(blocked.get_by_role("heading", name="Kommunen")).to_be_visible()
    (frame,) = blocked.main_frame.child_frames
    assert not frame.url.startswith(server.url)  # Chromium shows its error page instead
    assert frame.locator("[data-testid=team-name]").count() == 0
    assert refusals

    # Another team names no sites at all: no one may show its page in a frame.
    other = browser_context.new_page()
    other.goto(setup.embedding.origin + "/")
    with other.expect_console_message(lambda m: "frame-ancestors 'none'" in m.text):
        other.set_content(f'<iframe src="{server.url}/chat/{ui.team}"></iframe>')
    (frame,) = other.main_frame.child_frames
    assert frame.locator("[data-testid=team-name]").count() == 0
