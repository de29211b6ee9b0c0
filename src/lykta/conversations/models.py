from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lykta.db import Base, UTCDateTime, utcnow

UNSEALED: dict[str, Any] = {
    "sqlite_where": text("body IS NOT NULL"),
    "postgresql_where": text("body IS NOT NULL"),
}
"""A partial index's condition: rows whose plaintext (``legacy_body``) is not sealed yet."""


class ConversationState(enum.StrEnum):
    """queued -> active -> closed; queued -> closed. Nothing leaves ``closed``."""

    QUEUED = "queued"
    ACTIVE = "active"
    CLOSED = "closed"


ALLOWED_TRANSITIONS: dict[ConversationState, frozenset[ConversationState]] = {
    ConversationState.QUEUED: frozenset({ConversationState.ACTIVE, ConversationState.CLOSED}),
    # Back to the queue: a worker hands the conversation over to whoever takes it next.
    ConversationState.ACTIVE: frozenset({ConversationState.QUEUED, ConversationState.CLOSED}),
    ConversationState.CLOSED: frozenset(),
}


class Kind(enum.StrEnum):
    CHAT = "chat"
    QUESTION = "question"
    """Left for later (always, when the team is closed); read by coming back with the code."""


class Sender(enum.StrEnum):
    YOUTH = "youth"
    STAFF = "staff"
    SYSTEM = "system"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("team_id", "number"),
        Index("ix_conversations_team_state", "team_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Random, unguessable; never shown to the young person as a secret."""
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    """Per-team running number so workers can say "I'll take 12"."""
    state: Mapped[str] = mapped_column(String(16), default=ConversationState.QUEUED.value)
    resume_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    """SHA-256 of the normalised resume code; the code itself is never stored."""
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    assigned_staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default=Kind.CHAT.value)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    """At risk: first in the queue, a banner for workers; never shown to the young person."""
    flag_categories: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    first_reply_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When a worker first wrote; the team's recent answer times give the estimated wait."""
    youth_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    staff_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    topics: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    feedback: Mapped[str | None] = mapped_column(String(8), nullable=True)
    browser_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True, index=True)
    """Hash of a random token the young person's tab made: lets a block hold without
    knowing who anyone is."""
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Note(Base):
    """An internal note on a conversation: workers only, never the young person."""

    __tablename__ = "notes"
    __allow_unmapped__ = True  # ``body`` below is not a column
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id"),
        # Finds plaintext left to seal at start-up without scanning the table.
        Index("ix_notes_unsealed", "id", **UNSEALED),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True
    )
    author: Mapped[str] = mapped_column(String(60))
    body_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The text, sealed under the conversation's data key (``conversations.content``)."""
    legacy_body: Mapped[str | None] = mapped_column("body", Text, nullable=True)
    """Plaintext from before encryption at rest; sealed and emptied when a node starts."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    body: str | None = None
    """The opened text, set by the service layer; never stored."""


class Message(Base):
    """One entry in a conversation's gap-free sequence: a message or a system event."""

    __tablename__ = "messages"
    __allow_unmapped__ = True  # ``body`` below is not a column
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
        Index("ix_messages_unsealed", "id", **UNSEALED),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sender: Mapped[str] = mapped_column(String(8))
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True
    )
    author: Mapped[str | None] = mapped_column(String(60), nullable=True)
    """The worker's first name at the time of writing; never anything about the youth."""
    event: Mapped[str | None] = mapped_column(String(16), nullable=True)
    body_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The text, sealed under the conversation's data key (``conversations.content``)."""
    legacy_body: Mapped[str | None] = mapped_column("body", Text, nullable=True)
    """Plaintext from before encryption at rest; sealed and emptied when a node starts."""
    redacted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """A worker removed the text: it is gone from storage, "[removed]" is shown instead."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    body: str | None = None
    """The opened text, set by the service layer; never stored."""
