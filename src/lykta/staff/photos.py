"""A worker's optional photo, shown to young people next to their first name.

Uploads are decoded and re-encoded as a 256x256 JPEG: whatever the camera wrote into the
file (GPS position, device, time) is gone, and so is anything that was not an image. The
photo is reachable at ``/photos/<token>.jpg``, a random address that changes with every
upload; it is public by design (young people see it), but not guessable.
"""

from __future__ import annotations

import asyncio
import io
import secrets

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from lykta.errors import UserError
from lykta.i18n import N_
from lykta.runtime import Runtime
from lykta.staff.members import update_own_account
from lykta.staff.models import StaffUser
from lykta.staff.service import StaffIdentity

MAX_UPLOAD = 8 * 1024 * 1024
SIZE = 256
MAX_PIXELS = 50_000_000
"""Refuse images that decode to more than this (decompression bombs)."""
FORMATS = frozenset({"JPEG", "PNG", "WEBP"})


class PhotoError(UserError):
    pass


def process(data: bytes) -> bytes:
    """A square, metadata-free JPEG of the uploaded picture; raises ``PhotoError``."""
    if len(data) > MAX_UPLOAD:
        raise PhotoError(N_("The picture is too large. Use one under 8 MB."))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise PhotoError(N_("Use a JPEG, PNG or WebP picture."))
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(N_("The picture is too large. Use one under 8 MB."))
            upright = ImageOps.exif_transpose(image)
            square = ImageOps.fit(upright.convert("RGB"), (SIZE, SIZE))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise PhotoError(N_("That file could not be read as a picture.")) from None
    out = io.BytesIO()
    square.save(out, "JPEG", quality=85, optimize=True)  # no exif= given: none is written
    return out.getvalue()


async def do_set_photo(rt: Runtime, caller: StaffIdentity, data: bytes) -> str:
    jpeg = await asyncio.to_thread(process, data)
    token = secrets.token_urlsafe(16)
    await update_own_account(rt, caller, {"photo": jpeg, "photo_token": token}, {"field": "photo"})
    return token


async def do_remove_photo(rt: Runtime, caller: StaffIdentity) -> None:
    await update_own_account(
        rt, caller, {"photo": None, "photo_token": None}, {"field": "photo", "removed": True}
    )


async def photo_token(rt: Runtime, user_id: int) -> str | None:
    async with rt.db.read() as session:
        token: str | None = (
            await session.execute(select(StaffUser.photo_token).where(StaffUser.id == user_id))
        ).scalar_one_or_none()
    return token


async def photo_by_token(rt: Runtime, token: str) -> bytes | None:
    if not 16 <= len(token) <= 32:
        return None
    async with rt.db.read() as session:
        photo: bytes | None = (
            await session.execute(
                select(StaffUser.photo).where(
                    StaffUser.photo_token == token, StaffUser.active.is_(True)
                )
            )
        ).scalar_one_or_none()
    return photo
