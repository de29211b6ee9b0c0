"""The worker's day on a conversation: notes, read state, typing, hand-over, risk flags,
blocking, feedback, duty. ``do_*`` write, commit, then publish (as in ``service``)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from lykta.audit import service as audit
from lykta.audit.service import Action, Actor
from lykta.conversations import content, queue, summaries
from lykta.conversations.errors import ConversationClosed, ConversationError, NotFound
from lykta.conversations.models import Conversation, ConversationState, Note, Sender
from lykta.conversations.rows import locked, locked_with_holder, read_ahead
from lykta.conversations.service import (
    Author,
    _append,
    _publish,
    check_body,
    check_transition,
    worker_frame,
)
from lykta.db import utcnow
from lykta.i18n import N_
from lykta.push import service as push
from lykta.realtime.broker import conversation_channel, staff_channel, team_channel
from lykta.realtime.protocol import (
    NoteFrame,
    PresenceFrame,
    ReadFrame,
    StaffMember,
    TypingFrame,
    encode,
)
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.staff.service import StaffIdentity
from lykta.teams import defaults
from lykta.teams.models import Team


class Blocked(ConversationError):
    """Deliberately says nothing about why, and nothing about anyone."""

    code = "blocked"
    message = N_("You cannot start a new chat right now. If you are in danger, call 112.")


class BadClosing(ConversationError):
    code = "invalid"
    message = N_("Choose topics and an outcome from the team's lists.")


def browser_hash(token: str) -> bytes:
    return hashlib.sha256(b"lykta-browser-v1:" + token.encode()).digest()


def staff_author(caller: StaffIdentity) -> Author:
    return Author(Sender.STAFF, caller.user_id, caller.first_name)


# ----- notes -----------------------------------------------------------------------------


def note_frame(note: Note) -> NoteFrame:
    return NoteFrame(
        id=note.id,
        conversation_id=note.conversation_id,
        client_id=note.client_id,
        author=note.author,
        body=note.body,
        at=note.created_at,
    )


async def do_add_note(
    rt: Runtime, caller: StaffIdentity, conversation_id: str, client_id: str, body: str
) -> Note:
    """An internal note, stored once per ``client_id``; workers only."""
    text = check_body(body)
    aead = await content.cipher(rt, caller.team_id, conversation_id)
    async with rt.db.write() as session:
        existing = (
            await session.execute(
                select(Note).where(
                    Note.conversation_id == conversation_id, Note.client_id == client_id
                )
            )
        ).scalar_one_or_none()
        if existing is not None and existing.team_id == caller.team_id:
            _open_notes(aead, [existing])
            return existing
        conversation = await locked(session, caller.team_id, conversation_id)
        if aead is None:
            raise ConversationClosed
        note = _sealed_note(conversation, caller, client_id, text, aead)
        session.add(note)
        await session.flush()
    await rt.hub.publish(staff_channel(conversation_id), encode(note_frame(note)))
    return note


def _sealed_note(
    conversation: Conversation, caller: StaffIdentity, client_id: str, text: str, aead: AESGCM
) -> Note:
    note = Note(
        team_id=conversation.team_id,
        conversation_id=conversation.id,
        client_id=client_id,
        staff_id=caller.user_id,
        author=caller.first_name,
        body_ct=content.seal_text(aead, text, content.note_aad(conversation.id, client_id)),
    )
    note.body = text
    return note


def _open_notes(aead: AESGCM | None, notes: list[Note]) -> list[Note]:
    for note in notes:
        note.body = content.open_text(
            aead, note.body_ct, content.note_aad(note.conversation_id, note.client_id)
        )
    return notes


# Built once: every worker's ``open`` reads it.
_NOTES = (
    select(Note)
    .where(
        Note.team_id == bindparam("team_id"),
        Note.conversation_id == bindparam("conversation_id"),
    )
    .order_by(Note.id)
)


def read_notes(
    session: Session, aead: AESGCM | None, team_id: int, conversation_id: str
) -> list[Note]:
    """The conversation's internal notes, oldest first, opened with ``aead``
    (``content.cipher``'s); synchronous (``Database.reading``)."""
    params = {"team_id": team_id, "conversation_id": conversation_id}
    return _open_notes(aead, list(session.execute(_NOTES, params).scalars()))


# ----- read state and typing -------------------------------------------------------------


async def do_mark_read(
    rt: Runtime, team_id: int, conversation_id: str, reader: Sender, seq: int
) -> None:
    """Move the reader's read mark forward to ``seq`` (never back, never past the last
    message). Read receipts come with every message seen on either side, so they share
    group commits with the messages."""
    column = "youth_read_seq" if reader is Sender.YOUTH else "staff_read_seq"

    def mark(session: Session) -> tuple[Conversation, str | None, int | None]:
        held = locked_with_holder(session, team_id, conversation_id)
        conversation = held.conversation
        assert conversation is not None  # noqa: S101 - checked by locked_with_holder
        upto = min(seq, conversation.last_seq)
        if getattr(conversation, column) >= upto:
            return conversation, held.holder_name, None
        setattr(conversation, column, upto)
        return conversation, held.holder_name, upto

    conversation, holder_name, marked = await rt.db.grouped(
        mark, prepare=read_ahead, key=conversation_id
    )
    if marked is not None:
        frame = ReadFrame(conversation_id=conversation_id, reader=reader.value, seq=marked)
        await rt.hub.publish(conversation_channel(conversation_id), encode(frame))
        # The list shows read state and unread.
        await summaries.publish_summary(rt, conversation, holder_name)


async def publish_typing(
    rt: Runtime, conversation_id: str, sender: Sender, author: str | None, active: bool
) -> None:
    """Never stored: a typing indicator lives only on the wire."""
    frame = TypingFrame(
        conversation_id=conversation_id, sender=sender.value, author=author, active=active
    )
    await rt.hub.publish(conversation_channel(conversation_id), encode(frame))


# ----- hand-over, flags, blocking ----------------------------------------------------------


async def do_transfer(
    rt: Runtime, caller: StaffIdentity, conversation_id: str, to: int | None, note: str
) -> None:
    """Hand over to a colleague of the same team, or back to the queue, with a note."""
    note_text = note.strip()
    aead = await content.cipher(rt, caller.team_id, conversation_id) if note_text else None
    async with rt.db.write() as session:
        conversation = await locked(session, caller.team_id, conversation_id)
        if conversation.state == ConversationState.CLOSED:
            raise ConversationClosed
        if to is None:
            check_transition(conversation, ConversationState.QUEUED)
            conversation.state = ConversationState.QUEUED.value
            conversation.assigned_staff_id = None
            event = _append(conversation, Author(Sender.SYSTEM), event="requeued")
            colleague = None
        else:
            colleague = await session.get(StaffUser, to)
            if colleague is None or colleague.team_id != caller.team_id or not colleague.active:
                raise NotFound
            conversation.state = ConversationState.ACTIVE.value
            conversation.assigned_staff_id = colleague.id
            event = _append(
                conversation,
                Author(Sender.STAFF, colleague.id, colleague.first_name),
                event="joined",
            )
        session.add(event)
        added = None
        if note_text:
            check_body(note_text)
            if aead is None:
                raise ConversationClosed
            client_id = f"transfer-{event.seq}-{conversation.id[:8]}"
            added = _sealed_note(conversation, caller, client_id, note_text, aead)
            session.add(added)
            await session.flush()
    push.after_transfer(rt, conversation)
    await _publish(rt, conversation, [event])
    if added is not None:
        await rt.hub.publish(staff_channel(conversation_id), encode(note_frame(added)))
    if colleague is not None:
        await rt.hub.publish(
            conversation_channel(conversation_id), encode(await worker_frame(rt, colleague.id))
        )
    await queue.publish_queue(rt, caller.team_id)


async def do_set_flag(
    rt: Runtime, caller: StaffIdentity, conversation_id: str, flagged: bool
) -> None:
    async with rt.db.write() as session:
        conversation = await locked(session, caller.team_id, conversation_id)
        conversation.flagged = flagged
        if not flagged:
            conversation.flag_categories = None
        elif not conversation.flag_categories:
            conversation.flag_categories = ["manual"]
    await summaries.publish_summary(rt, conversation)
    await queue.publish_queue(rt, caller.team_id)


async def do_block(rt: Runtime, caller: StaffIdentity, conversation_id: str) -> None:
    """End the conversation, make its resume code stop working, and keep the tab that
    started it from starting another for the team's block time. Nobody is identified."""
    async with rt.db.write() as session:
        conversation = await locked(session, caller.team_id, conversation_id)
        team = await session.get(Team, caller.team_id)
        assert team is not None  # noqa: S101 - a live session's team exists
        conversation.blocked_until = utcnow() + dt.timedelta(hours=team.block_hours)
        closed = None
        if conversation.state != ConversationState.CLOSED:
            conversation.state = ConversationState.CLOSED.value
            conversation.closed_at = utcnow()
            closed = _append(conversation, Author(Sender.SYSTEM), event="closed")
            session.add(closed)
        await audit.record(
            session,
            caller.team_id,
            Action.CONVERSATION_BLOCKED,
            Actor(caller.user_id, caller.email),
            target_type="conversation",
            target_id=conversation.id,
            details={"hours": team.block_hours},
        )
    if closed is not None:
        await _publish(rt, conversation, [closed])
    await queue.publish_queue(rt, caller.team_id)


async def do_unblock(rt: Runtime, caller: StaffIdentity, conversation_id: str) -> None:
    async with rt.db.write() as session:
        conversation = await locked(session, caller.team_id, conversation_id)
        conversation.blocked_until = None
        await audit.record(
            session,
            caller.team_id,
            Action.CONVERSATION_UNBLOCKED,
            Actor(caller.user_id, caller.email),
            target_type="conversation",
            target_id=conversation.id,
        )


# Built once: every ``start`` from the page (which sends its tab's token) reads it.
_BLOCKED = (
    select(Conversation.id)
    .where(
        Conversation.team_id == bindparam("team_id"),
        Conversation.browser_hash == bindparam("browser"),
        Conversation.blocked_until > bindparam("now"),
    )
    .limit(1)
)


def _is_blocked(session: Session, team_id: int, browser: bytes) -> bool:
    params = {"team_id": team_id, "browser": browser, "now": utcnow()}
    return session.execute(_BLOCKED, params).first() is not None


async def check_not_blocked(rt: Runtime, team_id: int, browser: str | None) -> None:
    if browser is None:
        return
    read = functools.partial(_is_blocked, team_id=team_id, browser=browser_hash(browser))
    if await rt.db.reading(read):
        raise Blocked


# ----- closing, feedback -------------------------------------------------------------------


async def check_closing(
    rt: Runtime, team_id: int, topics: list[str], outcome: str | None
) -> tuple[list[str], str | None]:
    async with rt.db.read() as session:
        team = await session.get(Team, team_id)
    assert team is not None  # noqa: S101
    if not set(topics) <= set(defaults.topics(team)):
        raise BadClosing
    if outcome is not None and outcome not in defaults.OUTCOMES:
        raise BadClosing
    return sorted(set(topics)), outcome


async def do_feedback(rt: Runtime, team_id: int, conversation_id: str, answer: str) -> None:
    """The young person's optional answer to "Did this help?", after the chat has ended."""
    async with rt.db.write() as session:
        conversation = await locked(session, team_id, conversation_id)
        if conversation.state != ConversationState.CLOSED:
            raise NotFound
        conversation.feedback = answer


# ----- duty ----------------------------------------------------------------------------------


async def presence_frame(rt: Runtime, team_id: int) -> PresenceFrame:
    async with rt.db.read() as session:
        on_duty = list(
            (
                await session.execute(
                    select(StaffUser.id, StaffUser.first_name).where(
                        StaffUser.team_id == team_id,
                        StaffUser.on_duty.is_(True),
                        StaffUser.active.is_(True),
                    )
                )
            ).all()
        )
    return PresenceFrame(
        on_duty=[StaffMember(id=i, first_name=n) for i, n in on_duty],
        open=(await rt.teams.status(team_id)).open,
    )


async def do_set_duty(rt: Runtime, caller: StaffIdentity, on: bool) -> None:
    async with rt.db.write() as session:
        await session.execute(
            update(StaffUser).where(StaffUser.id == caller.user_id).values(on_duty=on)
        )
    rt.teams.forget(caller.team_id)
    await rt.hub.publish(
        team_channel(caller.team_id), encode(await presence_frame(rt, caller.team_id))
    )
    await queue.publish_queue(rt, caller.team_id)
