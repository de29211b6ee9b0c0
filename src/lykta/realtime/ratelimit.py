"""Token buckets for socket traffic. Failure policy: fail closed — a frame over the limit
is refused (``rate_limited``), never queued, and a socket that keeps pushing is closed.

Limits per young person's socket, per conversation (all its sockets on this node), and per
client (a keyed hash of the address, see ``web.privacy``) for starting conversations and
trying resume codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lykta.conversations.errors import ConversationError
from lykta.i18n import N_


class RateLimited(ConversationError):
    code = "rate_limited"
    message = N_("That was a lot at once. Wait a moment and try again.")
    terminal = False


@dataclass
class Bucket:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, cost: float = 1.0) -> bool:
        now = self.clock()
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


@dataclass
class KeyedBuckets:
    """A bucket per key (a conversation, a client), forgetting idle keys; bounded."""

    rate: float
    burst: float
    max_keys: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, Bucket] = field(default_factory=dict)

    def take(self, key: str, cost: float = 1.0) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full()
            bucket = self._buckets[key] = Bucket(self.rate, self.burst, self.clock)
        return bucket.take(cost)

    def _forget_full(self) -> None:
        """Drop buckets that have refilled completely (they hold no information)."""
        now = self.clock()
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * b.rate >= b.burst
        ]
        for key in full or list(self._buckets)[: len(self._buckets) // 10 + 1]:
            del self._buckets[key]


# Per young person's socket: frames of any kind, and messages.
SOCKET_FRAMES = (20.0, 60.0)
SOCKET_SENDS = (2.0, 15.0)
# Per conversation, across its sockets: one person typing fast never gets near this.
CONVERSATION_SENDS = (3.0, 30.0)
# Per client (keyed hash of the address): new conversations and wrong resume codes.
CLIENT_STARTS = (0.1, 30.0)
"""Thirty conversations at once, then one every ten seconds. Generous on purpose: a whole
class on a school's network shares one address."""
RESUME_FAILURES_PER_WINDOW = 30
RESUME_WINDOW = 600.0
"""At most thirty wrong codes per client (an address, shared by a school) in ten minutes."""
STRIKES_BEFORE_CLOSE = 50
"""A socket refused this many times is closed (1008): it is not a person typing."""


@dataclass
class Limits:
    """This node's limits, scaled by ``LYKTA_RATE_LIMIT_SCALE`` (1 in production)."""

    scale: float = 1.0
    conversations: KeyedBuckets = field(init=False)
    starts: KeyedBuckets = field(init=False)

    def __post_init__(self) -> None:
        self.conversations = KeyedBuckets(*self.scaled(CONVERSATION_SENDS))
        self.starts = KeyedBuckets(*self.scaled(CLIENT_STARTS))

    def scaled(self, limit: tuple[float, float]) -> tuple[float, float]:
        return limit[0] * self.scale, limit[1] * self.scale

    def socket_buckets(self) -> tuple[Bucket, Bucket]:
        """A young person's socket's own: (any frame, messages)."""
        return Bucket(*self.scaled(SOCKET_FRAMES)), Bucket(*self.scaled(SOCKET_SENDS))

    @property
    def resume_failures(self) -> int:
        return max(1, round(RESUME_FAILURES_PER_WINDOW * self.scale))
