"""AES-256-GCM sealing with a version byte, a random 96-bit nonce and associated data.

The associated data binds a ciphertext to its place (which conversation, which message),
so a sealed body copied into another row does not open there.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
VERSION: Final = b"\x01"


class CannotOpen(Exception):
    """The sealed bytes are damaged, were moved, or belong to another key."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + aead.encrypt(nonce, plaintext, aad)


def open_sealed(aead: AESGCM, sealed: bytes, aad: bytes) -> bytes:
    if sealed[:1] != VERSION or len(sealed) < 1 + NONCE_BYTES + 16:
        raise CannotOpen("unknown format")
    nonce = sealed[1 : 1 + NONCE_BYTES]
    try:
        return aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise CannotOpen("authentication failed") from None
