"""Staff accounts and sessions. Writes happen only here (and in ``login``/``members``).

A session is a random token in an HttpOnly cookie; the database holds only its SHA-256.
Sessions end after the team's idle timeout (default 30 minutes) or absolute timeout
(default 12 hours). Ending sessions is published on the user's control channel, so every
node closes that user's live sockets at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.db import utcnow
from lykta.errors import UserError
from lykta.i18n import N_
from lykta.runtime import Runtime
from lykta.staff.models import Role, StaffSession, StaffUser
from lykta.teams.models import Team

PENDING_TIMEOUT = dt.timedelta(minutes=10)
"""Between the password and the second factor (or enrolment)."""
TOUCH_EVERY = dt.timedelta(seconds=60)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused before hashing (denial of service)."""
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")


class StaffError(UserError):
    """An account change could not be made; the message is fit to show its author."""


@dataclass(frozen=True)
class StaffIdentity:
    """Who is calling, resolved from a session. Every staff access check takes one."""

    user_id: int
    team_id: int
    first_name: str
    team_slug: str
    team_name: str
    role: str = Role.WORKER.value
    email: str = ""
    session_hash: bytes = b""

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    email = normalise_email(email)
    if not EMAIL_RE.fullmatch(email):
        raise StaffError(N_("%(email)s is not a valid e-mail address."), email=email)
    return email


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise StaffError(
            N_("A password must be %(min)d to %(max)d characters long."),
            min=MIN_PASSWORD_LENGTH,
            max=MAX_PASSWORD_LENGTH,
        )
    return password


def check_first_name(first_name: str) -> str:
    first_name = " ".join(first_name.split())
    if not first_name or len(first_name) > 60:
        raise StaffError(N_("A first name of 1 to 60 characters is required."))
    return first_name


def check_role(role: str) -> str:
    if role not in {r.value for r in Role}:
        raise StaffError(N_("Unknown role %(role)s: use worker or admin."), role=role)
    return role


async def check_email_free(session: AsyncSession, email: str) -> None:
    existing = await session.execute(select(StaffUser.id).where(StaffUser.email == email))
    if existing.first() is not None:
        raise StaffError(N_("An account with the e-mail %(email)s already exists."), email=email)


async def hash_password(hasher: PasswordHasher, password: str) -> str:
    return await asyncio.to_thread(hasher.hash, check_password(password))


async def do_create_staff(
    session: AsyncSession,
    hasher: PasswordHasher,
    team: Team,
    *,
    email: str,
    password: str,
    first_name: str,
    role: str = Role.WORKER.value,
    totp_secret: str | None = None,
) -> StaffUser:
    email = check_email(email)
    first_name = check_first_name(first_name)
    role = check_role(role)
    check_password(password)
    await check_email_free(session, email)
    user = StaffUser(
        team_id=team.id,
        email=email,
        password_hash=await hash_password(hasher, password),
        first_name=first_name,
        role=role,
        totp_secret=totp_secret,
        totp_confirmed=totp_secret is not None,
    )
    session.add(user)
    await session.flush()
    return user


