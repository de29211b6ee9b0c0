"""What both sockets share: the locale of error messages, and sending history."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session
from starlette.websockets import WebSocket

from lykta.conversations import content, redaction, service
from lykta.conversations.models import Message
from lykta.i18n import negotiate
from lykta.realtime.hub import Connection
from lykta.realtime.protocol import encode
from lykta.runtime import Runtime


def locale_of(websocket: WebSocket, rt: Runtime) -> str:
    return negotiate(
        websocket.query_params.get("lang"),
        websocket.headers.get("accept-language"),
        rt.settings.default_locale,
    )


@dataclass(frozen=True)
class CatchUp:
    """What a socket catching up from ``after`` is sent first: a ``redacted`` frame for
    each message up to ``after`` whose text was removed meanwhile (the client has shown
    those already), and the first batch of messages after it."""

    team_id: int
    conversation_id: str
    redacted: list[int]
    messages: list[Message]


def read_catch_up(
    session: Session,
    aead: AESGCM | None,
    team_id: int,
    conversation_id: str,
    after: int,
) -> CatchUp:
    """``CatchUp`` read in the caller's session (``aead``: ``content.cipher``'s), so that
    a resume reads it with the conversation in one go (synchronous: ``Database.reading``)."""
    redacted = []
    if after > 0:
        redacted = redaction.redacted_seqs(session, team_id, conversation_id, after)
    messages = service.history_batch(session, aead, team_id, conversation_id, after)
    return CatchUp(team_id, conversation_id, redacted, messages)


async def send_catch_up(rt: Runtime, connection: Connection, catch_up: CatchUp) -> None:
    """Send ``catch_up``, then the rest of the history in further batches, if any."""
    conversation_id = catch_up.conversation_id
    for seq in catch_up.redacted:
        connection.send(encode(redaction.redacted_frame(conversation_id, seq)))
    for message in catch_up.messages:
        connection.send(encode(service.message_frame(message)))
    if len(catch_up.messages) < service.HISTORY_BATCH:
        return
    after = catch_up.messages[-1].seq
    async for batch in service.history(rt, catch_up.team_id, conversation_id, after):
        for message in batch:
            connection.send(encode(service.message_frame(message)))


async def send_history(
    rt: Runtime, connection: Connection, team_id: int, conversation_id: str, after: int
) -> None:
    """Every message after ``after``, and a ``redacted`` frame for each one up to it whose
    text was removed meanwhile (the client has shown those already)."""
    aead = await content.cipher(rt, team_id, conversation_id)
    catch_up = await rt.db.reading(
        functools.partial(
            read_catch_up, aead=aead, team_id=team_id, conversation_id=conversation_id, after=after
        )
    )
    await send_catch_up(rt, connection, catch_up)
