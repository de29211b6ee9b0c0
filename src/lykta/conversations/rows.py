"""The rows a conversation's writes work on: the conversation locked for the
transaction, and what a group commit's writes share (``Database.grouped``): one read of
all its conversations with their holders' first names, one statement updating those the
writes changed, and one inserting all the messages its sends wrote."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Select, Table, Update, bindparam, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from lykta.conversations import summaries
from lykta.conversations.errors import NotFound
from lykta.conversations.models import Conversation, Message
from lykta.db import BEFORE_COMMIT


def locking(session: AsyncSession | Session) -> bool:
    """A row lock on PostgreSQL; on SQLite the writer lock holds the whole database."""
    return session.get_bind().dialect.name != "sqlite"


async def locked(session: AsyncSession, team_id: int, conversation_id: str) -> Conversation:
    """The conversation row, locked for this transaction (on SQLite it may come from the
    session: several writes of one group)."""
    conversation = await session.get(
        Conversation, conversation_id, with_for_update=locking(session)
    )
    if conversation is None or conversation.team_id != team_id:
        raise NotFound
    return conversation


_READ_AHEAD = "lykta.conversations"
"""``session.info`` key: conversation id -> ``Held``, read for a group."""


@dataclass
class Held:
    """A conversation row of this transaction and its holder's first name, kept up to date
    by the group's writes (a take changes the name)."""

    conversation: Conversation | None
    holder_name: str | None


def _holder_query(for_update: bool) -> Select[Conversation, str]:
    """Conversations by id (the bound list ``ids``, sorted) and their holders' first names."""
    query = (
        select(Conversation, summaries.holder_name_column())
        .where(Conversation.id.in_(bindparam("ids", expanding=True)))
        .order_by(Conversation.id)
    )
    return query.with_for_update(of=Conversation) if for_update else query


# Built once: every group of sends, takes and openings reads its conversations with it.
_HOLDERS = {for_update: _holder_query(for_update) for for_update in (False, True)}


def _held(session: Session) -> dict[str, Held]:
    """The conversations this transaction read ahead or locked, by id; the first call
    arranges for the changes the writes make to them to be written in one go."""
    found: dict[str, Held] | None = session.info.get(_READ_AHEAD)
    if found is None:
        found = session.info[_READ_AHEAD] = {}
        session.info.setdefault(BEFORE_COMMIT, {})[_READ_AHEAD] = _update_held
    return found


def read_ahead(session: Session, conversation_ids: list[str]) -> None:
    """A group's conversations and their holders' first names, in one statement, locked
    (``Database.grouped``'s ``prepare``); in id order, so two groups never deadlock."""
    found = _held(session)
    ids = sorted(set(conversation_ids))
    for conversation, name in session.execute(_HOLDERS[locking(session)], {"ids": ids}).all():
        found[conversation.id] = Held(conversation, name)


def locked_with_holder(session: Session, team_id: int, conversation_id: str) -> Held:
    """``locked`` and the holder's first name: read ahead for the group, or read now."""
    found = _held(session)
    held: Held | None = found.get(conversation_id)
    if held is None:
        query = _HOLDERS[locking(session)]
        row = session.execute(query, {"ids": [conversation_id]}).one_or_none()
        held = found[conversation_id] = Held(row[0], row[1]) if row else Held(None, None)
    if held.conversation is None or held.conversation.team_id != team_id:
        raise NotFound
    return held


_CONVERSATIONS = cast(Table, Conversation.__table__)


@functools.cache
def _update_statement(columns: frozenset[str]) -> Update:
    """``UPDATE conversations`` by id for one set of changed columns, built once."""
    return (
        update(_CONVERSATIONS)
        .where(_CONVERSATIONS.c.id == bindparam("_id"))
        .values({name: bindparam(name) for name in sorted(columns)})
    )


_COLUMNS = {attr.key: attr.columns[0].key for attr in inspect(Conversation).column_attrs}
"""The mapped attributes that are columns of ``conversations``, and their columns' names
(anything else, a relationship added one day, is still written by the ORM's flush)."""


def _update_held(session: Session) -> None:
    """Write what the group's writes changed in their conversations: one statement for
    all conversations with the same changed columns (a send changes the sequence and the
    last activity), run for many rows at once, instead of the ORM's unit of work, which
    works out each object's changes and writes them one by one. The objects then leave
    the session with their new values as committed state, so that its flushes (before the
    messages' INSERT, and before the commit) have nothing left to look at: a flush of a
    session that still holds a changed object costs about as much as the statement."""
    found: dict[str, Held] = session.info.pop(_READ_AHEAD, {})
    batches: dict[frozenset[str], list[dict[str, object]]] = {}
    for held in found.values():
        conversation = held.conversation
        if conversation is None:
            continue
        state = inspect(conversation)
        if not state.modified or not state.persistent:
            continue
        changed = _COLUMNS.keys() - state.unmodified
        if not changed or "id" in changed:
            continue  # nothing, or a new key: the ORM's flush writes that
        row: dict[str, object] = {"_id": conversation.id}
        for name in changed:
            row[_COLUMNS[name]] = value = getattr(conversation, name)
            set_committed_value(conversation, name, value)
        session.expunge(conversation)
        batches.setdefault(frozenset(_COLUMNS[name] for name in changed), []).append(row)
    for columns, rows in batches.items():
        session.connection().execute(_update_statement(columns), rows)


_NEW_MESSAGES = "lykta.new_messages"
"""``session.info`` key: the messages a group's sends wrote, inserted together."""


def insert_with_group(session: Session, messages: list[Message]) -> None:
    """Insert ``messages`` with the others of the group, in one statement before its
    commit (a plain multi-row INSERT: cheaper than the ORM's unit of work, and nobody
    needs the rows' ids)."""
    pending: list[Message] | None = session.info.get(_NEW_MESSAGES)
    if pending is None:
        pending = session.info[_NEW_MESSAGES] = []
        session.info.setdefault(BEFORE_COMMIT, {})[_NEW_MESSAGES] = _insert_pending
    pending.extend(messages)


_INSERT_MESSAGES = insert(cast(Table, Message.__table__))


def _insert_pending(session: Session) -> None:
    rows = [
        {
            "team_id": m.team_id,
            "conversation_id": m.conversation_id,
            "seq": m.seq,
            "client_id": m.client_id,
            "sender": m.sender,
            "staff_id": m.staff_id,
            "author": m.author,
            "event": m.event,
            "body_ct": m.body_ct,
            "created_at": m.created_at,
        }
        for m in session.info.pop(_NEW_MESSAGES)
    ]
    session.execute(_INSERT_MESSAGES, rows)


def by_client_id(conversation_id: str, client_id: str) -> Select[Message]:
    """The message a ``client_id`` names in a conversation (unique: one row or none)."""
    return select(Message).where(
        Message.conversation_id == conversation_id, Message.client_id == client_id
    )
