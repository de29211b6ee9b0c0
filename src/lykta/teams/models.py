from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
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
    conversation_counter: Mapped[int] = mapped_column(Integer, default=0)
    """Last per-team conversation number handed out ("Chat 12" in the worker's list)."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