async def verify_password(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        await asyncio.to_thread(hasher.verify, stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return True


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
    if not await verify_password(rt.hasher, stored, password):
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


# ----- sessions --------------------------------------------------------------------------


def control_channel(user_id: int) -> str:
    return f"ctl:user:{user_id}"


async def do_create_session(rt: Runtime, user: StaffUser, *, pending: bool = False) -> str:
    token = secrets.token_urlsafe(32)
    async with rt.db.write() as session:
        session.add(
            StaffSession(
                token_hash=hash_token(token),
                team_id=user.team_id,
                user_id=user.id,
                pending=pending,
            )
        )
    return token


async def _load(rt: Runtime, token: str | None) -> tuple[StaffSession, StaffUser, Team] | None:
    if not token or len(token) > 128:
        return None
    async with rt.db.read() as session:
        row = (
            await session.execute(
                select(StaffSession, StaffUser, Team)
                .join(StaffUser, StaffUser.id == StaffSession.user_id)
                .join(Team, Team.id == StaffSession.team_id)
                .where(StaffSession.token_hash == hash_token(token))
            )
        ).first()
    if row is None:
        return None
    staff_session, user, team = row
    return staff_session, user, team


def session_expired(staff_session: StaffSession, user: StaffUser, team: Team) -> bool:
    now = utcnow()
    if staff_session.pending:
        idle, absolute = PENDING_TIMEOUT, PENDING_TIMEOUT
    else:
        idle = dt.timedelta(minutes=team.session_idle_minutes)
        absolute = dt.timedelta(hours=team.session_absolute_hours)
    return (
        now - staff_session.last_seen_at > idle
        or now - staff_session.created_at > absolute
        or not user.active
        or user.team_id != staff_session.team_id
    )


async def resolve_session(
    rt: Runtime, token: str | None, *, touch: bool = True, pending: bool = False
) -> StaffIdentity | None:
    """The identity behind a session cookie, or None if missing, expired or deactivated.

    Only complete sessions resolve, unless ``pending`` asks for one that has passed the
    password but not yet the second factor.
    """
    loaded = await _load(rt, token)
    if loaded is None:
        return None
    staff_session, user, team = loaded
    if staff_session.pending != pending:
        return None
    if session_expired(staff_session, user, team):
        await _delete_sessions(rt, [staff_session.token_hash], user.id)
        return None
    if touch and utcnow() - staff_session.last_seen_at > TOUCH_EVERY:
        await touch_session(rt, staff_session.token_hash)
    return StaffIdentity(
        user_id=user.id,
        team_id=team.id,
        first_name=user.first_name,
        team_slug=team.slug,
        team_name=team.name,
        role=user.role,
        email=user.email,
        session_hash=staff_session.token_hash,
    )


async def touch_session(rt: Runtime, token_hash: bytes) -> None:
    async with rt.db.write() as session:
        await session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == token_hash)
            .values(last_seen_at=utcnow())
        )


async def session_alive(rt: Runtime, token_hash: bytes) -> bool:
    """True while the session exists, is complete, and has not timed out."""
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
        return False
    staff_session, user, team = row
    return not staff_session.pending and not session_expired(staff_session, user, team)


async def publish_sessions_ended(
    rt: Runtime, user_id: int, token_hashes: Sequence[bytes] | None
) -> None:
    """Tell every node to close this user's sockets (all of them, or those sessions')."""
    payload = {"end": "all"} if token_hashes is None else {"end": [h.hex() for h in token_hashes]}
    await rt.hub.publish(control_channel(user_id), orjson.dumps(payload))


async def _delete_sessions(rt: Runtime, token_hashes: Sequence[bytes], user_id: int) -> None:
    async with rt.db.write() as session:
        await session.execute(
            delete(StaffSession).where(StaffSession.token_hash.in_(list(token_hashes)))
        )
    await publish_sessions_ended(rt, user_id, token_hashes)


async def do_end_session(rt: Runtime, token: str) -> None:
    token_hash = hash_token(token)
    async with rt.db.read() as session:
        user_id = (
            await session.execute(
                select(StaffSession.user_id).where(StaffSession.token_hash == token_hash)
            )
        ).scalar_one_or_none()
    if user_id is not None:
        await _delete_sessions(rt, [token_hash], user_id)


async def end_user_sessions(
    session: AsyncSession, user_id: int, *, keep: bytes | None = None
) -> list[bytes]:
    """Delete the user's sessions (but ``keep``) in the caller's transaction. The caller
    publishes ``publish_sessions_ended`` after commit."""
    query = select(StaffSession.token_hash).where(StaffSession.user_id == user_id)
    if keep is not None:
        query = query.where(StaffSession.token_hash != keep)
    hashes = list((await session.execute(query)).scalars())
    if hashes:
        await session.execute(delete(StaffSession).where(StaffSession.token_hash.in_(hashes)))
    return hashes
