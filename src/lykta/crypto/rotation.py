"""Rotating the master key while the servers keep running.

With a key file: a new key goes first in the file; after every node has had time to see
the file change (``RELOAD_SECONDS``), every data key is re-wrapped under it in batches,
and older keys no data key needs any more are dropped from the file. With
``LYKTA_MASTER_KEY``: the operator puts a new key first on every node (older ones after
it), then rotation re-wraps under it and says which keys can be removed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from lykta.crypto.envelope import new_key
from lykta.crypto.keyring import RELOAD_SECONDS, write_key_file
from lykta.crypto.keystore import KeyStore

GRACE_SECONDS = RELOAD_SECONDS * 2 + 0.5


@dataclass
class RotationReport:
    current: str
    rewrapped: int
    added: bool
    """A new key was generated (key file); otherwise the configured first key is used."""
    retired: list[str] = field(default_factory=list)
    still_needed: dict[str, int] = field(default_factory=dict)


async def rotate(store: KeyStore, *, grace: float = GRACE_SECONDS) -> RotationReport:
    keyring = store.keyring
    added = False
    if keyring.path is not None:
        write_key_file(keyring.path, [new_key(), *keyring.raw])
        keyring.refresh(force=True)
        added = True
        # Nodes notice the new file within RELOAD_SECONDS; after that none wraps a new
        # data key under the old master key.
        await asyncio.sleep(grace)
    result = await store.rewrap()
    retired = await store.retire_old_keys() if not result.remaining else []
    return RotationReport(
        current=result.current,
        rewrapped=result.rewrapped,
        added=added,
        retired=retired,
        still_needed=result.remaining,
    )
