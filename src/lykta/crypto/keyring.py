"""Master keys: where they come from, their ids, and the key file.

A keyring is a list of 256-bit keys, the current one first. Older keys stay readable so
that a rotation can re-wrap data keys while the server keeps running. The keys come from
``LYKTA_MASTER_KEY`` (comma-separated, base64url) or from a key file (one key per line,
``#`` comments) that Lykta writes with mode 0600 on the first run of a new installation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lykta.crypto.envelope import KEY_BYTES, new_key

log = logging.getLogger(__name__)

RELOAD_SECONDS: Final = 1.0
"""How stale a node's view of the key file may be; a rotation waits longer than this."""
FILE_HEADER: Final = (
    "# Lykta master keys: the first line is the current key, the others are older keys\n"
    "# still needed to read data keys wrapped before a rotation. Back this file up apart\n"
    "# from the database. Without it, nothing in the database can be read.\n"
)


class KeyConfigError(Exception):
    """A master key is missing, malformed, or its file cannot be used."""


@dataclass(frozen=True)
class MasterKey:
    id: str
    aead: AESGCM


@dataclass(frozen=True)
class DerivedKey:
    kek_id: str
    """The id of the master key it was derived from."""
    raw: bytes


def key_id(raw: bytes) -> str:
    """A short public name for a key (stored beside each wrapped data key)."""
    return hmac.new(raw, b"lykta master key id", hashlib.sha256).hexdigest()[:16]


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_key(text: str) -> bytes:
    value = text.strip()
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise KeyConfigError("a master key is not valid base64url") from None
    if len(raw) != KEY_BYTES:
        raise KeyConfigError(f"a master key must be {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def generate_key_text() -> str:
    return encode_key(new_key())


def parse_keys(text: str, *, separator: str | None = None) -> list[bytes]:
    parts = text.split(separator) if separator else text.splitlines()
    keys = [decode_key(p) for p in parts if p.strip() and not p.strip().startswith("#")]
    if not keys:
        raise KeyConfigError("no master key given")
    return keys


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Atomically replace the key file; it is only ever readable by its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = FILE_HEADER + "".join(encode_key(k) + "\n" for k in keys)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_key_file(path: Path) -> list[bytes]:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyConfigError(f"cannot read the master key file {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("master key file %s is readable by others; chmod 600 it", path)
    try:
        return parse_keys(text)
    except KeyConfigError as exc:
        raise KeyConfigError(f"{path}: {exc}") from None


class Keyring:
    """The master keys a node knows; a file-backed ring follows changes to its file."""

    def __init__(self, keys: list[bytes], path: Path | None = None) -> None:
        self._path = path
        self._checked = time.monotonic()
        self._mtime = self._stat()
        self._set(keys)

    def _set(self, keys: list[bytes]) -> None:
        self.raw = list(keys)
        self.keys = [MasterKey(key_id(k), AESGCM(k)) for k in keys]
        self._by_id = {k.id: k for k in self.keys}
        self._raw_by_id = {key_id(k): k for k in keys}

    def _stat(self) -> int | None:
        if self._path is None:
            return None
        try:
            return self._path.stat().st_mtime_ns
        except OSError:
            return None

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def current(self) -> MasterKey:
        self.refresh()
        return self.keys[0]

    def get(self, kek_id: str) -> MasterKey | None:
        key = self._by_id.get(kek_id)
        if key is None and self.refresh(force=True):
            key = self._by_id.get(kek_id)
        return key

    def derive(self, purpose: bytes, kek_id: str | None = None) -> DerivedKey | None:
        """A 256-bit key for one ``purpose``, derived with HKDF-SHA256 from the current
        master key, or from the one ``kek_id`` names (None if this ring has no such key).
        Every node with the same master keys derives the same key, so they need nothing
        stored or sent to share one; a rotation brings a new one."""
        if kek_id is None:
            kek_id = self.current.id
        raw = self._raw_by_id.get(kek_id)
        if raw is None and self.refresh(force=True):
            raw = self._raw_by_id.get(kek_id)
        if raw is None:
            return None
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose)
        return DerivedKey(kek_id, hkdf.derive(raw))

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the key file if it changed (at most once per ``RELOAD_SECONDS``)."""
        if self._path is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked < RELOAD_SECONDS:
            return False
        self._checked = now
        mtime = self._stat()
        if mtime is None or mtime == self._mtime:
            return False
        try:
            keys = read_key_file(self._path)
        except (OSError, KeyConfigError):
            log.exception("the master key file changed but cannot be read; keeping the old keys")
            return False
        self._mtime = mtime
        self._set(keys)
        return True
