from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lykta.db import Base, UTCDateTime, utcnow


class ConversationState(enum.StrEnum):
    """queued -> active -> closed; queued -> closed. Nothing leaves ``closed``."""

    QUEUED = "queued"
    ACTIVE = "active"
    CLOSED = "closed"


ALLOWED_TRANSITIONS: dict[ConversationState, frozenset[ConversationState]] = {
    ConversationState.QUEUED: frozenset({ConversationState.ACTIVE, ConversationState.CLOSED}),
    ConversationState.ACTIVE: frozenset({ConversationState.CLOSED}),
    ConversationState.CLOSED: frozenset(),
}


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


class Message(Base):
    """One entry in a conversation's gap-free sequence: a message or a system event."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "client_id"),
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
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
