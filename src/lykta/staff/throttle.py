"""Slowing and then stopping password and second-factor guessing.

Per account, in the database (so it holds across nodes): after ``ACCOUNT_LOCK_AFTER``
failures in a row the account is locked for ``ACCOUNT_LOCK_FOR``. Per client, in memory
only: failures are counted under a keyed hash of the address (``ClientKeyer``, whose key
never leaves memory and changes every day), never under the address itself. Before either
lock, each further failure is answered more slowly.

Failure policy: fail closed — when the limit is reached, even a right password is refused
until the lock ends.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

ACCOUNT_LOCK_AFTER = 10
ACCOUNT_LOCK_FOR = dt.timedelta(minutes=15)
CLIENT_LIMIT = 30
CLIENT_WINDOW = 15 * 60.0
SLOW_AFTER = 3
MAX_DELAY = 4.0


def delay_for(failures: int) -> float:
    """Seconds to wait before answering, after ``failures`` recent failures."""
    if failures < SLOW_AFTER:
        return 0.0
    return float(min(MAX_DELAY, 0.25 * 2 ** (failures - SLOW_AFTER)))


@dataclass
class ClientThrottle:
    """Failures per client key in a sliding window. Memory only; bounded in size."""

    limit: int = CLIENT_LIMIT
    window: float = CLIENT_WINDOW
    max_keys: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _now(self) -> float:
        return self.clock()

    def _recent(self, key: str) -> deque[float]:
        now = self._now()
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def failures(self, key: str) -> int:
        return len(self._recent(key))

    def retry_after(self, key: str) -> float:
        """Seconds until this client may try again; 0 when it may try now."""
        failures = self._recent(key)
        if len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[-self.limit] + self.window - self._now())

    def fail(self, key: str) -> None:
        if key not in self._failures and len(self._failures) >= self.max_keys:
            # Under a flood, forget the oldest key rather than grow without bound.
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(key, deque()).append(self._now())

    def succeed(self, key: str) -> None:
        self._failures.pop(key, None)
