"""An XSS corpus through every field a person can write, rendered in Chromium on both sides:
nothing runs, no element is made from it, and the text is shown as it was written."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.e2e.conftest import UI, Server, add_ready_reply

LONG_WORD = "a" * 300
CORPUS = (
    "<script>window.__x=1</script>",
    '<img src=x onerror="window.__x=1">',
    '<svg onload="window.__x=1"></svg>',
    '<a href="javascript:window.__x=1">klicka</a>',
    '"><iframe srcdoc="<script>parent.__x=1</script>">',
    "{{7*7}}${7*7}<%= 7*7 %>",
    "' OR 1=1; DROP TABLE messages; --",  # SQL injection: stored and shown as text
    "\u202egnp.exe",  # a right-to-left override
    "a\u200bb\u200dc\ufeff",  # zero-width characters
    LONG_WORD,  # must not give the 360 px page a horizontal scroll
)
# A lone high surrogate cannot be typed or pasted; a script can put it in the composer.
LONE_SURROGATE = "document.getElementById('text').value = 'x' + String.fromCharCode(0xD800) + 'y'"
# Composers trim with String.prototype.trim, which (unlike str.strip) also removes U+FEFF.
SHOWN = tuple(text.strip().strip("\ufeff") for text in CORPUS)
READY_KEY = "xsskorpus"
READY_BODY = " ".join(CORPUS[:7])  # {name} and {team} are the only placeholders
WORKER_NAME = CORPUS[1]  # at most 60 characters
INTRODUCTION = f"{CORPUS[4]} {CORPUS[2]}"  # at most 140 characters
TEAM_NAME = " ".join(CORPUS[:5])  # at most 200 characters
DEMO_TEAM_NAME = "Fältgruppen Demo"
RESUME_FAILED = "That code did not open a conversation. Check it and try again."
CODE_MAX = 64  # the resume input's maxlength: a longer paste is cut there
INJECTED = "script, iframe, svg, img, a, object, embed"
INJECTED_NO_LINKS = "script, iframe, svg, img, object, embed"  # where links belong


class Dialogs:
    """Every alert/confirm/prompt seen on a watched page (dismissed at once)."""

    def __init__(self, new_page: Callable[..., Page]) -> None:
        self.new_page = new_page
        self.seen: list[str] = []

    def watch(self, page: Page) -> Page:
        def on_dialog(dialog: Any) -> None:
            self.seen.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    def open(self, path: str, **options: Any) -> Page:
        """A page watched before it loads anything (payloads may be in its HTML)."""
        page = self.watch(self.new_page(None, **options))
        page.goto(path)
        if path == "/app":
            expect(page.get_by_test_id("conversations")).to_have_attribute("aria-busy", "false")
        return page


@pytest.fixture
def dialogs(new_page: Callable[..., Page]) -> Iterator[Dialogs]:
    watcher = Dialogs(new_page)
    yield watcher
    assert watcher.seen == []  # also checked at the end of each test, as a failure


def assert_inert(page: Page, *scopes: str, tags: str = INJECTED) -> None:
    assert page.evaluate("typeof window.__x") == "undefined"
    for scope in scopes:
        expect(page.locator(f"{scope} :is({tags})")).to_have_count(0)


def row(page: Page, kind: str, text: str) -> Locator:
    """Message rows of one kind (mine, theirs, staff) whose body is ``text``."""
    rows = page.locator(f"[data-testid=messages] .msg.{kind}")
    return rows.filter(has=page.locator(".body").get_by_text(text, exact=True))


def set_profile(page: Page, first_name: str, introduction: str) -> None:
    """Through the two forms of /app/profile (each saves and comes back)."""
    page.goto("/app/profile")
    name_form = page.locator("form[action='/app/profile/name']")
    name_form.get_by_label("First name").fill(first_name)
    with page.expect_navigation():
        name_form.get_by_role("button", name="Save").click()
    expect(page.locator("#first_name")).to_have_value(first_name)
    intro_form = page.get_by_test_id("introduction-form")
    intro_form.get_by_label("One line about you (optional)").fill(introduction)
    with page.expect_navigation():
        intro_form.get_by_role("button", name="Save").click()
    expect(page.locator("#introduction")).to_have_value(introduction)
    expect(page.get_by_test_id("profile-error")).to_have_count(0)


def save_team_name(page: Page, name: str) -> None:
    page.goto("/app/admin/settings")
    form = page.get_by_test_id("settings-form")
    form.get_by_label("Team name").fill(name)
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    expect(page.locator("#name")).to_have_value(name)


@pytest.mark.e2e
def test_corpus_in_messages_replies_notes_and_a_ready_reply(
    server: Server,
    colleague: Callable[..., Page],
    worker: Callable[..., Page],
    start_chat: Callable[..., Page],
    dialogs: Dialogs,
    ui: UI,
) -> None:
    add_ready_reply(server, ui.team, READY_KEY, READY_BODY)  # before the socket's hello
    bo = dialogs.watch(colleague())
    staff = dialogs.watch(worker())
    before = ui.conversation_ids(staff)
    youth = dialogs.watch(start_chat())

    # (1) The young person writes the corpus; each message is stored ("Sent").
    for text in SHOWN:
        ui.send(youth, text)
        expect(row(youth, "mine", text).get_by_test_id("msg-status")).to_have_text("Sent")
    item = ui.new_conversation(staff, before)
    conversation_id = item.get_attribute("data-id")
    assert conversation_id
    item.click()
    thread = staff.get_by_test_id("messages")
    for text in SHOWN:
        expect(thread).to_contain_text(text)
    assert staff.locator("#thread .msg.theirs .body").all_text_contents() == list(SHOWN)

    # (2) The worker answers with the same corpus.
    for text in SHOWN:
        ui.send(staff, text)
        expect(row(staff, "staff", text).get_by_test_id("msg-status")).to_have_text("Sent")
    expect(row(youth, "theirs", SHOWN[-1])).to_have_count(1)
    assert youth.locator("#messages .msg.mine .body").all_text_contents() == list(SHOWN)
    assert youth.locator("#messages .msg.theirs .body").all_text_contents() == list(SHOWN)
    for text in SHOWN:
        expect(youth.get_by_test_id("messages")).to_contain_text(text)

    # (4) A ready reply with the corpus in its body: listed, expanded and sent as text.
    box = staff.get_by_test_id("composer-input")
    box.press_sequentially(f"/{READY_KEY}")
    suggestions = staff.get_by_test_id("canned-list")
    expect(suggestions).to_contain_text(f"/{READY_KEY} {READY_BODY}")
    assert_inert(staff, "#canned")
    box.press(" ")
    expect(box).to_have_value(READY_BODY)
    box.press("Enter")
    expect(row(staff, "staff", READY_BODY).get_by_test_id("msg-status")).to_have_text("Sent")
    expect(row(youth, "theirs", READY_BODY)).to_have_count(1)
    expect(youth.get_by_test_id("messages")).to_contain_text(READY_BODY)

    # (3) Internal notes with the corpus, read by the colleague in his own app.
    staff.get_by_test_id("notes-toggle").click()
    for count, text in enumerate(SHOWN, start=1):
        staff.get_by_test_id("note-input").fill(text)
        expect(staff.get_by_test_id("note-input")).to_have_value(text)
        staff.get_by_test_id("note-add").click()
        expect(staff.get_by_test_id("note")).to_have_count(count)
    assert staff.locator("#notelist .note .body").all_text_contents() == list(SHOWN)
    ui.item(bo, conversation_id).click()
    expect(ui.message(bo, SHOWN[0])).to_have_count(2)
    bo.get_by_test_id("notes-toggle").click()
    expect(bo.get_by_test_id("note")).to_have_count(len(SHOWN))
    expect(bo.get_by_test_id("note")).to_contain_text(list(SHOWN))
    assert bo.locator("#notelist .note .body").all_text_contents() == list(SHOWN)

    for page in (youth, staff, bo):
        assert_inert(page, "[data-testid=messages]", "#notelist")
    assert_inert(youth, "[data-testid=worker-card]", tags=INJECTED_NO_LINKS)
    assert_inert(staff, "#convs", tags=INJECTED_NO_LINKS)
    assert youth.evaluate("document.documentElement.scrollWidth") <= 360
    # <main> scrolls by itself: a word that overflows would scroll it sideways instead.
    assert youth.evaluate("(m => m.scrollWidth <= m.clientWidth)(document.getElementById('main'))")
    assert dialogs.seen == []


@pytest.mark.e2e
def test_an_invalid_surrogate_does_not_break_the_chat(
    worker: Callable[..., Page], start_chat: Callable[..., Page], dialogs: Dialogs, ui: UI
) -> None:
    staff = dialogs.watch(worker())
    before = ui.conversation_ids(staff)
    youth = dialogs.watch(start_chat())
    reconnects: list[Any] = []
    youth.on("websocket", lambda ws: reconnects.append(ws))  # a dropped one is reopened
    ui.send(youth, "Hej")
    expect(row(youth, "mine", "Hej").get_by_test_id("msg-status")).to_have_text("Sent")

    youth.evaluate(LONE_SURROGATE)
    youth.get_by_test_id("composer-input").press("Enter")
    expect(youth.get_by_test_id("composer-input")).to_have_value("")

    ui.send(youth, "Fungerar chatten fortfarande?")
    status = row(youth, "mine", "Fungerar chatten fortfarande?").get_by_test_id("msg-status")
    expect(status).to_have_text("Sent")
    # The broken character arrives as a replacement character: nothing is left pending.
    statuses = youth.locator("[data-testid=messages] .msg.mine [data-testid=msg-status]")
    expect(statuses).to_have_text(["Sent"] * statuses.count())
    expect(youth.locator("[data-testid=messages] .msg.mine")).to_have_count(3)
    expect(youth.get_by_test_id("connection")).to_be_hidden()
    ui.new_conversation(staff, before).click()
    expect(row(staff, "theirs", "Fungerar chatten fortfarande?")).to_have_count(1)
    expect(row(staff, "theirs", "x\ufffdy")).to_have_count(1)
    ui.send(staff, "Ja, jag läser.")
    expect(row(youth, "theirs", "Ja, jag läser.")).to_have_count(1)
    assert_inert(youth, "[data-testid=messages]")
    assert reconnects == []
    assert dialogs.seen == []


@pytest.mark.e2e
def test_corpus_in_the_workers_name_and_introduction(
    colleague: Callable[..., Page],
    colleague_session: dict[str, Any],
    worker_session: dict[str, Any],
    start_chat: Callable[..., Page],
    dialogs: Dialogs,
    ui: UI,
) -> None:
    profile = dialogs.watch(colleague())
    try:
        set_profile(profile, WORKER_NAME, INTRODUCTION)
        assert_inert(profile, "main", tags=INJECTED_NO_LINKS)

        # Both apps are opened after the change: the name comes in their first frames.
        bo = dialogs.open("/app", width=1280, height=800, storage_state=colleague_session)
        staff = dialogs.open("/app", width=1280, height=800, storage_state=worker_session)
        before = ui.conversation_ids(bo)
        youth = dialogs.watch(start_chat())
        ui.send(youth, "Hej, finns det någon där?")
        item = ui.new_conversation(bo, before)
        conversation_id = item.get_attribute("data-id")
        assert conversation_id
        item.click()
        ui.send(bo, "Hej! Jag läser.")  # replying to a waiting conversation takes it

        expect(youth.get_by_test_id("worker-card")).to_be_visible()
        expect(youth.get_by_test_id("worker-name")).to_have_text(WORKER_NAME)
        expect(youth.get_by_test_id("worker-intro")).to_have_text(INTRODUCTION)
        assert youth.get_by_test_id("worker-name").text_content() == WORKER_NAME
        assert youth.get_by_test_id("worker-intro").text_content() == INTRODUCTION
        reply = row(youth, "theirs", "Hej! Jag läser.")
        expect(reply.locator(".who")).to_have_text(WORKER_NAME)
        expect(youth.get_by_test_id("status")).to_contain_text(WORKER_NAME)
        assert_inert(youth, "[data-testid=worker-card]", "[data-testid=messages]", "#status")

        expect(bo.get_by_test_id("me")).to_contain_text(WORKER_NAME)
        expect(bo.get_by_test_id("conv-state")).to_have_text(f"Active · With {WORKER_NAME}")
        expect(row(bo, "staff", "Hej! Jag läser.").locator(".who")).to_have_text(WORKER_NAME)
        expect(ui.item(staff, conversation_id)).to_contain_text(f"With {WORKER_NAME}")
        expect(staff.get_by_test_id("handover-to")).to_contain_text(WORKER_NAME)
        for page in (bo, staff):
            assert_inert(page, "#convs", "#handover-to", "[data-testid=me]", tags=INJECTED_NO_LINKS)
            assert_inert(page, "[data-testid=messages]")
        assert dialogs.seen == []
    finally:
        set_profile(profile, ui.colleague_name, "")


@pytest.mark.e2e
def test_corpus_in_the_team_name(
    worker: Callable[..., Page],
    worker_session: dict[str, Any],
    dialogs: Dialogs,
    ui: UI,
) -> None:
    admin = dialogs.watch(worker())  # the demo worker is the team's admin
    try:
        save_team_name(admin, TEAM_NAME)
        assert_inert(admin, "main", tags=INJECTED_NO_LINKS)

        youth = dialogs.open(f"/chat/{ui.team}")
        expect(youth.get_by_test_id("team-name")).to_have_text(TEAM_NAME)
        assert youth.get_by_test_id("team-name").text_content() == TEAM_NAME
        assert youth.locator(".chat-title").text_content() == TEAM_NAME
        expect(youth).to_have_title(f"{TEAM_NAME} · Lykta")
        assert_inert(youth, "main", tags=INJECTED_NO_LINKS)

        app = dialogs.open("/app", width=1280, height=800, storage_state=worker_session)
        expect(app.get_by_test_id("me")).to_contain_text(TEAM_NAME)
        unread = r"^(?:\(\d+\) )?"  # the app counts unread messages in its title
        expect(app).to_have_title(re.compile(unread + re.escape(f"{TEAM_NAME} · Lykta") + "$"))
        assert_inert(app, "[data-testid=me]")
        assert dialogs.seen == []
    finally:
        save_team_name(admin, DEMO_TEAM_NAME)


@pytest.mark.e2e
def test_corpus_in_the_resume_code_input(
    new_page: Callable[..., Page], dialogs: Dialogs, ui: UI
) -> None:
    page = dialogs.watch(new_page(None))
    with page.expect_websocket() as opened:
        page.goto(f"/chat/{ui.team}")
    socket = opened.value
    box = page.get_by_test_id("resume-input")
    error = page.get_by_test_id("resume-error")
    for pasted in CORPUS:
        box.fill(pasted)
        text = pasted[:CODE_MAX]
        expect(box).to_have_value(text)
        with socket.expect_event("framereceived", lambda frame: "resume_failed" in str(frame)):
            box.press("Enter")
        # The same, non-revealing failure for every one of them; nothing else happens.
        expect(error).to_have_text(RESUME_FAILED)
        expect(box).to_have_value(text)
        expect(page.get_by_test_id("chat")).to_be_hidden()
        expect(page.get_by_test_id("notice")).to_be_hidden()
        assert_inert(page, "main", tags=INJECTED_NO_LINKS)
    assert page.evaluate(f"sessionStorage.getItem('lykta-chat-{ui.team}')") is None
    assert dialogs.seen == []
