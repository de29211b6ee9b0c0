"""Each team's VAPID key pair: made on first use, stored with the data, the same on every
node.

The private key (PKCS#8 DER) is sealed with AES-256-GCM under a data key of the key store
(``service:vapid/<team>``), which the master key wraps like a conversation's and a master
key rotation re-wraps. The database alone holds only the public key and ciphertext.

Nodes that need a team's key at the same moment for the first time both make one; the
primary key on ``team_id`` lets one row in, and the other node reads and uses that row.
A key that no longer opens (the key store was lost) is replaced, and the team's devices,
subscribed with the old key, are forgotten: they subscribe again when the app next opens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from lykta.crypto.envelope import CannotOpen, open_sealed, seal
from lykta.crypto.keystore import KeyStore, service_key_id
from lykta.db import Database
from lykta.push.endpoints import b64url_encode
from lykta.push.models import PushSubscription, VapidKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeamKey:
    team_id: int
    public_key: str
    """base64url of the uncompressed point: the browser's ``applicationServerKey``."""
    signer: Vapid02


def _store_id(team_id: int) -> str:
    return service_key_id(f"vapid/{team_id}")


def _aad(team_id: int) -> bytes:
    return f"lykta/push/vapid/{team_id}".encode()


def public_key_text(private: ec.EllipticCurvePrivateKey) -> str:
    return b64url_encode(
        private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


class VapidKeys:
    """The teams' key pairs, made or read once and then kept by this node."""

    def __init__(self, db: Database, store: KeyStore) -> None:
        self.db = db
        self.store = store
        self._cache: dict[int, TeamKey] = {}

    async def get(self, team_id: int) -> TeamKey:
        cached = self._cache.get(team_id)
        if cached is not None:
            return cached
        async with self.db.read() as session:
            row = await session.get(VapidKey, team_id)
        if row is None:
            key = await self._create(team_id)
        else:
            opened = await self._open(row)
            key = opened if opened is not None else await self._create(team_id, replacing=row)
        self._cache[team_id] = key
        return key

    async def _open(self, row: VapidKey) -> TeamKey | None:
        aead = await self.store.get(row.team_id, _store_id(row.team_id))
        try:
            if aead is None:
                raise CannotOpen("its data key is gone")
            der = open_sealed(aead, row.private_sealed, _aad(row.team_id))
        except CannotOpen:
            log.error("team %d's push key cannot be opened; making a new one", row.team_id)
            return None
        private = serialization.load_der_private_key(der, password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            return None
        return TeamKey(row.team_id, row.public_key, Vapid02(private))

    async def _create(self, team_id: int, replacing: VapidKey | None = None) -> TeamKey:
        store_id = _store_id(team_id)
        aead = await self.store.get(team_id, store_id)
        if aead is None:
            aead = await self.store.create(team_id, store_id)
        signer = Vapid02()
        signer.generate_keys()
        private: ec.EllipticCurvePrivateKey = signer.private_key
        der = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        row = VapidKey(
            team_id=team_id,
            public_key=public_key_text(private),
            private_sealed=seal(aead, der, _aad(team_id)),
        )
        try:
            async with self.db.write() as session:
                if replacing is not None:
                    await session.execute(
                        delete(VapidKey).where(
                            VapidKey.team_id == team_id,
                            VapidKey.public_key == replacing.public_key,
                        )
                    )
                    await session.execute(
                        delete(PushSubscription).where(PushSubscription.team_id == team_id)
                    )
                    await session.flush()
                session.add(row)
        except IntegrityError:
            # Another node made the team's key at the same moment: use that one.
            async with self.db.read() as session:
                theirs = (
                    await session.execute(select(VapidKey).where(VapidKey.team_id == team_id))
                ).scalar_one()
            opened = await self._open(theirs)
            if opened is None:
                raise
            return opened
        log.info("made team %d's push key", team_id)
        return TeamKey(team_id, row.public_key, signer)
