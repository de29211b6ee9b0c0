"""Second factors: TOTP (RFC 6238, via pyotp) and single-use recovery codes.

A TOTP code is accepted for the current 30-second step and one step either side (clock
drift), but never for a step at or before the last one accepted: a code seen over a
shoulder or replayed from a proxy is worthless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno

STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECOVERY_LENGTH = 10  # 50 bits each; with rate limits, far beyond guessing
_LOOKALIKES = str.maketrans("OIL", "011")


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, email: str, team_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=f"Lykta {team_name}")


def qr_svg(uri: str) -> str:
    """An inline SVG QR code for the authenticator app (no external image service)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def accept_totp(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step the code belongs to, if it is valid and newer than ``last_step``."""
    digits = "".join(ch for ch in code if not ch.isspace())
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = current_step(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if candidate <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(candidate), digits):
            return candidate
    return None


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def hash_recovery_code(user_id: int, code: str) -> bytes | None:
    cleaned = "".join(ch for ch in code.upper() if ch not in " -").translate(_LOOKALIKES)
    if len(cleaned) != _RECOVERY_LENGTH or any(ch not in _ALPHABET for ch in cleaned):
        return None
    return hashlib.sha256(f"lykta-recovery-v1:{user_id}:{cleaned}".encode()).digest()
