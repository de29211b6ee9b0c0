"""Logging in: password, then a second factor (TOTP or a recovery code), or enrolment.

After the password a *pending* session is created; it opens only the second-factor and
enrolment steps. Passing them replaces it with a new, complete session (a new token, so
a token seen before the second factor is worthless after it). Every step is throttled
per account and per client, and audit-logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.audit import service as audit
from lykta.audit.service import Action, Actor
from lykta.db import utcnow
from lykta.runtime import Runtime
from lykta.staff import second_factor
from lykta.staff.models import RecoveryCode, StaffSession, StaffUser
from lykta.staff.service import (
    StaffIdentity,
    authenticate,
    do_create_session,
    normalise_email,
)
from lykta.staff.throttle import ACCOUNT_LOCK_AFTER, ACCOUNT_LOCK_FOR, delay_for


class Locked(Exception):
    """Too many failures: this account or this client must wait."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"locked for {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class PasswordPassed:
    token: str
    """A pending session's token."""
    needs_enrolment: bool


def actor_of(user: StaffUser) -> Actor:
    return Actor(user.id, user.email)


async def _user_by_email(rt: Runtime, email: str) -> StaffUser | None:
    if len(email) > 254:
        return None
    async with rt.db.read() as session:
        return (
            await session.execute(
                select(StaffUser).where(StaffUser.email == normalise_email(email))
            )
        ).scalar_one_or_none()


async def _check_locks(rt: Runtime, user: StaffUser | None, client_key: str) -> None:
    wait = rt.client_throttle.retry_after(client_key)
    if user is not None and user.locked_until is not None:
        wait = max(wait, (user.locked_until - utcnow()).total_seconds())
    if wait > 0:
        raise Locked(wait)


async def _slow_down(rt: Runtime, user: StaffUser | None, client_key: str) -> None:
    failures = max(rt.client_throttle.failures(client_key), user.failed_logins if user else 0)
    delay = delay_for(failures) * rt.settings.throttle_delay_scale
    if delay > 0:
        await asyncio.sleep(delay)


async def _record_failure(
    rt: Runtime, user: StaffUser | None, client_key: str, action: str
) -> None:
    rt.client_throttle.fail(client_key)
    if user is None:
        return  # an unknown e-mail belongs to no team; nothing to record it under
    async with rt.db.write() as session:
        failures = (
            await session.execute(
                update(StaffUser)
                .where(StaffUser.id == user.id)
                .values(failed_logins=StaffUser.failed_logins + 1)
                .returning(StaffUser.failed_logins)
            )
        ).scalar_one()
        await audit.record(
            session, user.team_id, action, actor_of(user), target_type="staff", target_id=user.id
        )
        if failures >= ACCOUNT_LOCK_AFTER:
            await session.execute(
                update(StaffUser)
                .where(StaffUser.id == user.id)
                .values(failed_logins=0, locked_until=utcnow() + ACCOUNT_LOCK_FOR)
            )
            await audit.record(
                session,
                user.team_id,
                Action.LOCKED_OUT,
                actor_of(user),
                target_type="staff",
                target_id=user.id,
                details={"minutes": int(ACCOUNT_LOCK_FOR / dt.timedelta(minutes=1))},
            )


async def login_password(
    rt: Runtime, email: str, password: str, client_key: str
) -> PasswordPassed | None:
    """Check the password. Raises ``Locked``; None for a wrong e-mail or password."""
    known = await _user_by_email(rt, email)
    await _check_locks(rt, known, client_key)
    await _slow_down(rt, known, client_key)
    user = await authenticate(rt, email, password)
    if user is None:
        await _record_failure(rt, known, client_key, Action.LOGIN_FAILED)
        return None
    token = await do_create_session(rt, user, pending=True)
    return PasswordPassed(token=token, needs_enrolment=not user.totp_confirmed)


async def _complete(rt: Runtime, pending: StaffIdentity, user: StaffUser) -> str:
    """Replace the pending session with a complete one; returns the new token."""
    async with rt.db.write() as session:
        await session.execute(
            delete(StaffSession).where(StaffSession.token_hash == pending.session_hash)
        )
        await session.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(failed_logins=0, locked_until=None)
        )
        await audit.record(
            session,
            user.team_id,
            Action.LOGIN,
            actor_of(user),
            target_type="staff",
            target_id=user.id,
        )
    return await do_create_session(rt, user)


