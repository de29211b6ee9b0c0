"""Everything that changes a conversation. ``check_*`` validates; ``do_*`` writes, commits,
then publishes. Nothing is published before its transaction has committed, and an ``ack``
is only ever built from a committed row.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from lykta.audit import service as audit
from lykta.audit.service import Action, Actor
from lykta.config import MAX_MESSAGE_LENGTH
from lykta.conversations import content, queue, resume_codes, summaries
from lykta.conversations.errors import (
    Busy,
    ConversationClosed,
    EmptyMessage,
    MessageTooLong,
    NotFound,
    NotQueued,
)
from lykta.conversations.models import (
    ALLOWED_TRANSITIONS,
    Conversation,
    ConversationState,
    Kind,
    Message,
    Sender,
)
from lykta.conversations.rows import (
    by_client_id,
    insert_with_group,
    locked,
    locked_with_holder,
    read_ahead,
)
from lykta.db import utcnow
from lykta.push import service as push
from lykta.realtime.broker import conversation_channel
from lykta.realtime.protocol import (
    MessageFrame,
    WorkerFrame,
    WorkerProfile,
    encode,
)
from lykta.runtime import Runtime
from lykta.staff.models import StaffUser
from lykta.staff.service import StaffIdentity
from lykta.teams.directory import TeamRef
from lykta.teams.models import Team

log = logging.getLogger(__name__)

HISTORY_BATCH = 500
_CONTROL = {c: None for c in [*range(32), *range(0x7F, 0xA0)] if c not in (9, 10)}
"""C0 and C1 control characters and DEL; tabs and newlines stay."""


@dataclass(frozen=True)
class Author:
    """Who writes: the young person, or a worker (first name only travels further)."""

    sender: Sender
    staff_id: int | None = None
    first_name: str | None = None

    @classmethod
    def youth(cls) -> Author:
        return cls(Sender.YOUTH)


@dataclass
class SendResult:
    message: Message
    created: bool
    published: list[Message] = field(default_factory=list)


@dataclass
class _Stored:
    """What storing one message did, for publishing after the commit."""

    message: Message
    conversation: Conversation | None = None
    """None when the message was there already (a retry)."""
    new: list[Message] = field(default_factory=list)
    entered_queue: bool = False
    took: bool = False
    flagged_now: bool = False
    holder_name: str | None = None
    """The first name of the worker holding the conversation after this message."""


def check_body(body: str) -> str:
    """Trimmed text without control characters; raises ``EmptyMessage``/``MessageTooLong``."""
    text = body.translate(_CONTROL).strip()
    if not text:
        raise EmptyMessage
    if len(text) > MAX_MESSAGE_LENGTH:
        raise MessageTooLong
    return text


def check_transition(conversation: Conversation, target: ConversationState) -> None:
    current = ConversationState(conversation.state)
    if target not in ALLOWED_TRANSITIONS[current]:
        if current is ConversationState.CLOSED:
            raise ConversationClosed
        raise NotQueued


def message_frame(message: Message) -> MessageFrame:
    return MessageFrame(
        conversation_id=message.conversation_id,
        seq=message.seq,
        client_id=message.client_id,
        sender=Sender(message.sender).value,
        author=message.author,
        event=message.event,
        body=message.body,
        redacted=message.redacted_at is not None,
        at=message.created_at,
    )


def _append(
    conversation: Conversation,
    author: Author,
    *,
    body: str | None = None,
    event: str | None = None,
    client_id: str | None = None,
    aead: AESGCM | None = None,
) -> Message:
    """The next message in the sequence; a body is sealed with ``aead`` (required then)."""
    now = utcnow()
    conversation.last_seq += 1
    conversation.last_activity_at = now
    sealed = None
    if body is not None:
        if aead is None:
            raise ValueError("a message body needs the conversation's data key")
        sealed = content.seal_text(
            aead, body, content.message_aad(conversation.id, conversation.last_seq)
        )
    message = Message(
        team_id=conversation.team_id,
        conversation_id=conversation.id,
        seq=conversation.last_seq,
        client_id=client_id,
        sender=author.sender.value,
        staff_id=author.staff_id,
        author=author.first_name if author.sender is Sender.STAFF else None,
        event=event,
        body_ct=sealed,
        created_at=now,
    )
    message.body = body
    return message


def _take(conversation: Conversation, author: Author) -> Message:
    check_transition(conversation, ConversationState.ACTIVE)
    conversation.state = ConversationState.ACTIVE.value
    conversation.assigned_staff_id = author.staff_id
    return _append(conversation, author, event="joined")


async def do_start_conversation(
    rt: Runtime,
    team: Team | TeamRef,
    *,
    browser: bytes | None = None,
    kind: str = Kind.CHAT.value,
) -> tuple[Conversation, str]:
    code = resume_codes.generate()
    code_hash = resume_codes.hash_code(code)
    assert code_hash is not None  # noqa: S101 - generate() always yields a valid code
    conversation_id = uuid.uuid4().hex
    # The data key first: if the conversation is not stored after all, the purge job
    # removes the key it left behind.
    await rt.keys.create(team.id, conversation_id)

    def store(session: Session) -> Conversation:
        number = session.execute(
            update(Team)
            .where(Team.id == team.id)
            .values(conversation_counter=Team.conversation_counter + 1)
            .returning(Team.conversation_counter)
        ).scalar_one()
        conversation = Conversation(
            id=conversation_id,
            team_id=team.id,
            number=number,
            state=ConversationState.QUEUED.value,
            resume_hash=code_hash,
            last_seq=0,
            kind=kind,
            browser_hash=browser,
        )
        session.add(conversation)
        return conversation

    # Group commit, as for messages: starts arriving together share one commit.
    conversation = await rt.db.grouped(store)
    # Workers see a conversation from its first message on (see ``summaries``): a young
    # person who only opened the chat, or a retried ``start``, bothers nobody.
    return conversation, code


async def do_send_message(
    rt: Runtime,
    team_id: int,
    conversation_id: str,
    author: Author,
    client_id: str,
    body: str,
) -> SendResult:
    """Store a message exactly once per ``client_id``; a retry returns the stored row."""
    text = check_body(body)
    if author.sender is Sender.YOUTH:
        await rt.risk.prepare(rt.db, team_id)
    aead = await content.cipher(rt, team_id, conversation_id)

    def stored(session: Session) -> _Stored | None:
        """The message this ``client_id`` already stored (a retry), if any."""
        existing = session.execute(by_client_id(conversation_id, client_id)).scalar()
        if existing is None:
            return None
        if existing.team_id != team_id:
            raise NotFound
        return _Stored(existing)

    # ``store`` must not refer to itself: a closure that does is a reference cycle, left
    # to the garbage collector after every message (its pauses set the p99 of delivery).
    def store(session: Session, careful: bool = True) -> _Stored:
        if careful and (retry := stored(session)) is not None:
            return retry
        # Optimistic (in a group): a retry of a stored message breaks the unique
        # (conversation, client_id) constraint, and its group is written again carefully.
        try:
            held = locked_with_holder(session, team_id, conversation_id)
            conversation = held.conversation
            assert conversation is not None  # noqa: S101 - checked by locked_with_holder
            if conversation.state == ConversationState.CLOSED:
                raise ConversationClosed
            if aead is None:  # its key is gone: nothing more may be written there
                raise ConversationClosed
        except (NotFound, ConversationClosed):
            # A late retry of a stored message still gets its ack.
            if careful or (retry := stored(session)) is None:
                raise
            return retry
        # Checks above, changes below: a write that fails leaves its group untouched.
        entered_queue = conversation.last_seq == 0
        new: list[Message] = []
        took = flagged_now = False
        if author.sender is Sender.STAFF:
            if conversation.state == ConversationState.QUEUED:
                new.append(_take(conversation, author))
                took = True
                held.holder_name = author.first_name
            if conversation.first_reply_at is None:
                conversation.first_reply_at = utcnow()
        if author.sender is Sender.YOUTH:
            hits = rt.risk.match(conversation.team_id, text)
            if hits:
                flagged_now = not conversation.flagged
                conversation.flagged = True
                conversation.flag_categories = sorted(
                    set(conversation.flag_categories or []) | hits
                )
        message = _append(conversation, author, body=text, client_id=client_id, aead=aead)
        new.append(message)
        insert_with_group(session, new)
        return _Stored(
            message, conversation, new, entered_queue, took, flagged_now, held.holder_name
        )

    try:
        # Group commit: sends arriving together share one transaction and one disk flush;
        # each is acknowledged only after that commit.
        outcome = await rt.db.grouped(
            functools.partial(store, careful=False),
            alone=store,
            prepare=read_ahead,
            key=conversation_id,
        )
    except IntegrityError:
        # A concurrent retry with the same client_id won the race: answer with its row.
        async with rt.db.read() as read:
            existing = (await read.execute(by_client_id(conversation_id, client_id))).scalar()
        if existing is None or existing.team_id != team_id:
            raise Busy from None
        _open_bodies(aead, [existing])
        return SendResult(message=existing, created=False)
    except OperationalError:
        log.warning("could not store a message; the client will retry", exc_info=True)
        raise Busy from None
    conversation, message = outcome.conversation, outcome.message
    if conversation is None:
        _open_bodies(aead, [message])
        return SendResult(message=message, created=False)
    new, took = outcome.new, outcome.took
    push.after_send(rt, conversation, author.sender, outcome.entered_queue, outcome.flagged_now)
    await _publish(rt, conversation, new, outcome.holder_name)
    if took and author.staff_id is not None:
        await rt.hub.publish(
            conversation_channel(conversation.id), encode(await worker_frame(rt, author.staff_id))
        )
    if outcome.entered_queue or outcome.flagged_now or took:
        await queue.publish_queue(rt, conversation.team_id)
    return SendResult(message=message, created=True, published=new)


async def do_take(rt: Runtime, team_id: int, conversation_id: str, author: Author) -> Message:
    def store(session: Session) -> tuple[Conversation, Message]:
        held = locked_with_holder(session, team_id, conversation_id)
        conversation = held.conversation
        assert conversation is not None  # noqa: S101 - checked by locked_with_holder
        joined = _take(conversation, author)  # refuses before it changes anything
        held.holder_name = author.first_name  # later writes of the group see the new holder
        session.add(joined)
        return conversation, joined

    # Group commit, as for messages: workers taking chats at the same moment share commits.
    conversation, joined = await rt.db.grouped(store, prepare=read_ahead, key=conversation_id)
    await _publish(rt, conversation, [joined], author.first_name)
    if author.staff_id is not None:
        await rt.hub.publish(
            conversation_channel(conversation.id), encode(await worker_frame(rt, author.staff_id))
        )
    await queue.publish_queue(rt, team_id)
    return joined


async def do_close(
    rt: Runtime,
    team_id: int,
    conversation_id: str,
    author: Author,
    *,
    topics: list[str] | None = None,
    outcome: str | None = None,
) -> Message | None:
    """Close the conversation (with the worker's topics and outcome); ``None`` if it was
    already closed."""
    async with rt.db.write() as session:
        conversation = await locked(session, team_id, conversation_id)
        if conversation.state == ConversationState.CLOSED:
            return None
        check_transition(conversation, ConversationState.CLOSED)
        was_queued = conversation.state == ConversationState.QUEUED
        conversation.state = ConversationState.CLOSED.value
        conversation.closed_at = utcnow()
        if topics:
            conversation.topics = topics
        if outcome:
            conversation.outcome = outcome
        closed = _append(conversation, Author(Sender.SYSTEM), event="closed")
        session.add(closed)
    await _publish(rt, conversation, [closed])
    if was_queued:
        await queue.publish_queue(rt, team_id)
    return closed


def _open_bodies(aead: AESGCM | None, messages: Sequence[Message]) -> None:
    for message in messages:
        message.body = content.open_text(
            aead, message.body_ct, content.message_aad(message.conversation_id, message.seq)
        )


async def _publish(
    rt: Runtime,
    conversation: Conversation,
    messages: Sequence[Message],
    holder_name: str | summaries.Unread | None = summaries.UNREAD,
) -> None:
    channel = conversation_channel(conversation.id)
    for message in messages:
        await rt.hub.publish(channel, encode(message_frame(message)))
    await summaries.publish_summary(rt, conversation, holder_name)


# Built once: every resume and every socket catching up reads its history.
_HISTORY = (
    select(Message)
    .where(
        Message.team_id == bindparam("team_id"),
        Message.conversation_id == bindparam("conversation_id"),
        Message.seq > bindparam("after"),
    )
    .order_by(Message.seq)
    .limit(bindparam("batch"))
)


def history_batch(
    session: Session,
    aead: AESGCM | None,
    team_id: int,
    conversation_id: str,
    after_seq: int,
) -> list[Message]:
    """Up to ``HISTORY_BATCH`` messages with ``seq > after_seq`` in order, scoped to the
    team, with their bodies opened by ``aead`` (``content.cipher``'s); synchronous
    (``Database.reading``)."""
    params = {
        "team_id": team_id,
        "conversation_id": conversation_id,
        "after": after_seq,
        "batch": HISTORY_BATCH,
    }
    batch = list(session.execute(_HISTORY, params).scalars())
    _open_bodies(aead, batch)
    return batch


async def history(
    rt: Runtime, team_id: int, conversation_id: str, after_seq: int
) -> AsyncIterator[list[Message]]:
    """Messages with ``seq > after_seq`` in order, in batches, scoped to the team, with
    their bodies opened."""
    cursor = after_seq
    aead = await content.cipher(rt, team_id, conversation_id)
    while True:
        batch = await rt.db.reading(
            functools.partial(
                history_batch,
                aead=aead,
                team_id=team_id,
                conversation_id=conversation_id,
                after_seq=cursor,
            )
        )
        if not batch:
            return
        yield batch
        if len(batch) < HISTORY_BATCH:
            return
        cursor = batch[-1].seq


async def do_record_opened(rt: Runtime, caller: StaffIdentity, conversation_id: str) -> None:
    """Audit that a worker opened a conversation and read its history."""

    def store(session: Session) -> None:
        audit.record_in(
            session,
            caller.team_id,
            Action.CONVERSATION_OPENED,
            Actor(caller.user_id, caller.email),
            target_type="conversation",
            target_id=conversation_id,
        )

    # Shared with the writes of the same moment (each entry still chains to the one
    # before it: ``record`` flushes it before the next one reads the head).
    await rt.db.grouped(store)


def profile_of(user: StaffUser) -> WorkerProfile:
    return WorkerProfile(
        first_name=user.first_name,
        photo=f"/photos/{user.photo_token}.jpg" if user.photo_token else None,
        introduction=user.introduction or None,
    )


async def worker_profile(rt: Runtime, staff_id: int | None) -> WorkerProfile | None:
    if staff_id is None:
        return None
    return await rt.db.reading(functools.partial(read_worker_profile, staff_id=staff_id))


def read_worker_profile(session: Session, staff_id: int | None) -> WorkerProfile | None:
    """The profile of the worker holding a conversation, in the caller's session
    (synchronous: ``Database.reading``)."""
    if staff_id is None:
        return None
    user = session.get(StaffUser, staff_id)
    return profile_of(user) if user is not None else None


async def worker_frame(rt: Runtime, staff_id: int) -> WorkerFrame:
    profile = await worker_profile(rt, staff_id)
    assert profile is not None  # noqa: S101 - a worker who just wrote exists
    return WorkerFrame(profile=profile)
