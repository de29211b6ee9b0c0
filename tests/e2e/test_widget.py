"""The embeddable widget in Chromium: a municipality's page on another origin carries the one
line from the admin page; its button opens the team's chat in a frame the page cannot read,
a young person chats in it and a worker gets the message; a site the team did not name gets
no chat; quick exit inside the frame takes the whole tab away from the host page.

The host pages are served as ``http://localhost:<port>`` while Lykta is
``http://127.0.0.1:<port>``: another site, not only another origin, so the frame is a
third-party frame with partitioned storage, as on a real municipal site."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from tests.e2e.conftest import Server, Totp, log_in

# What this checks (the frame, its headers and the launcher) is the same on SQLite and on
# PostgreSQL + Redis: CI runs it once.
pytestmark = pytest.mark.one_backend

TEAM = "widget"
TEAM_NAME = "Fältgruppen Widget"
CODE_RE = re.compile(r"^[A-Z0-9]{4}(?: [A-Z0-9]{4})+$")


class Site:
    """Another site on a port of its own: a few fixed pages, each with its own headers."""

    def __init__(self, host: str = "localhost") -> None:
        self.pages: dict[str, tuple[str, dict[str, str]]] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, headers = pages.get(self.path.split("?")[0], ("", {}))
                self.send_response(200 if body else 404)
                self.send_header("content-type", "text/html; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Setup:
    host: Site
    """Named in the team's list of sites that may embed the chat; another site than Lykta."""
    neighbour: Site
    """Also named; on Lykta's own site (127.0.0.1), another port."""
    stranger: Site
    """Not named: the same page on another port."""
    exit_url: str
    snippet: str
    staff: dict[str, Any]
    """The team admin's logged-in browser state (the admin also answers chats)."""


def _host_page(server_url: str, snippet: str) -> tuple[str, dict[str, str]]:
    """A municipality's page with the line from the admin page, under a strict CSP of its
    own that allows Lykta's script and frame and nothing inline."""
    csp = f"default-src 'none'; script-src {server_url}; frame-src {server_url}; style-src 'self'"
    body = (
        '<!doctype html><html lang="en"><title>Kommunen</title><h1>Kommunen</h1>'
        f'<p><a href="/about">About the municipality</a></p>{snippet}'
    )
    return body, {"content-security-policy": csp}


def _create_admin(server: Server) -> tuple[str, str, Totp]:
    run = server.lykta
    run("team", "create", TEAM, "--name", TEAM_NAME, "--locale", "en")
    user = ["user", "create", "--team", TEAM, "--email", "admin@widget.example"]
    created = json.loads(run(*user, "--role", "admin", "--json"))
    totp = Totp(pyotp.parse_uri(created["totp_uri"]).secret)
    return created["email"], created["password"], totp


@pytest.fixture(scope="module")
def setup(server: Server, chromium: Browser) -> Iterator[Setup]:
    """Team ``widget`` and its admin, who names the host site and a quick exit page and
    copies the line for the site from the privacy page."""
    host, neighbour, stranger = Site(), Site("127.0.0.1"), Site()
    exit_site = Site("127.0.0.1")
    exit_site.pages["/exit"] = ("<!doctype html><title>SMHI</title><p>Sol och moln</p>", {})
    email, password, totp = _create_admin(server)
    context = chromium.new_context(base_url=server.url, locale="en-US")
    try:
        admin = context.new_page()
        log_in(admin, totp, email, password)
        admin.goto("/app/admin/privacy")
        admin.get_by_label("Quick exit leads to").fill(f"{exit_site.origin}/exit")
        admin.get_by_label("Sites that may show the chat in a frame").fill(
            f"{host.origin}\n{neighbour.origin}"
        )
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_test_id("privacy-saved")).to_be_visible()
        snippet = admin.get_by_test_id("widget-snippet").inner_text()
        for site in (host, neighbour, stranger):
            site.pages["/"] = _host_page(server.url, snippet)
        frame = f'<iframe src="{server.url}/chat/{TEAM}?lang=en" title="Chat"></iframe>'
        host.pages["/framed"] = (f"<!doctype html><title>Kommunen</title>{frame}", {})
        staff = dict(context.storage_state())
        yield Setup(host, neighbour, stranger, f"{exit_site.origin}/exit", snippet, staff)
    finally:
        context.close()
        for site in (host, neighbour, stranger, exit_site):
            site.close()