async def _load_user(rt: Runtime, user_id: int) -> StaffUser:
    async with rt.db.read() as session:
        user = await session.get(StaffUser, user_id)
    if user is None or not user.active:
        raise Locked(0)
    return user


async def login_second_factor(
    rt: Runtime, pending: StaffIdentity, code: str, client_key: str
) -> str | None:
    """Check a TOTP or recovery code for a pending session. Returns a complete session's
    token, None for a wrong code; raises ``Locked``."""
    user = await _load_user(rt, pending.user_id)
    await _check_locks(rt, user, client_key)
    await _slow_down(rt, user, client_key)
    if user.totp_secret and user.totp_confirmed:
        step = second_factor.accept_totp(user.totp_secret, code, user.totp_last_step)
        if step is not None:
            async with rt.db.write() as session:
                # Conditional on the old step: two racing requests cannot both use a code.
                result = await session.execute(
                    update(StaffUser)
                    .where(StaffUser.id == user.id, StaffUser.totp_last_step < step)
                    .values(totp_last_step=step)
                )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return await _complete(rt, pending, user)
    if await _use_recovery_code(rt, user, code):
        return await _complete(rt, pending, user)
    await _record_failure(rt, user, client_key, Action.SECOND_FACTOR_FAILED)
    return None


async def _use_recovery_code(rt: Runtime, user: StaffUser, code: str) -> bool:
    code_hash = second_factor.hash_recovery_code(user.id, code)
    if code_hash is None:
        return False
    async with rt.db.write() as session:
        result = await session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
        used: bool = result.rowcount == 1  # type: ignore[attr-defined]
        if used:
            left = (
                await session.execute(
                    select(func.count()).where(
                        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
                    )
                )
            ).scalar_one()
            await audit.record(
                session,
                user.team_id,
                Action.RECOVERY_CODE_USED,
                actor_of(user),
                target_type="staff",
                target_id=user.id,
                details={"codes_left": left},
            )
    return used


async def enrolment_secret(rt: Runtime, pending: StaffIdentity) -> str:
    """The TOTP secret being enrolled (created on first call, kept until confirmed)."""
    async with rt.db.write() as session:
        user = await session.get(StaffUser, pending.user_id)
        if user is None or user.totp_confirmed:
            raise Locked(0)
        if user.totp_secret is None:
            user.totp_secret = second_factor.new_secret()
        return user.totp_secret


async def finish_enrolment(
    rt: Runtime, pending: StaffIdentity, code: str, client_key: str
) -> tuple[str, list[str]] | None:
    """Confirm the authenticator with a code. Returns (complete session token, recovery
    codes to show once), or None for a wrong code."""
    user = await _load_user(rt, pending.user_id)
    await _check_locks(rt, user, client_key)
    if user.totp_confirmed or user.totp_secret is None:
        raise Locked(0)
    step = second_factor.accept_totp(user.totp_secret, code, user.totp_last_step)
    if step is None:
        await _record_failure(rt, user, client_key, Action.SECOND_FACTOR_FAILED)
        return None
    codes = second_factor.new_recovery_codes()
    async with rt.db.write() as session:
        await session.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(totp_confirmed=True, totp_last_step=step)
        )
        await replace_recovery_codes(session, user, codes)
        await audit.record(
            session,
            user.team_id,
            Action.TOTP_ENROLLED,
            actor_of(user),
            target_type="staff",
            target_id=user.id,
        )
    return await _complete(rt, pending, user), codes


async def replace_recovery_codes(session: AsyncSession, user: StaffUser, codes: list[str]) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    for code in codes:
        code_hash = second_factor.hash_recovery_code(user.id, code)
        assert code_hash is not None  # noqa: S101 - generated codes are always valid
        session.add(RecoveryCode(team_id=user.team_id, user_id=user.id, code_hash=code_hash))


__all__ = [
    "Locked",
    "PasswordPassed",
    "enrolment_secret",
    "finish_enrolment",
    "login_password",
    "login_second_factor",
]


async def record_logout(rt: Runtime, caller: StaffIdentity) -> None:
    async with rt.db.write() as session:
        await audit.record(
            session,
            caller.team_id,
            Action.LOGOUT,
            Actor(caller.user_id, caller.email),
            target_type="staff",
            target_id=caller.user_id,
        )
