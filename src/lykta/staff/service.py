"""Staff accounts and sessions. Writes happen only here.

A session is a random token in an HttpOnly cookie; the database holds only its SHA-256.
Sessions end after 30 minutes without use or 12 hours after login.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.db import utcnow
from lykta.runtime import Runtime
from lykta.staff.models import StaffSession, StaffUser
from lykta.teams.models import Team

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
TOUCH_EVERY = dt.timedelta(seconds=60)
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused before hashing (denial of service)."""
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")


class StaffError(ValueError):
    """An account could not be created; the message is fit to show an operator."""


@dataclass(frozen=True)
class StaffIdentity:
    """Who is calling, resolved from a session. Every staff access check takes one."""

    user_id: int
    team_id: int
    first_name: str
    team_slug: str
    team_name: str


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def do_create_staff(
    session: AsyncSession,
    hasher: PasswordHasher,
    team: Team,
    *,
    email: str,
    password: str,
    first_name: str,
) -> StaffUser:
    email = normalise_email(email)
    if not EMAIL_RE.fullmatch(email):
        raise StaffError(f"invalid e-mail address {email!r}")
    first_name = first_name.strip()
    if not first_name or len(first_name) > 60:
        raise StaffError("a first name of 1-60 characters is required")
    if not 12 <= len(password) <= MAX_PASSWORD_LENGTH:
        raise StaffError("a password must be 12 to 1024 characters long")
    existing = await session.execute(select(StaffUser.id).where(StaffUser.email == email))
    if existing.first() is not None:
        raise StaffError(f"an account with e-mail {email!r} already exists")
    password_hash = await asyncio.to_thread(hasher.hash, password)
    user = StaffUser(
        team_id=team.id, email=email, password_hash=password_hash, first_name=first_name
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(rt: Runtime, email: str, password: str) -> StaffUser | None:
    """The active account with this e-mail and password, or None. Same work either way."""
    if len(password) > MAX_PASSWORD_LENGTH or len(email) > 254:
        return None
    async with rt.db.read() as session:
        user = (
            await session.execute(
                select(StaffUser).where(StaffUser.email == normalise_email(email))
            )
        ).scalar_one_or_none()
    stored = user.password_hash if user is not None else _dummy_hash(rt.hasher)
    try:
        await asyncio.to_thread(rt.hasher.verify, stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return user


_DUMMY: dict[tuple[int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the e-mail is unknown, so timing does not tell."""
    key = (hasher.time_cost, hasher.memory_cost)
    if key not in _DUMMY:
        _DUMMY[key] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY[key]


async def do_create_session(rt: Runtime, user: StaffUser) -> str:
    token = secrets.token_urlsafe(32)
    async with rt.db.write() as session:
        session.add(
            StaffSession(token_hash=hash_token(token), team_id=user.team_id, user_id=user.id)
        )
    return token


async def resolve_session(rt: Runtime, token: str | None) -> StaffIdentity | None:
    """The identity behind a session cookie, or None if missing, expired or deactivated."""
    if not token or len(token) > 128:
        return None
    token_hash = hash_token(token)
    now = utcnow()
    async with rt.db.read() as session:
        row = (
            await session.execute(
                select(StaffSession, StaffUser, Team)
                .join(StaffUser, StaffUser.id == StaffSession.user_id)
                .join(Team, Team.id == StaffSession.team_id)
                .where(StaffSession.token_hash == token_hash)
            )
        ).first()
    if row is None:
        return None
    staff_session, user, team = row
    expired = (
        now - staff_session.last_seen_at > IDLE_TIMEOUT
        or now - staff_session.created_at > ABSOLUTE_TIMEOUT
        or not user.active
        or user.team_id != staff_session.team_id
    )
    if expired:
        await do_end_session(rt, token)
        return None
    if now - staff_session.last_seen_at > TOUCH_EVERY:
        async with rt.db.write() as session:
            await session.execute(
                update(StaffSession)
                .where(StaffSession.token_hash == token_hash)
                .values(last_seen_at=now)
            )
    return StaffIdentity(
        user_id=user.id,
        team_id=team.id,
        first_name=user.first_name,
        team_slug=team.slug,
        team_name=team.name,
    )


async def do_end_session(rt: Runtime, token: str) -> None:
    async with rt.db.write() as session:
        await session.execute(
            delete(StaffSession).where(StaffSession.token_hash == hash_token(token))
        )


async def count_sessions(rt: Runtime, user_id: int) -> int:
    async with rt.db.read() as session:
        result = await session.execute(
            select(func.count()).select_from(StaffSession).where(StaffSession.user_id == user_id)
        )
        return int(result.scalar_one())