def launcher(page: Page) -> Locator:
    return page.get_by_role("button", name="Chat with us")


def panel(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Anonymous chat")


def open_chat(page: Page, url: str) -> Any:
    """The host page with the widget opened: the chat in its frame (a FrameLocator)."""
    page.goto(url)
    launcher(page).click()
    expect(panel(page)).to_be_visible()
    return page.frame_locator("lykta-widget iframe")


def start(chat: Any) -> None:
    chat.get_by_test_id("start").click()
    expect(chat.get_by_test_id("resume-code")).to_have_text(CODE_RE)


def chat_frame(page: Page, server: Server) -> Any:
    (frame,) = [f for f in page.frames if f.url.startswith(f"{server.url}/chat/")]
    return frame


@pytest.mark.e2e
def test_the_widget_opens_the_chat_in_a_frame_the_host_cannot_read(
    setup: Setup, server: Server, new_page: Callable[..., Page], ui: Any
) -> None:
    assert setup.snippet == (
        f'<script src="{server.url}/widget.js" data-team="{TEAM}" '
        'referrerpolicy="no-referrer" async></script>'
    )
    staff = new_page("/app", width=1280, height=800, storage_state=setup.staff)
    expect(staff.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
    before = ui.conversation_ids(staff)

    youth = new_page(None, width=1280, height=800)
    youth.goto(setup.host.origin + "/")
    button = launcher(youth)
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["width"] >= 44
    # Nothing of the chat is loaded until the young person asks for it.
    assert youth.locator("lykta-widget iframe").count() == 0

    # Keyboard: Tab reaches the button after the page's own link; Enter opens the chat.
    youth.keyboard.press("Tab")
    youth.keyboard.press("Tab")
    expect(button).to_be_focused()
    youth.keyboard.press("Enter")
    expect(panel(youth)).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    frame_el = youth.locator("lykta-widget iframe")
    expect(frame_el).to_have_attribute("src", f"{server.url}/chat/{TEAM}?embed=1&lang=en")
    expect(frame_el).to_have_attribute("referrerpolicy", "no-referrer")
    expect(frame_el).to_have_attribute("title", "Anonymous chat")
    assert frame_el.get_attribute("sandbox") is None  # the chat needs its own origin
    # Docked beside the page on a large screen.
    docked = panel(youth).bounding_box()
    assert docked is not None
    assert docked["width"] == 400
    assert docked["x"] + docked["width"] == 1280 - 16

    chat = youth.frame_locator("lykta-widget iframe")
    expect(chat.get_by_test_id("team-name")).to_have_text(TEAM_NAME)
    start(chat)
    box_in = chat.get_by_test_id("composer-input")
    box_in.fill("hej från kommunens webbplats")
    box_in.press("Enter")
    mine = chat.get_by_test_id("message").filter(has_text="hej från kommunens webbplats")
    expect(mine.get_by_test_id("msg-status")).to_have_text("Sent")
    code = chat.get_by_test_id("resume-code").inner_text()

    # The worker gets it, live.
    item = ui.new_conversation(staff, before)
    item.click()
    expect(ui.message(staff, "hej från kommunens webbplats")).to_contain_text("Young person")

    # The host page's script cannot read the chat; the chat never learnt the host's address.
    seen = youth.evaluate(
        """() => {
          const f = document.querySelector('lykta-widget').shadowRoot.querySelector('iframe');
          try { return ['read', f.contentWindow.document.body.innerText]; }
          catch (e) { return [e.name, f.contentDocument]; }
        }"""
    )
    assert seen == ["SecurityError", None]
    assert chat_frame(youth, server).evaluate("document.referrer") == ""

    # Esc in the chat hides it and gives focus back to the button; the chat goes on.
    youth.keyboard.press("Escape")
    expect(panel(youth)).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    youth.keyboard.press("Enter")
    expect(mine).to_be_visible()
    # The panel's own button hides it too.
    youth.get_by_role("button", name="Hide the chat").click()
    expect(panel(youth)).to_be_hidden()
    expect(button).to_be_focused()

    # Chromium refuses storage to a frame of another site: "Remember me" cannot work there
    # and is not offered; after a reload the code continues the chat, in the frame.
    expect(chat.get_by_test_id("remember")).to_be_hidden()
    chat = open_chat(youth, setup.host.origin + "/")
    chat.get_by_test_id("resume-input").fill(code)
    chat.get_by_test_id("resume-submit").click()
    expect(chat.get_by_test_id("resume-code")).to_have_text(code)
    expect(
        chat.get_by_test_id("message").filter(has_text="hej från kommunens webbplats")
    ).to_be_visible()

    # On a phone the panel fills the screen.
    youth.set_viewport_size({"width": 360, "height": 640})
    assert panel(youth).bounding_box() == {"x": 0, "y": 0, "width": 360, "height": 640}


@pytest.mark.e2e
def test_the_chat_in_the_widget_resumes_after_a_reload_where_storage_is_allowed(
    setup: Setup, new_page: Callable[..., Page]
) -> None:
    # The frame keeps this tab's state where the browser lets it store (here a site on
    # Lykta's own site; other browsers partition storage per host site).
    youth = new_page(None)
    chat = open_chat(youth, setup.neighbour.origin + "/")
    start(chat)
    code = chat.get_by_test_id("resume-code").inner_text()
    expect(chat.get_by_test_id("remember")).to_be_visible()
    chat.get_by_test_id("composer-input").fill("kommer jag tillbaka?")
    chat.get_by_test_id("composer-input").press("Enter")
    sent = chat.get_by_test_id("message").filter(has_text="kommer jag tillbaka?")
    expect(sent.get_by_test_id("msg-status")).to_have_text("Sent")

    youth.reload()
    launcher(youth).click()
    expect(chat.get_by_test_id("resume-code")).to_have_text(code)
    expect(sent).to_be_visible()


@pytest.fixture
def own_context(chromium: Browser, server: Server) -> Iterator[BrowserContext]:
    """A context of the test's own: refusing the frame logs a CSP report in the console,
    which the shared ``new_page`` fixture counts as a failure."""
    context = chromium.new_context(base_url=server.url, locale="en-US")
    yield context
    context.close()


@pytest.mark.e2e
def test_a_site_the_team_did_not_name_gets_no_chat(
    setup: Setup, own_context: BrowserContext, server: Server
) -> None:
    page = own_context.new_page()
    page.goto(setup.stranger.origin + "/")
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        launcher(page).click()
    expect(panel(page)).to_be_visible()
    (frame,) = page.main_frame.child_frames
    assert not frame.url.startswith(f"{server.url}/chat/")  # Chromium's error page instead
    assert frame.locator("[data-testid=start]").count() == 0


@pytest.mark.e2e
def test_quick_exit_in_the_frame_leaves_the_host_page(
    setup: Setup, new_page: Callable[..., Page]
) -> None:
    youth = new_page(None, width=1280, height=800)
    chat = open_chat(youth, setup.host.origin + "/")
    start(chat)
    length = youth.evaluate("history.length")
    chat.get_by_test_id("quick-exit").click()
    youth.wait_for_url(setup.exit_url)
    expect(youth.get_by_text("Sol och moln")).to_be_visible()
    assert youth.evaluate("history.length") == length  # replaced: Back skips the host page
    # Nothing of the chat stayed in the frame's storage.
    chat = open_chat(youth, setup.host.origin + "/")
    expect(chat.get_by_test_id("start")).to_be_visible()
    expect(chat.get_by_test_id("chat")).to_be_hidden()


@pytest.mark.e2e
def test_escape_twice_in_the_widget_leaves_the_host_page(
    setup: Setup, new_page: Callable[..., Page]
) -> None:
    youth = new_page(None, width=360, height=640)
    chat = open_chat(youth, setup.host.origin + "/")
    start(chat)
    chat.get_by_test_id("composer-input").click()
    # The first Esc hides the chat at once; the second, on the widget's button, leaves.
    youth.keyboard.press("Escape")
    youth.keyboard.press("Escape")
    youth.wait_for_url(setup.exit_url)
    chat = open_chat(youth, setup.host.origin + "/")
    expect(chat.get_by_test_id("start")).to_be_visible()


@pytest.mark.e2e
def test_quick_exit_leaves_a_site_that_frames_the_chat_itself(
    setup: Setup, new_page: Callable[..., Page]
) -> None:
    youth = new_page(None, width=1280, height=800)
    youth.goto(setup.host.origin + "/framed")
    chat = youth.frame_locator("iframe")
    start(chat)
    chat.get_by_test_id("quick-exit").click()
    youth.wait_for_url(setup.exit_url)
