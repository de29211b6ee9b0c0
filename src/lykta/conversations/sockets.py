"""What both sockets share: the locale of error messages, and sending history."""

from __future__ import annotations

from starlette.websockets import WebSocket

from lykta.conversations import redaction, service
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


async def send_history(
    rt: Runtime, connection: Connection, team_id: int, conversation_id: str, after: int
) -> None:
    """Every message after ``after``, and a ``redacted`` frame for each one up to it whose
    text was removed meanwhile (the client has shown those already)."""
    if after > 0:
        for seq in await redaction.redacted_seqs(rt, team_id, conversation_id, after):
            connection.send(encode(redaction.redacted_frame(conversation_id, seq)))
    async for batch in service.history(rt, team_id, conversation_id, after):
        for message in batch:
            connection.send(encode(service.message_frame(message)))
