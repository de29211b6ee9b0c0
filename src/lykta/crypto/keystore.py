"""The key store: one wrapped data key per conversation, apart from the content.

On SQLite the store is its own file (``keys.db``), so a copy of the content database
holds ciphertext only; once a data key is destroyed, no copy of that conversation can be
read with the keys that remain. Unwrapped keys are cached per node (bounded, LRU).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Integer, LargeBinary, MetaData, String, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from lykta.config import Settings
from lykta.crypto.envelope import new_key, open_sealed, seal
from lykta.crypto.keyring import (
    KeyConfigError,
    Keyring,
    parse_keys,
    read_key_file,
    write_key_file,
)
from lykta.db import NAMING, Database, UTCDateTime, utcnow

log = logging.getLogger(__name__)

CACHE_SIZE: Final = 65_536
"""Data keys kept unwrapped in memory (about 350 bytes each, so at most about 22 MiB). A
node holds every live conversation's key: with fewer slots than conversations that
write in turn, every message would read and unwrap its key again."""
REWRAP_BATCH: Final = 500
SERVICE_PREFIX: Final = "service:"
"""Starts the id of a key that seals something other than a conversation (a team's push
key): rotation re-wraps it like any other, the purge's sweep of orphaned conversation keys
leaves it alone."""


class KeyBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DataKey(KeyBase):
    """A conversation's data key, wrapped (AES-256-GCM) by a master key."""

    __tablename__ = "data_keys"

    conversation_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer, index=True)
    kek_id: Mapped[str] = mapped_column(String(16), index=True)
    """Which master key wrapped it (``keyring.key_id``)."""
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def service_key_id(name: str) -> str:
    """The key store id of a key for ``name`` (at most 24 characters)."""
    if len(name) > 24:
        raise ValueError("a service key name has at most 24 characters")
    return SERVICE_PREFIX + name


def _aad(team_id: int, conversation_id: str) -> bytes:
    return f"lykta/data-key/{team_id}/{conversation_id}".encode()


def load_keyring(settings: Settings, *, create: bool) -> Keyring:
    """The configured master keys; a new installation gets a generated key file."""
    if settings.master_key is not None:
        try:
            return Keyring(parse_keys(settings.master_key.get_secret_value(), separator=","))
        except KeyConfigError as exc:
            raise KeyConfigError(f"LYKTA_MASTER_KEY: {exc}") from None
    path = settings.effective_master_key_file
    try:
        return Keyring(read_key_file(path), path)
    except FileNotFoundError:
        if not create:
            raise KeyConfigError(
                f"the master key file {path} is missing but the key store holds data keys: "
                "restore it from its backup (or set LYKTA_MASTER_KEY)"
            ) from None
    try:
        write_key_file(path, [new_key()])
    except OSError as exc:
        raise KeyConfigError(f"cannot write the master key file {path}: {exc}") from None
    log.warning("generated a new master key in %s; back it up apart from the database", path)
    return Keyring(read_key_file(path), path)


@dataclass(frozen=True)
class RewrapReport:
    rewrapped: int
    current: str
    remaining: dict[str, int]


