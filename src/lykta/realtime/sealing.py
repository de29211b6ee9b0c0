"""What nodes send each other over Redis, encrypted and authenticated.

The frames carry what the sockets receive: message texts in the clear, names, notes. Redis
often runs without a password on an internal network, and anyone who can reach it can
subscribe to every channel or publish into one. So every payload is sealed with
AES-256-GCM before it is published, and a node delivers only what it can open:

* **One key per node and master key.** A node's key is derived with HKDF-SHA256 from the
  current master key and the node's random id (``RedisBroker.node``, new at every start).
  Every node has the master keys, so it derives the sender's key from the frame itself;
  nothing is stored or exchanged. After a master key rotation a node seals with the new
  key and still opens frames sealed with an older one its ring holds (a ring read from
  the key file reads the file again for a key it does not know).
* **Counter nonces.** A node numbers its frames 1, 2, 3, … and uses the number as the
  nonce: never the same nonce twice under one key, however many frames it sends.
* **Bound to the channel.** The channel's name is the associated data: a frame moved to
  another channel does not open.
* **No replays.** One writer per node publishes in order over one connection, so a node's
  numbers arrive in increasing order; a frame whose number is not above the last one
  opened from that node is refused.

A sealed payload: the sender's 16-character id, the master key's 16-character id, the
12-byte nonce, then the ciphertext and its 16-byte tag.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lykta.crypto.keyring import Keyring

log = logging.getLogger(__name__)

PURPOSE = b"lykta/redis-frames/v1/"
ID_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER = 2 * ID_BYTES + NONCE_BYTES
SENDERS = 256
"""Other nodes' keys and last numbers kept (a node has a new id at every start)."""
REPORT_SECONDS = 60.0


class FrameSeal:
    """Seals this node's frames and opens other nodes'. ``keyring`` returns the node's
    master keys (they are loaded when the runtime starts, after this is made)."""

    def __init__(self, node: str, keyring: Callable[[], Keyring]) -> None:
        if len(node) != ID_BYTES:
            raise ValueError(f"a node id has {ID_BYTES} characters")
        self.node = node.encode()
        self._keyring = keyring
        self._own: tuple[str, AESGCM] | None = None
        self._counter = 0
        self._senders: OrderedDict[tuple[bytes, bytes], tuple[AESGCM, int]] = OrderedDict()
        self._refused = 0
        self._reported = float("-inf")

    def _key(self, node: bytes, kek_id: str | None) -> tuple[str, AESGCM] | None:
        derived = self._keyring().derive(PURPOSE + node, kek_id)
        return None if derived is None else (derived.kek_id, AESGCM(derived.raw))

    def seal(self, channel: bytes, payload: bytes) -> bytes:
        """``payload`` sealed for ``channel`` (the full Redis channel name)."""
        current = self._keyring().current.id
        if self._own is None or self._own[0] != current:
            self._own = self._key(self.node, current)
            assert self._own is not None  # noqa: S101 - the current key is in the ring
        kek_id, aead = self._own
        self._counter += 1
        nonce = self._counter.to_bytes(NONCE_BYTES, "big")
        return self.node + kek_id.encode() + nonce + aead.encrypt(nonce, payload, channel)

    @staticmethod
    def sender(sealed: bytes) -> bytes:
        """The id of the node that sealed ``sealed`` (not yet checked)."""
        return sealed[:ID_BYTES]

    def open(self, channel: bytes, sealed: bytes) -> bytes | None:
        """The payload, or None if ``sealed`` was not sealed for ``channel`` by a node with
        the same master keys, or was opened before (each refusal is counted and logged at
        most once a minute)."""
        if len(sealed) < HEADER + TAG_BYTES:
            self._refuse()
            return None
        node, kek = sealed[:ID_BYTES], sealed[ID_BYTES : 2 * ID_BYTES]
        nonce = sealed[2 * ID_BYTES : HEADER]
        known = self._senders.get((node, kek))
        if known is None:
            try:
                key = self._key(node, kek.decode("ascii"))
            except UnicodeDecodeError:
                key = None
            if key is None:
                self._refuse()
                return None
            aead, last = key[1], 0
        else:
            aead, last = known
        number = int.from_bytes(nonce, "big")
        if number <= last:
            self._refuse()
            return None
        try:
            payload = aead.decrypt(nonce, sealed[HEADER:], channel)
        except InvalidTag:
            self._refuse()
            return None
        self._senders[(node, kek)] = (aead, number)
        self._senders.move_to_end((node, kek))
        if len(self._senders) > SENDERS:
            self._senders.popitem(last=False)
        return payload

    def _refuse(self) -> None:
        self._refused += 1
        now = time.monotonic()
        if now - self._reported >= REPORT_SECONDS:
            self._reported = now
            log.warning(
                "refused %d frame(s) from Redis that were not sealed by a node of this "
                "installation (another master key, altered, or replayed)",
                self._refused,
            )
            self._refused = 0
