from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lykta.db import Base, UTCDateTime, utcnow


class Team(Base):
    """A field group, youth clinic or association. Owns every other row (``team_id``)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    default_locale: Mapped[str] = mapped_column(String(8), default="sv")
    session_idle_minutes: Mapped[int] = mapped_column(Integer, default=30)
    session_absolute_hours: Mapped[int] = mapped_column(Integer, default=12)
    country: Mapped[str] = mapped_column(String(2), default="se")
    """Decides the default help numbers (Sweden or Norway)."""
    help_numbers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    """Emergency and 24/7 numbers shown to young people; None means the country's defaults."""
    topics: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """Topics a worker picks on closing; None means the defaults."""
    risk_guidance: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Shown to workers on a flagged conversation; None means the default guidance."""
    block_hours: Mapped[int] = mapped_column(Integer, default=24)
    quick_exit_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    """Where the young person's quick exit leads; None means the installation's default."""
    neutral_title: Mapped[str | None] = mapped_column(String(60), nullable=True)
    """The chat page's tab title instead of the team's name; None shows the name."""
    neutral_icon: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """One of the bundled neutral favicons (``teams.privacy.NEUTRAL_ICONS``); None: Lykta's."""
    embed_origins: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """Origins allowed to show the chat page in a frame; None or empty: none."""
    retention_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    """Days a closed conversation is kept before it is purged (0-365)."""
    question_wait_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    """Days an unanswered question waits for an answer before it is purged (1-90)."""
    conversation_counter: Mapped[int] = mapped_column(Integer, default=0)
    """Last per-team conversation number handed out ("Chat 12" in the worker's list)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpeningHours(Base):
    """One opening period on a weekday (0 = Monday), in the team's own time zone."""

    __tablename__ = "opening_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[str] = mapped_column(String(5))
    """Local time, ``HH:MM``."""
    closes: Mapped[str] = mapped_column(String(5))


class OpeningException(Base):
    """A dated exception (a holiday, an evening event): closed, or other hours that day."""

    __tablename__ = "opening_exceptions"
    __table_args__ = (UniqueConstraint("team_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    opens: Mapped[str | None] = mapped_column(String(5), nullable=True)
    closes: Mapped[str | None] = mapped_column(String(5), nullable=True)
    """Both None: closed all day."""
    label: Mapped[str] = mapped_column(String(100), default="")


class CannedReply(Base):
    """A ready reply: typing ``/key`` in the composer expands it."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)


class RiskWord(Base):
    """A team's own addition to the shipped risk word lists."""

    __tablename__ = "risk_words"
    __table_args__ = (UniqueConstraint("team_id", "category", "pattern"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))
    pattern: Mapped[str] = mapped_column(String(100))
