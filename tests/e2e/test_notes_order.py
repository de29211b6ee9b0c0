"""A worker's internal notes show in the order they were written, however their frames
arrive: a note published while the list is being read comes before the list holding it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from tests.e2e.conftest import UI
from tests.support.frames import frames_in

NOTES = ("Första anteckningen", "Andra anteckningen", "Tredje anteckningen")


Frame = dict[str, Any]


def pass_through(ws: WebSocketRoute, note: Callable[[Frame], list[Frame]]) -> None:
    """Connects the page's /ws/staff to the server; each note frame from the server goes
    to the page as ``note`` turns it into frames (none: held back), the rest unchanged."""
    server = ws.connect_to_server()

    def to_page(message: str | bytes) -> None:
        out: list[Frame] = []
        for frame in frames_in(message):
            out.extend(note(frame) if frame.get("type") == "note" else [frame])
        if out:
            ws.send(json.dumps(out))

    ws.on_message(server.send)
    server.on_message(to_page)


def notes_last_first(count: int) -> Callable[[WebSocketRoute], None]:
    """Passes /ws/staff through, but holds the first ``count`` note frames and hands them
    to the page newest first."""

    def handle(ws: WebSocketRoute) -> None:
        held: list[Frame] = []

        def note(frame: Frame) -> list[Frame]:
            if len(held) >= count:
                return [frame]
            held.append(frame)
            return list(reversed(held)) if len(held) == count else []

        pass_through(ws, note)

    return handle


def notes_of_a_new_chat(staff: Page, start_chat: Callable[..., Page], ui: UI) -> Page:
    """A young person starts a chat; the worker opens it and its notes. Returns the young
    person's page."""
    before = ui.conversation_ids(staff)
    youth = start_chat()
    ui.send(youth, "Hej, kan någon svara?")
    ui.new_conversation(staff, before).click()
    expect(ui.message(staff, "Hej, kan någon svara?")).to_be_visible()
    staff.get_by_test_id("notes-toggle").click()
    return youth


def notes_on_a_new_chat(staff: Page, start_chat: Callable[..., Page], ui: UI) -> Page:
    """``notes_of_a_new_chat``, and the worker writes ``NOTES`` one after the other, each
    as soon as the one before shows. Returns the young person's page."""
    youth = notes_of_a_new_chat(staff, start_chat, ui)
    for count, text in enumerate(NOTES, start=1):
        staff.get_by_test_id("note-input").fill(text)
        expect(staff.get_by_test_id("note-input")).to_have_value(text)
        staff.get_by_test_id("note-add").click()
        expect(staff.get_by_test_id("note")).to_have_count(count)
    return youth


@pytest.mark.e2e
def test_notes_show_in_the_order_written_whatever_order_they_arrive_in(
    worker: Callable[..., Page], start_chat: Callable[..., Page], ui: UI
) -> None:
    staff = worker()
    youth = notes_on_a_new_chat(staff, start_chat, ui)
    expect(staff.locator("#notelist .note .body")).to_have_text(list(NOTES))

    # The same worker on a second device, whose socket gets the notes newest first.
    other = worker(socket=notes_last_first(len(NOTES)))
    conversation_id = staff.url.split("#")[-1]
    ui.item(other, conversation_id).click()
    other.get_by_test_id("notes-toggle").click()
    expect(other.get_by_test_id("note")).to_have_count(len(NOTES))
    expect(other.locator("#notelist .note .body")).to_have_text(list(NOTES))

    # Ended, so that it does not stay in the queue of the browser tests that follow.
    youth.get_by_test_id("end-chat").click()
    youth.get_by_test_id("end-yes").click()
    expect(youth.get_by_test_id("status")).to_have_text("The conversation has ended")
    expect(ui.item(staff, conversation_id)).to_have_attribute("data-state", "closed")