class KeyStore:
    def __init__(self, settings: Settings, content: Database) -> None:
        url = settings.effective_keystore_url
        self.settings = settings
        self.shared = url == settings.effective_database_url
        self.db = content if self.shared else Database(settings, url)
        self._keyring: Keyring | None = None
        self._cache: OrderedDict[str, tuple[int, AESGCM]] = OrderedDict()
        """conversation id -> (team id, key)"""

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise RuntimeError("the key store is not open")
        return self._keyring

    async def open(self) -> None:
        """Create the table if needed and load the master keys (generating the first)."""
        async with self.db.engine.begin() as connection:
            await connection.run_sync(KeyBase.metadata.create_all)
        async with self.db.read() as session:
            empty = (await session.execute(select(DataKey.conversation_id).limit(1))).first()
        self._keyring = load_keyring(self.settings, create=empty is None)
        if self.shared and not self.db.is_sqlite:
            log.warning(
                "data keys are stored in the main database; set LYKTA_KEYSTORE_URL to a "
                "separate database so that deleting a key also shreds backups of the content"
            )

    async def close(self) -> None:
        if not self.shared:
            await self.db.dispose()

    def _remember(self, team_id: int, conversation_id: str, aead: AESGCM) -> None:
        self._cache[conversation_id] = (team_id, aead)
        self._cache.move_to_end(conversation_id)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def create(self, team_id: int, conversation_id: str) -> AESGCM:
        """A new data key for the conversation (or the one another node just made)."""
        raw = new_key()
        master = self.keyring.current
        row = DataKey(
            conversation_id=conversation_id,
            team_id=team_id,
            kek_id=master.id,
            wrapped=seal(master.aead, raw, _aad(team_id, conversation_id)),
        )

        def store(session: Session) -> None:
            session.add(row)

        try:
            # Shared with the keys made at the same moment: one commit for many starts.
            await self.db.grouped(store)
        except IntegrityError:
            existing = await self.get(team_id, conversation_id)
            if existing is None:
                raise
            return existing
        aead = AESGCM(raw)
        self._remember(team_id, conversation_id, aead)
        return aead

    async def get(self, team_id: int, conversation_id: str) -> AESGCM | None:
        """The conversation's data key, or ``None`` once it has been destroyed."""
        cached = self._cache.get(conversation_id)
        if cached is not None:
            self._cache.move_to_end(conversation_id)
            return cached[1] if cached[0] == team_id else None
        async with self.db.read() as session:
            row = await session.get(DataKey, conversation_id)
        if row is None or row.team_id != team_id:
            return None
        master = self.keyring.get(row.kek_id)
        if master is None:
            raise KeyConfigError(f"a data key is wrapped by master key {row.kek_id}, not given")
        aead = AESGCM(open_sealed(master.aead, row.wrapped, _aad(team_id, conversation_id)))
        self._remember(team_id, conversation_id, aead)
        return aead

    async def destroy(self, conversation_ids: Sequence[str]) -> int:
        """Delete the data keys (crypto-shredding); their content can no longer be read."""
        for conversation_id in conversation_ids:
            self._cache.pop(conversation_id, None)
        if not conversation_ids:
            return 0
        async with self.db.write() as session:
            result = await session.execute(
                delete(DataKey).where(DataKey.conversation_id.in_(conversation_ids))
            )
        for conversation_id in conversation_ids:  # a concurrent read may have cached it
            self._cache.pop(conversation_id, None)
        return int(getattr(result, "rowcount", 0) or 0)

    async def ids_page(self, after: str, created_before: dt.datetime, limit: int) -> list[str]:
        """Conversation ids of keys made before a moment, in id order, after ``after``."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(DataKey.conversation_id)
                .where(DataKey.conversation_id > after, DataKey.created_at < created_before)
                .order_by(DataKey.conversation_id)
                .limit(limit)
            )
        return list(rows.scalars())

    async def count_by_master_key(self) -> dict[str, int]:
        async with self.db.read() as session:
            rows = await session.execute(
                select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id)
            )
        return {kek_id: count for kek_id, count in rows.all()}

    async def rewrap(self) -> RewrapReport:
        """Re-wrap every data key under the current master key, in batches, online."""
        total = 0
        current = self.keyring.current
        while True:
            async with self.db.read() as session:
                rows = list(
                    (
                        await session.execute(
                            select(DataKey).where(DataKey.kek_id != current.id).limit(REWRAP_BATCH)
                        )
                    ).scalars()
                )
            if not rows:
                break
            async with self.db.write() as session:
                for row in rows:
                    old = self.keyring.get(row.kek_id)
                    if old is None:
                        raise KeyConfigError(
                            f"a data key is wrapped by master key {row.kek_id}, not given"
                        )
                    aad = _aad(row.team_id, row.conversation_id)
                    raw = open_sealed(old.aead, row.wrapped, aad)
                    # Only if unchanged meanwhile (a purge may have destroyed it).
                    result = await session.execute(
                        update(DataKey)
                        .where(
                            DataKey.conversation_id == row.conversation_id,
                            DataKey.kek_id == row.kek_id,
                        )
                        .values(kek_id=current.id, wrapped=seal(current.aead, raw, aad))
                    )
                    total += int(getattr(result, "rowcount", 0) or 0)
        remaining = {k: n for k, n in (await self.count_by_master_key()).items() if k != current.id}
        return RewrapReport(rewrapped=total, current=current.id, remaining=remaining)

    async def retire_old_keys(self) -> list[str]:
        """Drop older keys from the key file once no data key needs them."""
        path = self.keyring.path
        if path is None:
            return []
        in_use = await self.count_by_master_key()
        keep = [
            raw
            for index, (raw, key) in enumerate(
                zip(self.keyring.raw, self.keyring.keys, strict=True)
            )
            if index == 0 or in_use.get(key.id)
        ]
        dropped = [k.id for k in self.keyring.keys[1:] if not in_use.get(k.id)]
        if dropped:
            write_key_file(path, keep)
            self.keyring.refresh(force=True)
        return dropped
