from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lykta.db import Base, UTCDateTime


class DailyStats(Base):
    """What survives a purge: counts per team, day (the team's local date the conversation
    began) and kind. No content, no times finer than a day, nothing per conversation."""

    __tablename__ = "daily_stats"
    __table_args__ = (UniqueConstraint("team_id", "day", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    youth_messages: Mapped[int] = mapped_column(Integer, default=0)
    staff_messages: Mapped[int] = mapped_column(Integer, default=0)
    wait_seconds: Mapped[int] = mapped_column(Integer, default=0)
    """Sum over answered conversations of the time until the first reply."""
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0)
    """Sum over closed conversations of the time from start to close."""
    topics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcomes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    feedback: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JobLease(Base):
    """A lease on a periodic job, so that one node at a time runs it (any database)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
