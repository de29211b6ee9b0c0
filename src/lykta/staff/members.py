"""What team admins do to members, and what every worker does to their own account.

Every lookup of a member goes through ``access_member_for_admin``: a member of another
team and a member that does not exist give the same ``MemberNotFound``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.audit import service as audit
from lykta.audit.service import Action, Actor, DetailValue
from lykta.db import utcnow
from lykta.i18n import N_
from lykta.runtime import Runtime
from lykta.staff import second_factor
from lykta.staff.login import replace_recovery_codes
from lykta.staff.models import Invitation, Role, StaffUser
from lykta.staff.service import (
    StaffError,
    StaffIdentity,
    check_email,
    check_email_free,
    check_first_name,
    check_role,
    do_create_session,
    end_user_sessions,
    hash_password,
    hash_token,
    publish_sessions_ended,
    verify_password,
)
from lykta.teams.models import Team

INVITATION_VALID_FOR = dt.timedelta(hours=72)


class MemberNotFound(LookupError):
    """Missing and another team's member look the same."""


class NotAllowed(PermissionError):
    """The caller's role does not allow this."""


def actor(caller: StaffIdentity) -> Actor:
    return Actor(caller.user_id, caller.email)


def require_admin(caller: StaffIdentity) -> None:
    if not caller.is_admin:
        raise NotAllowed


async def access_member_for_admin(
    session: AsyncSession, caller: StaffIdentity, member_id: int
) -> StaffUser:
    require_admin(caller)
    member = await session.get(StaffUser, member_id)
    if member is None:
        raise MemberNotFound
    if member.team_id != caller.team_id:
        raise MemberNotFound
    return member


@dataclass(frozen=True)
class MemberRow:
    id: int
    email: str
    first_name: str
    role: str
    active: bool
    enrolled: bool


async def list_members(rt: Runtime, caller: StaffIdentity) -> list[MemberRow]:
    require_admin(caller)
    async with rt.db.read() as session:
        users = (
            await session.execute(
                select(StaffUser)
                .where(StaffUser.team_id == caller.team_id)
                .order_by(StaffUser.active.desc(), StaffUser.first_name)
            )
        ).scalars()
        return [
            MemberRow(u.id, u.email, u.first_name, u.role, u.active, u.totp_confirmed)
            for u in users
        ]


async def list_open_invitations(rt: Runtime, caller: StaffIdentity) -> list[Invitation]:
    require_admin(caller)
    async with rt.db.read() as session:
        return list(
            (
                await session.execute(
                    select(Invitation)
                    .where(
                        Invitation.team_id == caller.team_id,
                        Invitation.used_at.is_(None),
                        Invitation.expires_at > utcnow(),
                    )
                    .order_by(Invitation.created_at.desc())
                )
            ).scalars()
        )


async def do_invite(rt: Runtime, caller: StaffIdentity, email: str, role: str) -> str:
    """Create a single-use invitation; returns the token for the link (shown once)."""
    require_admin(caller)
    email = check_email(email)
    role = check_role(role)
    token = secrets.token_urlsafe(32)
    async with rt.db.write() as session:
        await check_email_free(session, email)
        invitation = Invitation(
            team_id=caller.team_id,
            token_hash=hash_token(token),
            email=email,
            role=role,
            created_by=caller.user_id,
            expires_at=utcnow() + INVITATION_VALID_FOR,
        )
        session.add(invitation)
        await session.flush()
        await audit.record(
            session,
            caller.team_id,
            Action.MEMBER_INVITED,
            actor(caller),
            target_type="invitation",
            target_id=invitation.id,
            details={"email": email, "role": role},
        )
    return token


async def open_invitation(rt: Runtime, token: str) -> tuple[Invitation, Team] | None:
    """The unused, unexpired invitation behind a link, with its team."""
    if not token or len(token) > 128:
        return None
    async with rt.db.read() as session:
        row = (
            await session.execute(
                select(Invitation, Team)
                .join(Team, Team.id == Invitation.team_id)
                .where(Invitation.token_hash == hash_token(token))
            )
        ).first()
    if row is None:
        return None
    invitation, team = row
    if invitation.used_at is not None or invitation.expires_at <= utcnow():
        return None
    return invitation, team


