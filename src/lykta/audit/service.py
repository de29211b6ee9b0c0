"""Writing, reading and verifying the audit log.

Entries are written inside the transaction of the action they record, so an action and
its entry commit together or not at all. Each team has its own chain: an entry's hash is
SHA-256 over a version tag, the previous entry's hash and the entry's canonical JSON.
Appends to one team's chain are serialised (the team row is locked on PostgreSQL; SQLite
has one writer). ``verify`` recomputes every chain; its head hash can be noted outside
the server so that cutting entries off the end is detectable too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from lykta.audit.models import AuditEntry
from lykta.db import utcnow
from lykta.teams.models import Team

GENESIS: Final = bytes(32)
DetailValue = str | int | bool | None
MAX_DETAIL_LENGTH = 200
"""Details are identifiers and short labels; anything longer is refused (never content)."""


class Action:
    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    SECOND_FACTOR_FAILED = "login.second_factor_failed"
    RECOVERY_CODE_USED = "login.recovery_code_used"
    LOCKED_OUT = "login.locked_out"
    LOGOUT = "logout"
    LOGOUT_EVERYWHERE = "logout.everywhere"
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 - an action name, not a secret
    TOTP_ENROLLED = "totp.enrolled"
    CONVERSATION_OPENED = "conversation.opened"
    CONVERSATION_BLOCKED = "conversation.blocked"
    CONVERSATION_UNBLOCKED = "conversation.unblocked"
    MEMBER_CREATED = "member.created"
    MEMBER_INVITED = "member.invited"
    INVITATION_ACCEPTED = "member.invitation_accepted"
    MEMBER_DEACTIVATED = "member.deactivated"
    MEMBER_REACTIVATED = "member.reactivated"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    PROFILE_CHANGED = "profile.changed"
    SETTINGS_CHANGED = "settings.changed"
    TEAM_CREATED = "team.created"
    AUDIT_VIEWED = "audit.viewed"
    MESSAGE_REDACTED = "message.redacted"
    RETENTION_PURGED = "retention.purged"


@dataclass(frozen=True)
class Actor:
    id: int | None
    label: str


OPERATOR = Actor(None, "operator")
SYSTEM = Actor(None, "system")


def digest(
    prev_hash: bytes,
    *,
    team_id: int,
    at: dt.datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    target_type: str | None,
    target_id: str | None,
    details: dict[str, DetailValue],
) -> bytes:
    canonical = orjson.dumps(
        {
            "team_id": team_id,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "details": details,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(b"lykta-audit-v1\0" + prev_hash + canonical).digest()


def _entry_digest(entry: AuditEntry, prev_hash: bytes) -> bytes:
    return digest(
        prev_hash,
        team_id=entry.team_id,
        at=entry.at,
        actor_id=entry.actor_id,
        actor=entry.actor,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        details=dict(entry.details or {}),
    )


async def record(
    session: AsyncSession,
    team_id: int,
    action: str,
    actor: Actor,
    *,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, DetailValue] | None = None,
) -> AuditEntry:
    """Append an entry to the team's chain, in the caller's transaction."""
    return await session.run_sync(
        record_in,
        team_id,
        action,
        actor,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )


def record_in(
    session: Session,
    team_id: int,
    action: str,
    actor: Actor,
    *,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, DetailValue] | None = None,
) -> AuditEntry:
    """``record`` in a synchronous session (a group commit's, see ``Database.grouped``)."""
    details = dict(details or {})
    for key, value in details.items():
        if isinstance(value, str) and len(value) > MAX_DETAIL_LENGTH:
            raise ValueError(f"audit detail {key!r} is too long to be an identifier")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Team.id).where(Team.id == team_id).with_for_update())
    previous = session.execute(
        select(AuditEntry.hash)
        .where(AuditEntry.team_id == team_id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    prev_hash = previous if previous is not None else GENESIS
    entry = AuditEntry(
        team_id=team_id,
        at=utcnow(),
        actor_id=actor.id,
        actor=actor.label[:254],
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details,
        prev_hash=prev_hash,
    )
    entry.hash = _entry_digest(entry, prev_hash)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    team_id: int
    entries: int
    head: bytes
    broken_at: int | None
    """The id of the first entry that does not match, or None if the chain is intact."""


async def verify(session: AsyncSession, team_ids: Sequence[int] | None = None) -> list[ChainReport]:
    if team_ids is None:
        team_ids = list((await session.execute(select(Team.id).order_by(Team.id))).scalars())
    reports = []
    for team_id in team_ids:
        prev_hash = GENESIS
        count = 0
        broken: int | None = None
        result = await session.stream_scalars(
            select(AuditEntry).where(AuditEntry.team_id == team_id).order_by(AuditEntry.id)
        )
        async for entry in result:
            count += 1
            if entry.prev_hash != prev_hash or entry.hash != _entry_digest(entry, prev_hash):
                broken = entry.id
                break
            prev_hash = entry.hash
        reports.append(ChainReport(team_id, count, prev_hash, broken))
    return reports


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before_id: int | None = None
    limit: int = 100


async def entries(session: AsyncSession, team_id: int, query: AuditFilter) -> list[AuditEntry]:
    """The team's entries, newest first, filtered. Always scoped to the caller's team."""
    statement = select(AuditEntry).where(AuditEntry.team_id == team_id)
    if query.action:
        statement = statement.where(AuditEntry.action.startswith(query.action, autoescape=True))
    if query.actor:
        statement = statement.where(AuditEntry.actor.contains(query.actor, autoescape=True))
    if query.since:
        statement = statement.where(AuditEntry.at >= query.since)
    if query.until:
        statement = statement.where(AuditEntry.at < query.until)
    if query.before_id:
        statement = statement.where(AuditEntry.id < query.before_id)
    statement = statement.order_by(AuditEntry.id.desc()).limit(max(1, min(query.limit, 500)))
    return list((await session.execute(statement)).scalars())
