from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from lykta.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    """Worker: the team's conversations and their own profile. Admin: also members,
    settings and the audit log. (Operators have no account: they use the CLI.)"""

    WORKER = "worker"
    ADMIN = "admin"


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(60))
    """The only thing about a worker a young person sees."""
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    """An optional 256x256 JPEG, re-encoded on upload (no camera metadata survives)."""
    photo_token: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    """The photo's public address (``/photos/<token>.jpg``); new for every upload."""
    introduction: Mapped[str | None] = mapped_column(String(140), nullable=True)
    """One line shown to young people under the first name and photo."""
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default=Role.WORKER.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Base32 TOTP secret; None until enrolled (an account cannot log in without it)."""
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    """False until the person has proven, with a code, that their app holds the secret."""
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    """The last accepted TOTP time step: a code is never accepted twice."""
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    """A logged-in browser. Only a hash of the cookie's token is stored.

    A session is ``pending`` between the password and the second factor: it then opens
    nothing but the second-factor (or enrolment) step.
    """

    __tablename__ = "staff_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Base):
    """Single-use second factor for a lost phone. Only a salted hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Invitation(Base):
    """A single-use, expiring link with which a team admin brings in a new member."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default=Role.WORKER.value)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
