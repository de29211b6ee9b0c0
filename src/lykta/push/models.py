"""Each team's VAPID key pair, and the push subscriptions of its workers' devices."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from lykta.db import Base, UTCDateTime, utcnow


class VapidKey(Base):
    """The team's application server key (RFC 8292): one per team, made on first use.

    The private key is sealed (AES-256-GCM) under a data key of the key store, so a copy of
    the database alone cannot sign for the team."""

    __tablename__ = "push_vapid_keys"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    public_key: Mapped[str] = mapped_column(String(100))
    """base64url (no padding) of the 65-byte uncompressed P-256 point."""
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    """The private key (PKCS#8 DER), sealed; see ``keys``."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushSubscription(Base):
    """One device of one worker, as its browser's ``PushSubscription.toJSON()`` gave it.

    Bound to the staff session it was made in: logging out, being logged out everywhere or
    deactivated deletes the session and, with it, this row."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    session_hash: Mapped[bytes] = mapped_column(
        LargeBinary(32), ForeignKey("staff_sessions.token_hash", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    """The push service's URL for this device: a capability, never logged."""
    p256dh: Mapped[str] = mapped_column(String(100))
    """The device's P-256 public key (base64url), for encrypting payloads (RFC 8291)."""
    auth: Mapped[str] = mapped_column(String(40))
    """The device's 16-byte authentication secret (base64url)."""
    locale: Mapped[str] = mapped_column(String(8))
    """The language of the app on that device when it subscribed: notifications use it."""
    origin: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The https origin the app was opened from: the contact push services see, unless
    ``LYKTA_PUSH_SUBJECT`` names one."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
