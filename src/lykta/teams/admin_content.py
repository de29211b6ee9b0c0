"""What a team admin keeps for the workers: ready replies, the team's own risk words, and
the blocks workers have set (lifted here).

As in ``admin_service``: every lookup by id goes through an ``access_*`` function (another
team's row is "not found", exactly like a missing one) and every change is audit-logged in
its own transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lykta import risk
from lykta.conversations import workflow
from lykta.conversations.access import access_conversation_for_staff
from lykta.conversations.errors import NotFound
from lykta.conversations.models import Conversation
from lykta.db import utcnow
from lykta.i18n import N_
from lykta.runtime import Runtime
from lykta.staff.members import require_admin
from lykta.staff.service import StaffIdentity
from lykta.teams.admin_service import AdminError, ItemNotFound, record_change
from lykta.teams.models import CannedReply, RiskWord

MAX_REPLIES = 200
MAX_RISK_WORDS = 500
REPLY_KEY_RE = re.compile(r"[a-z0-9_-]{1,32}")
REPLY_BODY_MAX = 2000
PLACEHOLDERS = frozenset({"name", "team"})
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
PATTERN_MAX = 100

CATEGORY_NAMES = {
    "suicide": N_("Suicide"),
    "self_harm": N_("Self-harm"),
    "violence": N_("Violence"),
    "abuse": N_("Abuse"),
}
"""Shown for ``risk.CATEGORIES`` (abuse: sexual abuse, grooming, abuse at home, honour)."""


# ----- ready replies -----------------------------------------------------------------------


async def access_reply(session: AsyncSession, caller: StaffIdentity, reply_id: int) -> CannedReply:
    require_admin(caller)
    reply = await session.get(CannedReply, reply_id)
    if reply is None:
        raise ItemNotFound
    if reply.team_id != caller.team_id:
        raise ItemNotFound
    return reply


@dataclass(frozen=True)
class ReplyDraft:
    """A ready reply as typed (kept to fill the form again on an error)."""

    key: str = ""
    body: str = ""

    def checked(self) -> ReplyDraft:
        key = self.key.strip().lstrip("/").lower()
        if not REPLY_KEY_RE.fullmatch(key):
            raise AdminError(
                N_("A shortcut is 1 to 32 characters: lowercase letters a-z, digits, - and _.")
            )
        body = self.body.replace("\r\n", "\n").strip()
        if not body or len(body) > REPLY_BODY_MAX:
            raise AdminError(N_("A reply is 1 to 2000 characters."))
        if any(name not in PLACEHOLDERS for name in _PLACEHOLDER.findall(body)):
            raise AdminError(N_("A reply can fill in only {name} and {team}."))
        return ReplyDraft(key, body)


@dataclass(frozen=True)
class ReplyRow:
    id: int
    key: str
    body: str


async def list_replies(rt: Runtime, caller: StaffIdentity) -> list[ReplyRow]:
    require_admin(caller)
    async with rt.db.read() as session:
        rows = (
            await session.execute(
                select(CannedReply)
                .where(CannedReply.team_id == caller.team_id)
                .order_by(CannedReply.key)
            )
        ).scalars()
        return [ReplyRow(r.id, r.key, r.body) for r in rows]


async def _key_taken(session: AsyncSession, team_id: int, key: str, but: int | None) -> bool:
    statement = select(CannedReply.id).where(CannedReply.team_id == team_id, CannedReply.key == key)
    if but is not None:
        statement = statement.where(CannedReply.id != but)
    return (await session.execute(statement)).first() is not None


def _taken(key: str) -> AdminError:
    return AdminError(N_("There is already a reply with the shortcut /%(key)s."), key=key)


async def do_add_reply(rt: Runtime, caller: StaffIdentity, draft: ReplyDraft) -> None:
    draft = draft.checked()
    try:
        async with rt.db.write() as session:
            require_admin(caller)
            count = (
                await session.execute(
                    select(func.count()).where(CannedReply.team_id == caller.team_id)
                )
            ).scalar_one()
            if count >= MAX_REPLIES:
                raise AdminError(N_("A team can have at most 200 ready replies."))
            if await _key_taken(session, caller.team_id, draft.key, None):
                raise _taken(draft.key)
            reply = CannedReply(team_id=caller.team_id, key=draft.key, body=draft.body)
            session.add(reply)
            await session.flush()
            await record_change(
                session,
                caller,
                "replies",
                "added",
                target_type="canned_reply",
                target_id=reply.id,
                key=draft.key,
            )
    except IntegrityError:  # the same shortcut added at the same moment
        raise _taken(draft.key) from None


async def do_edit_reply(
    rt: Runtime, caller: StaffIdentity, reply_id: int, draft: ReplyDraft
) -> None:
    async with rt.db.read() as session:
        await access_reply(session, caller, reply_id)  # an unknown id is 404, not a form error
    draft = draft.checked()
    try:
        async with rt.db.write() as session:
            reply = await access_reply(session, caller, reply_id)
            if await _key_taken(session, caller.team_id, draft.key, reply.id):
                raise _taken(draft.key)
            previous = reply.key
            if (reply.key, reply.body) == (draft.key, draft.body):
                return
            reply.key, reply.body = draft.key, draft.body
            await record_change(
                session,
                caller,
                "replies",
                "edited",
                target_type="canned_reply",
                target_id=reply.id,
                key=draft.key,
                previous_key=previous,
            )
    except IntegrityError:
        raise _taken(draft.key) from None


async def do_delete_reply(rt: Runtime, caller: StaffIdentity, reply_id: int) -> None:
    async with rt.db.write() as session:
        reply = await access_reply(session, caller, reply_id)
        key = reply.key
        await session.delete(reply)
        await record_change(
            session,
            caller,
            "replies",
            "deleted",
            target_type="canned_reply",
            target_id=reply_id,
            key=key,
        )


# ----- risk words --------------------------------------------------------------------------


async def access_risk_word(session: AsyncSession, caller: StaffIdentity, word_id: int) -> RiskWord:
    require_admin(caller)
    word = await session.get(RiskWord, word_id)
    if word is None:
        raise ItemNotFound
    if word.team_id != caller.team_id:
        raise ItemNotFound
    return word


@dataclass(frozen=True)
class RiskWordRow:
    id: int
    category: str
    pattern: str


async def list_risk_words(rt: Runtime, caller: StaffIdentity) -> list[RiskWordRow]:
    require_admin(caller)
    async with rt.db.read() as session:
        rows = (
            await session.execute(
                select(RiskWord)
                .where(RiskWord.team_id == caller.team_id)
                .order_by(RiskWord.category, RiskWord.pattern)
            )
        ).scalars()
        return [RiskWordRow(r.id, r.category, r.pattern) for r in rows]


def check_risk_word(category: str, pattern: str) -> tuple[str, str, risk.Pattern]:
    """The (category, pattern) to store, the pattern as typed with spaces tidied, and the
    parsed pattern (for spotting one that is already there in other words)."""
    if category not in risk.CATEGORIES:
        raise AdminError(N_("Choose a category from the list."))
    text = " ".join(pattern.split())
    if len(text) > PATTERN_MAX:
        raise AdminError(N_("A pattern is at most 100 characters."))
    try:
        parsed = risk.parse_pattern(category, text)
    except ValueError as exc:
        raise AdminError(
            N_(
                "That pattern cannot be used (%(reason)s). Write one or more words; end a "
                "word with * (after at least 3 letters) to match any ending, or put an "
                "exact phrase in double quotes."
            ),
            reason=str(exc),
        ) from None
    if parsed in set(risk.load_builtin().patterns):
        raise AdminError(N_("Lykta's own lists already contain that pattern."))
    return category, text, parsed


async def do_add_risk_word(rt: Runtime, caller: StaffIdentity, category: str, pattern: str) -> None:
    category, pattern, parsed = check_risk_word(category, pattern)
    try:
        async with rt.db.write() as session:
            require_admin(caller)
            rows = (
                await session.execute(
                    select(RiskWord.category, RiskWord.pattern).where(
                        RiskWord.team_id == caller.team_id
                    )
                )
            ).all()
            if len(rows) >= MAX_RISK_WORDS:
                raise AdminError(N_("A team can have at most 500 risk words of its own."))
            if any(_same(parsed, *row) for row in rows):
                raise AdminError(N_("That pattern is already in the list."))
            word = RiskWord(team_id=caller.team_id, category=category, pattern=pattern)
            session.add(word)
            await session.flush()
            await record_change(
                session,
                caller,
                "risk_words",
                "added",
                target_type="risk_word",
                target_id=word.id,
                category=category,
                pattern=pattern,
            )
    except IntegrityError:
        raise AdminError(N_("That pattern is already in the list.")) from None
    rt.risk.forget(caller.team_id)


def _same(parsed: risk.Pattern, category: str, pattern: str) -> bool:
    """Whether a stored row means ``parsed`` ("Glimmer*" is "glimmer*")."""
    try:
        return risk.parse_pattern(category, pattern) == parsed
    except ValueError:  # checked when saved; a row broken since is simply not the same
        return False


async def do_delete_risk_word(rt: Runtime, caller: StaffIdentity, word_id: int) -> None:
    async with rt.db.write() as session:
        word = await access_risk_word(session, caller, word_id)
        category, pattern = word.category, word.pattern
        await session.delete(word)
        await record_change(
            session,
            caller,
            "risk_words",
            "deleted",
            target_type="risk_word",
            target_id=word_id,
            category=category,
            pattern=pattern,
        )
    rt.risk.forget(caller.team_id)


# ----- blocks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockRow:
    conversation_id: str
    number: int
    blocked_until: dt.datetime


async def list_blocks(rt: Runtime, caller: StaffIdentity) -> list[BlockRow]:
    """The team's conversations whose block still holds, the one ending first first."""
    require_admin(caller)
    async with rt.db.read() as session:
        rows = (
            await session.execute(
                select(Conversation.id, Conversation.number, Conversation.blocked_until)
                .where(
                    Conversation.team_id == caller.team_id, Conversation.blocked_until > utcnow()
                )
                .order_by(Conversation.blocked_until, Conversation.number)
            )
        ).all()
    return [BlockRow(cid, number, until) for cid, number, until in rows if until is not None]


async def access_conversation_for_admin(
    session: AsyncSession, caller: StaffIdentity, conversation_id: str
) -> Conversation:
    require_admin(caller)
    try:
        return await session.run_sync(access_conversation_for_staff, caller, conversation_id)
    except NotFound:
        raise ItemNotFound from None


async def do_lift_block(rt: Runtime, caller: StaffIdentity, conversation_id: str) -> bool:
    """Let the tab that was blocked start chats again; False if no block held any more."""
    async with rt.db.read() as session:
        conversation = await access_conversation_for_admin(session, caller, conversation_id)
        blocked = conversation.blocked_until is not None and conversation.blocked_until > utcnow()
    if not blocked:
        return False
    try:
        await workflow.do_unblock(rt, caller, conversation_id)  # audit-logged there
    except NotFound:  # gone in between
        raise ItemNotFound from None
    return True
