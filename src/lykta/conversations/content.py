"""Message bodies and notes, sealed under the conversation's data key.

The associated data names the row a ciphertext belongs to, so moving sealed bytes to
another message, note or conversation makes them fail to open rather than show up there.
A conversation whose data key is gone (purged) has no readable content: its texts open
as ``None``.
"""

from __future__ import annotations

import logging

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lykta.crypto.envelope import CannotOpen, open_sealed, seal
from lykta.runtime import Runtime

log = logging.getLogger(__name__)


def message_aad(conversation_id: str, seq: int) -> bytes:
    return f"lykta/message/{conversation_id}/{seq}".encode()


def note_aad(conversation_id: str, client_id: str) -> bytes:
    return f"lykta/note/{conversation_id}/{client_id}".encode()


async def cipher(rt: Runtime, team_id: int, conversation_id: str) -> AESGCM | None:
    return await rt.keys.get(team_id, conversation_id)


async def cipher_for_new(rt: Runtime, team_id: int, conversation_id: str) -> AESGCM:
    """The data key, made on first use (conversations begin without one)."""
    aead = await rt.keys.get(team_id, conversation_id)
    return aead if aead is not None else await rt.keys.create(team_id, conversation_id)


def seal_text(aead: AESGCM, text: str, aad: bytes) -> bytes:
    return seal(aead, text.encode(), aad)


def open_text(aead: AESGCM | None, sealed: bytes | None, aad: bytes) -> str | None:
    if sealed is None or aead is None:
        return None
    try:
        return open_sealed(aead, sealed, aad).decode()
    except CannotOpen:
        log.error("a sealed text did not open (damaged or moved); shown as unavailable")
        return None
