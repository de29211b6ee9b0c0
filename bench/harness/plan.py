"""What the coordinator asks of the load-generator processes, and what they answer.

Plain frozen dataclasses: they cross the process boundary pickled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Protocol = Literal["lykta", "reference"]


@dataclass(frozen=True)
class Endpoint:
    """Where the simulated people connect: young people to one node, workers to one
    node (the same, or another for the multi-node case)."""

    protocol: Protocol
    youth_base: str
    worker_base: str


@dataclass(frozen=True)
class TeamPlan:
    """One team's part of the population: its workers (a session cookie each on Lykta)
    and how many young people it has. Young person ``i`` is followed by worker
    ``i % workers``, in the same load-generator process."""

    slug: str
    cookies: tuple[str, ...]
    youths: int


# ----- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectIdle:
    """Open ``count`` young people's connections (on Lykta each starts a conversation)
    and keep them open, at most ``concurrency`` handshakes at a time."""

    endpoint: Endpoint
    count: int
    concurrency: int
    teams: tuple[str, ...]
    give_up_at: float | None = None
    """Wall-clock time after which no new connection is attempted (counted as failed)."""


@dataclass(frozen=True)
class CheckIdle:
    """Ping every idle connection; count those that answer within ``timeout``."""

    timeout: float


@dataclass(frozen=True)
class DropIdle:
    """Drop every idle connection at once."""


@dataclass(frozen=True)
class Populate:
    """Connect the workers, then for each young person — an idle one still connected if
    there is one of the team, else a new one that connects and starts — send a first
    message, and have the following worker open (and on Lykta take) the conversation."""

    endpoint: Endpoint
    teams: tuple[TeamPlan, ...]
    concurrency: int
    timeout: float = 30.0


@dataclass(frozen=True)
class SendAtRate:
    """Open loop: young people send ``rate`` messages a second (round robin) for
    ``duration`` seconds from the wall-clock time ``start_at``; then wait up to ``grace``
    seconds for every ack and delivery."""

    rate: float
    duration: float
    start_at: float
    grace: float
    give_up_after_late: int | None = None
    """Stop sending once this many messages are later than ``late_ms`` (delivered late,
    or still undelivered after it): the step has failed whatever happens next."""
    late_ms: float = 100.0


@dataclass(frozen=True)
class Heal:
    """Reconnect whoever the server dropped (a young person resumes with the last seq it
    saw; a worker reopens its conversations), as the browser's client does."""

    timeout: float = 30.0


@dataclass(frozen=True)
class StormPrepare:
    """Every young person leaves; then each worker sends each of them one message and
    waits for the acks."""

    concurrency: int


@dataclass(frozen=True)
class StormGo:
    """At the wall-clock time ``start_at``, every young person reconnects with ``resume``
    and its last seq, retrying with backoff, until it has the message it missed."""

    start_at: float
    deadline: float


@dataclass(frozen=True)
class Reset:
    """Drop every connection and forget the population (between servers)."""


@dataclass(frozen=True)
class Shutdown:
    """Drop everything and end the process."""


Command = (
    ConnectIdle
    | CheckIdle
    | DropIdle
    | Populate
    | SendAtRate
    | Heal
    | StormPrepare
    | StormGo
    | Reset
)


# ----- answers -----------------------------------------------------------------------------


@dataclass
class Failures:
    count: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, exc: BaseException) -> None:
        self.count += 1
        reason = f"{type(exc).__name__}: {exc}"[:160]
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def merge(self, other: Failures) -> None:
        self.count += other.count
        for reason, n in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + n


@dataclass
class IdleResult:
    connected: int
    failures: Failures
    seconds: float


@dataclass
class CheckResult:
    alive: int
    total: int


@dataclass
class PopulateResult:
    youths: int
    workers: int
    failures: Failures
    seconds: float


@dataclass
class RateResult:
    sent: int
    acked: int
    delivered: int
    send_seconds: float
    ack_ms: list[float]
    delivery_ms: list[float]
    lag_ms: list[float]
    """How late each send left against its schedule (the load generator's own delay)."""
    errors: dict[str, int]
    closes: dict[str, int]
    send_failures: int
    gave_up: bool = False
    censored_ms: list[float] = field(default_factory=list)
    """Ages of the messages still undelivered at the end: their latency is at least this."""


@dataclass
class HealResult:
    youths: int
    workers: int
    failures: Failures


@dataclass
class StormPrepared:
    youths: int
    messages: int
    failures: Failures


@dataclass
class StormResult:
    youths: int
    caught_up_s: list[float]
    lost: int
    retries: int
    failures: Failures
    closes: dict[str, int] = field(default_factory=dict)
    """Close codes of the connections that ended during the storm."""


@dataclass
class Crashed:
    """The load generator failed to carry out a command (a bug or an environment
    problem, not a measurement)."""

    error: str


Answer = (
    IdleResult
    | CheckResult
    | PopulateResult
    | RateResult
    | HealResult
    | StormPrepared
    | StormResult
    | Crashed
    | None
)
