"""A worker removes a message afterwards: its text is destroyed in storage, everyone sees
"[removed]" in its place, and the removal is audit-logged (never the text).

``do_redact`` writes, commits, then publishes (as in ``service``). The sealed bytes are set
to NULL in the same transaction as the audit entry; SQLite's ``secure_delete`` zeroes the
old cell and a checkpoint afterwards empties the write-ahead log that still held it.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lykta.audit import service as audit
from lykta.audit.service import Action, Actor
from lykta.conversations.errors import ConversationError
from lykta.conversations.models import Message
from lykta.conversations.rows import locked
from lykta.db import utcnow
from lykta.i18n import N_
from lykta.realtime.broker import conversation_channel
from lykta.realtime.protocol import RedactedFrame, encode
from lykta.runtime import Runtime
from lykta.staff.service import StaffIdentity


class NotRedactable(ConversationError):
    """A system event (joined, closed, requeued) or a ``seq`` that is not in the sequence."""

    code = "invalid"
    message = N_("Only a message someone wrote can be removed.")


def redacted_frame(conversation_id: str, seq: int) -> RedactedFrame:
    return RedactedFrame(conversation_id=conversation_id, seq=seq)


async def do_redact(rt: Runtime, caller: StaffIdentity, conversation_id: str, seq: int) -> bool:
    """Remove the text of message ``seq``; ``False`` if it was already removed (nothing is
    written, logged or sent again). Open and closed conversations alike."""
    async with rt.db.write() as session:
        conversation = await locked(session, caller.team_id, conversation_id)
        message = (
            await session.execute(
                select(Message).where(
                    Message.team_id == conversation.team_id,
                    Message.conversation_id == conversation.id,
                    Message.seq == seq,
                )
            )
        ).scalar_one_or_none()
        if message is None or message.event is not None:
            raise NotRedactable
        if message.redacted_at is not None:
            return False
        message.body_ct = None
        message.legacy_body = None
        message.redacted_at = utcnow()
        await audit.record(
            session,
            caller.team_id,
            Action.MESSAGE_REDACTED,
            Actor(caller.user_id, caller.email),
            target_type="conversation",
            target_id=conversation.id,
            details={"seq": seq},
        )
    await rt.hub.publish(
        conversation_channel(conversation_id), encode(redacted_frame(conversation_id, seq))
    )
    await rt.db.checkpoint()
    return True


# Built once: every resume from a seq and every worker's ``open`` reads it.
_REDACTED = (
    select(Message.seq)
    .where(
        Message.team_id == bindparam("team_id"),
        Message.conversation_id == bindparam("conversation_id"),
        Message.seq <= bindparam("up_to"),
        Message.redacted_at.is_not(None),
    )
    .order_by(Message.seq)
)


def redacted_seqs(session: Session, team_id: int, conversation_id: str, up_to: int) -> list[int]:
    """The removed messages up to ``up_to``: a client catching up from there has shown
    them already and may have missed the ``redacted`` frame (synchronous:
    ``Database.reading``)."""
    return list(
        session.execute(
            _REDACTED, {"team_id": team_id, "conversation_id": conversation_id, "up_to": up_to}
        ).scalars()
    )
