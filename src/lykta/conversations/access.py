"""The one gate to a conversation. Missing and forbidden give the same ``NotFound``."""

from __future__ import annotations

import re

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lykta.conversations import resume_codes
from lykta.conversations.errors import NotFound, ResumeFailed
from lykta.conversations.models import Conversation
from lykta.db import utcnow
from lykta.staff.service import StaffIdentity

_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def access_conversation_for_staff(
    session: Session, caller: StaffIdentity, conversation_id: str
) -> Conversation:
    """A conversation of the caller's team (synchronous: ``Database.reading``, or an async
    session's ``run_sync``)."""
    if not _ID_RE.fullmatch(conversation_id):
        raise NotFound
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound
    if conversation.team_id != caller.team_id:
        raise NotFound
    return conversation


_BY_CODE = select(Conversation).where(Conversation.resume_hash == bindparam("code_hash"))


def access_conversation_by_code(session: Session, team_id: int, code: str) -> Conversation:
    """The young person's own conversation in this team, found by the hash of their code
    (synchronous: ``Database.reading``)."""
    code_hash = resume_codes.hash_code(code)
    if code_hash is None:
        raise ResumeFailed
    conversation = session.execute(_BY_CODE, {"code_hash": code_hash}).scalar_one_or_none()
    if conversation is None:
        raise ResumeFailed
    if conversation.team_id != team_id:
        raise ResumeFailed
    if conversation.blocked_until is not None and conversation.blocked_until > utcnow():
        raise ResumeFailed
    return conversation


def access_conversation_for_youth(
    session: Session, team_id: int, conversation_id: str
) -> Conversation:
    """Re-read the conversation a youth socket has already proven it owns (synchronous:
    ``Database.reading``)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.team_id != team_id:
        raise NotFound
    return conversation