async def do_accept_invitation(
    rt: Runtime, token: str, first_name: str, password: str
) -> str | None:
    """Create the account; returns a pending session's token (enrolment comes next), or
    None if the invitation is used, expired or unknown."""
    first_name = check_first_name(first_name)
    password_hash = await hash_password(rt.hasher, password)
    async with rt.db.write() as session:
        # Conditional update: of two racing acceptances, exactly one gets the row.
        result = await session.execute(
            update(Invitation)
            .where(
                Invitation.token_hash == hash_token(token),
                Invitation.used_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .values(used_at=utcnow())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        invitation = (
            await session.execute(
                select(Invitation).where(Invitation.token_hash == hash_token(token))
            )
        ).scalar_one()
        await check_email_free(session, invitation.email)
        user = StaffUser(
            team_id=invitation.team_id,
            email=invitation.email,
            password_hash=password_hash,
            first_name=first_name,
            role=invitation.role,
        )
        session.add(user)
        await session.flush()
        await audit.record(
            session,
            user.team_id,
            Action.INVITATION_ACCEPTED,
            Actor(user.id, user.email),
            target_type="staff",
            target_id=user.id,
            details={"invitation": invitation.id, "role": user.role},
        )
    return await do_create_session(rt, user, pending=True)


async def _admins_left(session: AsyncSession, team_id: int, without: int) -> int:
    result = await session.execute(
        select(func.count()).where(
            StaffUser.team_id == team_id,
            StaffUser.role == Role.ADMIN.value,
            StaffUser.active.is_(True),
            StaffUser.id != without,
        )
    )
    return int(result.scalar_one())


async def do_set_active(rt: Runtime, caller: StaffIdentity, member_id: int, active: bool) -> None:
    """Deactivate (ending every session and socket at once) or reactivate a member."""
    async with rt.db.write() as session:
        member = await access_member_for_admin(session, caller, member_id)
        if not active and member.id == caller.user_id:
            raise StaffError(N_("You cannot deactivate yourself."))
        if (
            not active
            and member.role == Role.ADMIN.value
            and not await _admins_left(session, caller.team_id, member.id)
        ):
            raise StaffError(N_("The team must keep at least one active admin."))
        member.active = active
        if not active:
            await end_user_sessions(session, member.id)
        await audit.record(
            session,
            caller.team_id,
            Action.MEMBER_REACTIVATED if active else Action.MEMBER_DEACTIVATED,
            actor(caller),
            target_type="staff",
            target_id=member.id,
            details={"email": member.email},
        )
    rt.teams.forget(caller.team_id)  # a member on duty no longer counts, or counts again
    if not active:
        await publish_sessions_ended(rt, member_id, None)


async def do_change_role(rt: Runtime, caller: StaffIdentity, member_id: int, role: str) -> None:
    role = check_role(role)
    async with rt.db.write() as session:
        member = await access_member_for_admin(session, caller, member_id)
        if member.role == role:
            return
        if member.role == Role.ADMIN.value and not await _admins_left(
            session, caller.team_id, member.id
        ):
            raise StaffError(N_("The team must keep at least one active admin."))
        previous, member.role = member.role, role
        await audit.record(
            session,
            caller.team_id,
            Action.MEMBER_ROLE_CHANGED,
            actor(caller),
            target_type="staff",
            target_id=member.id,
            details={"email": member.email, "from": previous, "to": role},
        )
    # Sockets and pages re-read the role; end sessions so no stale privilege survives.
    async with rt.db.write() as session:
        await end_user_sessions(session, member_id)
    await publish_sessions_ended(rt, member_id, None)


# ----- one's own account -----------------------------------------------------------------


async def update_own_account(
    rt: Runtime, caller: StaffIdentity, values: dict[str, object], details: dict[str, DetailValue]
) -> None:
    """Change fields of the caller's own account, audit-logged as a profile change."""
    async with rt.db.write() as session:
        await session.execute(
            update(StaffUser).where(StaffUser.id == caller.user_id).values(**values)
        )
        await audit.record(
            session,
            caller.team_id,
            Action.PROFILE_CHANGED,
            actor(caller),
            target_type="staff",
            target_id=caller.user_id,
            details=details,
        )


async def do_change_first_name(rt: Runtime, caller: StaffIdentity, first_name: str) -> None:
    first_name = check_first_name(first_name)
    await update_own_account(rt, caller, {"first_name": first_name}, {"field": "first_name"})


async def do_change_introduction(rt: Runtime, caller: StaffIdentity, text: str) -> None:
    """The one line young people see under the worker's name (empty removes it)."""
    text = " ".join(text.split())
    if len(text) > 140:
        raise StaffError(N_("Keep the introduction to one line of at most 140 characters."))
    await update_own_account(rt, caller, {"introduction": text or None}, {"field": "introduction"})


async def do_change_password(rt: Runtime, caller: StaffIdentity, current: str, new: str) -> None:
    """Change the password and end every other session of the account."""
    async with rt.db.read() as session:
        user = await session.get(StaffUser, caller.user_id)
    if user is None or not await verify_password(rt.hasher, user.password_hash, current):
        raise StaffError(N_("The current password is wrong."))
    new_hash = await hash_password(rt.hasher, new)
    async with rt.db.write() as session:
        await session.execute(
            update(StaffUser).where(StaffUser.id == caller.user_id).values(password_hash=new_hash)
        )
        ended = await end_user_sessions(session, caller.user_id, keep=caller.session_hash)
        await audit.record(
            session,
            caller.team_id,
            Action.PASSWORD_CHANGED,
            actor(caller),
            target_type="staff",
            target_id=caller.user_id,
            details={"sessions_ended": len(ended)},
        )
    await publish_sessions_ended(rt, caller.user_id, ended)


async def do_logout_everywhere(rt: Runtime, caller: StaffIdentity) -> None:
    async with rt.db.write() as session:
        ended = await end_user_sessions(session, caller.user_id)
        await audit.record(
            session,
            caller.team_id,
            Action.LOGOUT_EVERYWHERE,
            actor(caller),
            target_type="staff",
            target_id=caller.user_id,
            details={"sessions_ended": len(ended)},
        )
    await publish_sessions_ended(rt, caller.user_id, None)


async def do_new_recovery_codes(rt: Runtime, caller: StaffIdentity) -> list[str]:
    codes = second_factor.new_recovery_codes()
    async with rt.db.write() as session:
        user = await session.get(StaffUser, caller.user_id)
        assert user is not None  # noqa: S101 - a live session has a user
        await replace_recovery_codes(session, user, codes)
        await audit.record(
            session,
            caller.team_id,
            Action.PROFILE_CHANGED,
            actor(caller),
            target_type="staff",
            target_id=caller.user_id,
            details={"field": "recovery_codes"},
        )
    return codes
