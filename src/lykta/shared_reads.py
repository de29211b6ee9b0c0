"""One read at a time per key, shared by everyone who needs it meanwhile.

The per-node caches of what many sends and starts ask about a team (``TeamDirectory``,
``RiskWords``) read it again when it is old: without this, every caller arriving before
the first read was done made a read of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedReads(Generic[K, V]):
    def __init__(self, on_error: Callable[[K, BaseException], None] | None = None) -> None:
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._on_error = on_error
        """Told of a read that failed (its waiters, if any, get the error too)."""

    def start(self, key: K, read: Callable[[], Awaitable[V]]) -> asyncio.Future[V]:
        """The read of ``key`` under way, or a new one (``read()``), which ends by itself
        whether or not anybody waits for it."""
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(read())
            loading.add_done_callback(lambda done: self._done(key, done))
        return loading

    async def wait(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """What the read of ``key`` under way (or a new one) gives. Shielded: one waiter
        giving up does not cancel the read the others wait for."""
        return await asyncio.shield(self.start(key, read))

    def under_way(self, key: K) -> asyncio.Future[V] | None:
        """The read of ``key`` that is current (a read may check it is still the one)."""
        return self._loading.get(key)

    def forget(self, key: K | None = None) -> None:
        """What changed may have been missed by the reads under way (of ``key``, or of
        all): whoever asks from now on gets a new read (those waiting get what theirs
        read)."""
        if key is None:
            self._loading.clear()
        else:
            self._loading.pop(key, None)

    def _done(self, key: K, done: asyncio.Future[V]) -> None:
        if self._loading.get(key) is done:  # not a newer read of the same key
            del self._loading[key]
        if done.cancelled():
            return
        error = done.exception()  # retrieved here too, in case nobody waited
        if error is not None and self._on_error is not None:
            self._on_error(key, error)
