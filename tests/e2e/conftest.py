"""Browser tests: a real server (``lykta demo``) and Chromium driven by Playwright.

The browser is the one in ``LYKTA_CHROMIUM``, else Debian's ``/usr/bin/chromium``, else
Playwright's own (``playwright install chromium``). Without any, the tests are skipped
with a note — unless ``LYKTA_REQUIRE_E2E=1`` (set by CI), which makes that a failure.
``LYKTA_SKIP_E2E=1`` skips them on purpose.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    WebSocketRoute,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests.support.server import database_for, redis_for

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEAM = "demo"
WORKER_EMAIL = "worker@demo.example"
WORKER_PASSWORD = "e2e-correct-horse-battery"
WORKER_NAME = "Anna"
COLLEAGUE_EMAIL = "bo@demo.example"
COLLEAGUE_NAME = "Bo"
CODE_RE = re.compile(r"^[A-Z0-9]{4}(?: [A-Z0-9]{4})+$")
# The admin pages, as _staff_nav.html lists them.
ADMIN_PAGES = (
    "members",
    "settings",
    "privacy",
    "hours",
    "help",
    "topics",
    "replies",
    "risk",
    "retention",
    "blocks",
    "audit",
)

expect.set_options(timeout=10_000)
STAFF_SOCKET = re.compile(r"/ws/staff$")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests after all others. While Playwright's sync API is alive it keeps
    an asyncio loop marked as running in the main thread, which breaks ``asyncio.run`` in
    any test that would come after it in the same session."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def _skip_requested() -> bool:
    return os.environ.get("LYKTA_SKIP_E2E") == "1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    settings: dict[str, str]
    """The server's own ``LYKTA_*`` settings: where its data is (on PostgreSQL and Redis
    when the suite runs there), for the operator's CLI and for ``sql``."""

    def cli_env(self) -> dict[str, str]:
        """The environment of a ``lykta`` command run against this server's data."""
        return {
            **os.environ,
            **self.settings,
            "LYKTA_ARGON2_TIME_COST": "1",
            "LYKTA_ARGON2_MEMORY_COST": "1024",
        }

    def lykta(self, *args: str) -> str:
        """Run the operator's CLI on this server's data; its standard output."""
        command = [sys.executable, "-m", "lykta", *args]
        env = self.cli_env()
        done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        return done.stdout.decode()

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run one SQL statement on the server's database (SQLite or PostgreSQL) and return
        its rows. In a thread of its own: Playwright's sync API keeps this thread's asyncio
        loop marked as running."""
        url = self.settings.get("LYKTA_DATABASE_URL") or (
            f"sqlite+aiosqlite:///{self.data_dir / 'lykta.db'}"
        )
        result: list[Any] = []
        errors: list[BaseException] = []

        async def run() -> None:
            engine = create_async_engine(url)
            try:
                async with engine.begin() as connection:
                    rows = await connection.execute(text(statement), params)
                    if rows.returns_rows:
                        result.extend(tuple(row) for row in rows)
            finally:
                await engine.dispose()

        def work() -> None:
            try:
                asyncio.run(run())
            except BaseException as error:  # handed to the calling thread
                errors.append(error)

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
        return result


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``lykta demo`` on a free port with a fresh data directory."""
    if _skip_requested():
        pytest.skip("LYKTA_SKIP_E2E=1")
    data_dir = tmp_path_factory.mktemp("lykta-e2e")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = {"LYKTA_DATA_DIR": str(data_dir)}
    database_url = database_for(data_dir)  # PostgreSQL and Redis when the suite runs there
    if database_url:
        settings["LYKTA_DATABASE_URL"] = database_url
    redis_url, redis_prefix = redis_for(data_dir)
    if redis_url:
        settings.update(LYKTA_REDIS_URL=redis_url, LYKTA_REDIS_PREFIX=redis_prefix)
    env = {
        **os.environ,
        **settings,
        "LYKTA_DEMO_PASSWORD": WORKER_PASSWORD,
        "LYKTA_ARGON2_TIME_COST": "1",
        "LYKTA_ARGON2_MEMORY_COST": "1024",
        # Every young person in these tests comes from one address, many per second;
        # the real limits are tested in tests/integration/test_rate_limits.py.
        "LYKTA_RATE_LIMIT_SCALE": "100",
        # Pushes go to the test suite's own push service on this machine, over plain http.
        "LYKTA_PUSH_ALLOW_INSECURE_LOCALHOST": "true",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lykta", "demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not _healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = log_path.read_text(errors="replace")
                    pytest.fail("the server did not start:\n" + output)
                time.sleep(0.1)
            yield Server(url, data_dir, settings)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def add_ready_reply(server: Server, team: str, key: str, body: str) -> None:
    """A ready reply straight into the team's list (the demo server's own database)."""
    server.sql(
        "INSERT INTO canned_replies (team_id, key, body) "
        "SELECT id, :key, :body FROM teams WHERE slug = :team ON CONFLICT DO NOTHING",
        key=key,
        body=body,
        team=team,
    )


def set_duty(page: Page, on: bool) -> None:
    """The worker app's duty switch, on or off (whichever it was)."""
    duty = page.get_by_test_id("duty")
    expect(duty).to_have_attribute("aria-checked", re.compile("^(true|false)$"))
    if (duty.get_attribute("aria-checked") == "true") != on:
        duty.click()
    expect(duty).to_have_attribute("aria-checked", "true" if on else "false")


@pytest.fixture(scope="session")
def server_url(server: Server) -> str:
    return server.url


class Totp:
    """Codes for the demo worker's authenticator; each time step is accepted only once."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last = 0

    def code(self) -> str:
        while True:
            step = int(time.time() // 30)
            for candidate in (step, step + 1):  # the server allows one step of drift
                if candidate > self.last:
                    self.last = candidate
                    return str(self.totp.generate_otp(candidate))
            time.sleep(0.5)  # both used: only after more than two logins in one step


@pytest.fixture(scope="session")
def totp(server: Server) -> Totp:
    login = (server.data_dir / "demo-login.txt").read_text()
    found = re.search(r"^totp_secret: (\S+)$", login, re.MULTILINE)
    assert found, "the demo login file has no TOTP secret"
    return Totp(found.group(1))


def log_in(
    page: Page, totp: Totp, email: str = WORKER_EMAIL, password: str = WORKER_PASSWORD
) -> None:
    """Through the real forms: e-mail and password, then the code from the authenticator."""
    page.goto("/app/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/app/login/code$"))
    page.get_by_label("Code").fill(totp.code())
    page.get_by_test_id("code-submit").click()
    expect(page).to_have_url(re.compile(r"/app$"))


def _no_browser(reason: str) -> None:
    message = (
        f"{reason}: install Chromium (apt install chromium, or playwright install chromium) "
        "or name one in LYKTA_CHROMIUM"
    )
    if os.environ.get("LYKTA_REQUIRE_E2E") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _executable() -> str | None:
    """The Chromium to drive; None means Playwright's own."""
    named = os.environ.get("LYKTA_CHROMIUM")
    if named:
        if not Path(named).exists():
            _no_browser(f"LYKTA_CHROMIUM={named} does not exist")
        return named
    return CHROMIUM if Path(CHROMIUM).exists() else None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if _skip_requested():
        pytest.skip("LYKTA_SKIP_E2E=1")
    executable = _executable()
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            _no_browser(f"Chromium could not be started ({str(exc).splitlines()[0]})")
        yield browser
        browser.close()


class Problems:
    """Script errors and CSP violations seen on any page of a test; the test fails on any."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.items.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        page.on("dialog", lambda dialog: self.items.append(f"dialog: {dialog.message}"))

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.items.append(f"console: {text}")


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(chromium: Browser, server_url: str) -> Iterator[NewPage]:
    """Open a page in a fresh browser context (its own cookies and sessionStorage).

    ``new_page(path, width=360, height=640, locale="en-US", **context_options)``; pass
    ``path=None`` to get the page before it has loaded anything.
    """
    contexts: list[BrowserContext] = []
    problems = Problems()

    def make(
        path: str | None = "/chat/" + TEAM,
        *,
        width: int = 360,
        height: int = 640,
        locale: str = "en-US",
        **options: Any,
    ) -> Page:
        context = chromium.new_context(
            base_url=server_url,
            viewport={"width": width, "height": height},
            locale=locale,
            **options,
        )
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        if path is not None:
            page.goto(path)
        return page

    yield make
    for context in contexts:
        context.close()
    assert problems.items == []


@pytest.fixture(scope="session")
def worker_session(chromium: Browser, server: Server, totp: Totp) -> dict[str, Any]:
    """Log in once (TOTP codes cannot be reused); each test's worker gets the cookies."""
    context = chromium.new_context(base_url=server.url)
    try:
        log_in(context.new_page(), totp)
        state: dict[str, Any] = dict(context.storage_state())
    finally:
        context.close()
    return state


@pytest.fixture
def worker(new_page: NewPage, worker_session: dict[str, Any]) -> Callable[..., Page]:
    """A logged-in worker's app in its own browser context, with the list loaded; with
    ``socket``, its WebSocket to the server goes through that route handler."""

    def make(
        width: int = 1280,
        height: int = 800,
        socket: Callable[[WebSocketRoute], None] | None = None,
    ) -> Page:
        page = new_page(None, width=width, height=height, storage_state=worker_session)
        if socket is not None:
            page.route_web_socket(STAFF_SOCKET, socket)
        page.goto("/app")
        expect(page).to_have_url(re.compile(r"/app$"))
        expect(page.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
        return page

    return make


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    first_name: str
    totp: Totp


@pytest.fixture(scope="session")
def colleague_account(server: Server) -> Account:
    """A second worker of the demo team (Bo), made with the operator's CLI."""
    env = server.cli_env()
    command = [sys.executable, "-m", "lykta", "user", "create", "--team", TEAM]
    command += ["--email", COLLEAGUE_EMAIL, "--role", "worker"]
    command += ["--first-name", COLLEAGUE_NAME, "--json"]
    done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    created = json.loads(done.stdout)
    secret = pyotp.parse_uri(created["totp_uri"]).secret
    return Account(created["email"], created["password"], COLLEAGUE_NAME, Totp(secret))


@pytest.fixture(scope="session")
def colleague_session(
    chromium: Browser, server: Server, colleague_account: Account
) -> dict[str, Any]:
    """Bo logs in once, through the forms; each test's colleague gets the cookies."""
    context = chromium.new_context(base_url=server.url)
    try:
        account = colleague_account
        log_in(context.new_page(), account.totp, account.email, account.password)
        state: dict[str, Any] = dict(context.storage_state())
    finally:
        context.close()
    return state


@pytest.fixture
def colleague(new_page: NewPage, colleague_session: dict[str, Any]) -> Callable[..., Page]:
    """The colleague's app (Bo) in a browser context of its own, with the list loaded.
    Request this fixture before opening ``worker()`` so that Anna's app knows Bo."""

    def make(width: int = 1280, height: int = 800) -> Page:
        page = new_page("/app", width=width, height=height, storage_state=colleague_session)
        expect(page).to_have_url(re.compile(r"/app$"))
        expect(page.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
        return page

    return make


@pytest.fixture
def worker_profile(
    chromium: Browser, server: Server, worker_session: dict[str, Any], tmp_path: Path
) -> Iterator[BrowserContext]:
    """The logged-in worker in a browser with a profile on disk: a context of ``new_page``
    is incognito, where Chromium never offers to install an app."""
    context = chromium.browser_type.launch_persistent_context(
        tmp_path / "profile",
        executable_path=_executable(),
        args=CHROMIUM_ARGS,
        base_url=server.url,
        viewport={"width": 360, "height": 640},
        locale="en-US",
    )
    problems = Problems()
    context.on("page", problems.watch)
    try:
        context.add_cookies(worker_session["cookies"])
        yield context
    finally:
        context.close()
    assert problems.items == []


@pytest.fixture
def fresh_login(new_page: NewPage, totp: Totp) -> Callable[..., Page]:
    """A worker who logs in through the forms in this test (a session of their own)."""

    def make(width: int = 360, height: int = 640) -> Page:
        page = new_page(None, width=width, height=height)
        log_in(page, totp)
        return page

    return make


class UI:
    """Helpers the tests share (a fixture, so that test modules import nothing from here)."""

    team = TEAM
    worker_name = WORKER_NAME
    colleague_name = COLLEAGUE_NAME
    code_re = CODE_RE
    WAITING = "Waiting for a worker to join. You can already write your message."
    QUESTION = (
        "We are closed now, so the answer comes later. Write your question, keep your code "
        "and come back with it to read the answer."
    )

    def waiting_text(self, page: Page) -> str:
        """What the status says while waiting: a chat, or a question left while closed."""
        chat = page.get_by_test_id("chat")
        expect(chat).to_have_attribute("data-kind", re.compile(r"^(chat|question)$"))
        return self.QUESTION if chat.get_attribute("data-kind") == "question" else self.WAITING

    @staticmethod
    def item(page: Page, conversation_id: str) -> Locator:
        """The worker's list entry of one conversation."""
        return page.locator(f'[data-testid=conv-item][data-id="{conversation_id}"]')

    @staticmethod
    def conversation_ids(page: Page) -> list[str]:
        ids: list[str] = page.get_by_test_id("conv-item").evaluate_all(
            "els => els.map(e => e.dataset.id)"
        )
        return ids

    @staticmethod
    def new_conversation(page: Page, before: list[str]) -> Locator:
        """The one list entry that was not in ``before``, once it has appeared (live)."""
        selector = "[data-testid=conv-item]" + "".join(f':not([data-id="{i}"])' for i in before)
        item = page.locator(selector)
        expect(item).to_have_count(1)
        return item

    @staticmethod
    def send(page: Page, text: str) -> None:
        box = page.get_by_test_id("composer-input")
        box.fill(text)
        box.press("Enter")

    @staticmethod
    def message(page: Page, text: str) -> Locator:
        """The message rows whose body is exactly ``text``."""
        return page.get_by_test_id("message").filter(
            has=page.locator(".body").get_by_text(text, exact=True)
        )


@pytest.fixture
def ui() -> UI:
    return UI()


@pytest.fixture
def start_chat(new_page: NewPage) -> Callable[..., Page]:
    """A young person's page with a started conversation (resume code shown)."""

    def make(**options: Any) -> Page:
        page = new_page(**options)
        page.get_by_test_id("start").click()
        expect(page.get_by_test_id("resume-code")).to_have_text(CODE_RE)
        return page

    return make