def first_note_refused(refused: list[str]) -> Callable[[WebSocketRoute], None]:
    """Passes /ws/staff through, but answers the page's first note with ``busy`` (as the
    server does when it could not store it) instead of passing it on."""

    def handle(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "note" and not refused:
                refused.append(frame["client_id"])
                busy = {"type": "error", "code": "busy", "client_id": frame["client_id"]}
                ws.send(json.dumps({**busy, "message": "Try again"}))
                return
            server.send(message)

        ws.on_message(to_server)
        server.on_message(ws.send)

    return handle


@pytest.mark.e2e
def test_a_note_that_must_be_sent_again_keeps_its_place(
    worker: Callable[..., Page], start_chat: Callable[..., Page], ui: UI
) -> None:
    """The first note is refused for now and sent again a few seconds later, while the
    worker goes on writing: every device still shows the notes in the order written."""
    refused: list[str] = []
    staff = worker(socket=first_note_refused(refused))
    youth = notes_on_a_new_chat(staff, start_chat, ui)
    assert len(refused) == 1
    expect(staff.locator("#notelist .note.out")).to_have_count(0)  # all stored
    expect(staff.locator("#notelist .note .body")).to_have_text(list(NOTES))

    # As stored: the same worker on another device.
    other = worker()
    ui.item(other, staff.url.split("#")[-1]).click()
    other.get_by_test_id("notes-toggle").click()
    expect(other.locator("#notelist .note .body")).to_have_text(list(NOTES))

    youth.get_by_test_id("end-chat").click()
    youth.get_by_test_id("end-yes").click()


class HeldNotes:
    """Passes /ws/staff through, but keeps the note frames from the server whose text is
    in ``hold`` until ``release`` hands them to the page."""

    def __init__(self, hold: set[str]) -> None:
        self.hold = hold
        self.held: list[Frame] = []
        self.page_side: WebSocketRoute | None = None

    def __call__(self, ws: WebSocketRoute) -> None:
        self.page_side = ws
        pass_through(ws, self._note)

    def _note(self, frame: Frame) -> list[Frame]:
        if frame.get("body") not in self.hold:
            return [frame]
        self.held.append(frame)
        return []

    def release(self, page: Page, text: str) -> None:
        """Once the server's frame of note ``text`` has come, hand it to the page."""
        for _ in range(200):
            frames = [f for f in self.held if f["body"] == text]
            if frames:
                break
            page.wait_for_timeout(50)  # lets the route's handlers run meanwhile
        assert frames, f"the server did not send note {text!r}"
        assert self.page_side is not None
        self.hold.discard(text)
        self.held = [f for f in self.held if f["body"] != text]
        self.page_side.send(json.dumps(frames))


@pytest.mark.e2e
def test_a_stored_note_shows_above_the_ones_still_being_sent(
    worker: Callable[..., Page], start_chat: Callable[..., Page], ui: UI
) -> None:
    """The second note is written before the server has said the first is stored: when it
    does, the first shows above the second, not below it."""
    first, second = NOTES[0], NOTES[1]
    held = HeldNotes({first, second})
    staff = worker(socket=held)
    youth = notes_of_a_new_chat(staff, start_chat, ui)
    for text in (first, second):
        staff.get_by_test_id("note-input").fill(text)
        staff.get_by_test_id("note-add").click()
    notes = staff.locator("#notelist .note .body")
    expect(notes).to_have_text([first, second])  # both still being sent
    expect(staff.locator("#notelist .note.out")).to_have_count(2)
    held.release(staff, first)
    expect(staff.locator("#notelist .note.out")).to_have_count(1)  # the first is stored
    expect(notes).to_have_text([first, second])
    held.release(staff, second)
    expect(staff.locator("#notelist .note.out")).to_have_count(0)
    expect(notes).to_have_text([first, second])

    youth.get_by_test_id("end-chat").click()
    youth.get_by_test_id("end-yes").click()
    expect(youth.get_by_test_id("status")).to_have_text("The conversation has ended")
