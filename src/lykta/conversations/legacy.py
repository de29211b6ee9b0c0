"""Sealing plaintext written before encryption at rest (migration 0006) on start-up.

Each batch commits on its own; a row is sealed and its plaintext emptied in the same
statement, so an interruption leaves every row either as it was or sealed, never lost.
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy import select, update

from lykta.conversations import content
from lykta.conversations.models import Message, Note
from lykta.runtime import Runtime

log = logging.getLogger(__name__)

BATCH: Final = 500


def _aad(row: Message | Note) -> bytes:
    if isinstance(row, Message):
        return content.message_aad(row.conversation_id, row.seq)
    return content.note_aad(row.conversation_id, row.client_id)


async def _seal_batch(rt: Runtime, model: type[Message] | type[Note]) -> int:
    async with rt.db.read() as session:
        result = await session.execute(
            select(model).where(model.legacy_body.is_not(None)).limit(BATCH)
        )
        rows: list[Message | Note] = [row for row in result.scalars() if isinstance(row, model)]
    async with rt.db.write() as session:
        for row in rows:
            aead = await content.cipher_for_new(rt, row.team_id, row.conversation_id)
            sealed = content.seal_text(aead, row.legacy_body or "", _aad(row))
            await session.execute(
                update(model).where(model.id == row.id).values(body_ct=sealed, legacy_body=None)
            )
    return len(rows)


async def seal_plaintext(rt: Runtime) -> int:
    """Seal every message and note still stored in plaintext; returns how many."""
    sealed = 0
    for model in (Message, Note):
        while count := await _seal_batch(rt, model):
            sealed += count
    if sealed:
        log.warning("sealed %d messages and notes stored before encryption at rest", sealed)
        await rt.db.checkpoint()
    return sealed
