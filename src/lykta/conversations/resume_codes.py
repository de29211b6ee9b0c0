"""Resume codes: the young person's only key to their conversation.

20 symbols from Crockford's base32 alphabet (no I, L, O or U) give 100 bits of entropy,
shown as five groups of four: ``K7QM-3XHD-9TPA-RW2E-V5NB``. Only a SHA-256 of the
normalised code is stored; with 100 bits of entropy a slow hash adds nothing, and the
lookup by hash compares no secret byte by byte.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NewType

ResumeCode = NewType("ResumeCode", str)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20
GROUP = 4
ENTROPY_BITS = LENGTH * 5
MAX_INPUT_LENGTH = 64
"""Longer input is rejected before any work, to avoid hashing attacker-sized strings."""

_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def generate() -> ResumeCode:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return ResumeCode("-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP)))


def normalise(code: str) -> str | None:
    """Uppercase, drop spaces and hyphens, fold look-alikes. None if it cannot be a code."""
    if len(code) > MAX_INPUT_LENGTH:
        return None
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t\n").translate(_LOOKALIKES)
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def hash_code(code: str) -> bytes | None:
    normalised = normalise(code)
    if normalised is None:
        return None
    return hashlib.sha256(b"lykta-resume-v1:" + normalised.encode("ascii")).digest()
