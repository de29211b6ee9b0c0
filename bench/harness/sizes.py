"""How big each mode's workload is."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sizes:
    mode: str
    idle: int
    """Idle young people's connections held at once (each starts a conversation on Lykta)."""
    teams: int
    workers_per_team: int
    youths_per_team: int
    latency_rate: float
    """Messages a second while latency is measured."""
    latency_seconds: float
    latency_grace: float
    """Seconds after the last send to wait for every delivery (an overloaded server has a
    backlog to work off; what is still missing then counts as not delivered)."""
    ramp_start: float
    """The first step of the throughput ramp, messages a second."""
    ramp_max: float
    ramp_factor: float
    """Each passing step multiplies the rate by this until one fails; then bisection."""
    step_seconds: float
    step_grace: float
    """Seconds after a step's last send to wait for its acks and deliveries."""
    bisections: int
    startup_runs: int
    idle_hold: float
    """Seconds the idle connections are held before they are pinged."""
    idle_concurrency: int
    idle_limit: float
    """Seconds to open the idle connections; whatever is not open by then counts as not
    held (a server whose accepting slows down as connections pile up cannot stall the run)."""
    reference_idle_limit: float
    """The same for the references. Shorter in the full mode, so that the whole run fits
    in ten minutes: the Django Channels chat opens about 65 connections a second, and
    would spend almost four minutes on 15,000. What a reference did not open within its
    limit counts as not held, and the report says which limit applied."""
    populate_concurrency: int
    storm_deadline: float
    """A young person not caught up this long after the storm began counts as lost."""
    cluster_youths_per_team: int
    """Young people per team in the two-node scenario (a throughput figure only)."""

    @property
    def youths(self) -> int:
        return self.teams * self.youths_per_team

    @property
    def workers(self) -> int:
        return self.teams * self.workers_per_team

    def describe(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "youths": self.youths,
            "workers": self.workers,
            "cluster_youths": self.teams * self.cluster_youths_per_team,
        }


FULL = Sizes(
    mode="full",
    idle=15_000,
    teams=10,
    workers_per_team=10,
    youths_per_team=500,
    latency_rate=500,
    latency_seconds=8,
    latency_grace=20,
    ramp_start=250,
    ramp_max=64_000,
    ramp_factor=4,
    step_seconds=3,
    step_grace=3,
    bisections=3,
    startup_runs=5,
    idle_hold=5,
    idle_concurrency=64,
    idle_limit=240,
    reference_idle_limit=30,
    populate_concurrency=64,
    storm_deadline=180,
    cluster_youths_per_team=100,
)

QUICK = Sizes(
    mode="quick",
    idle=200,
    teams=4,
    workers_per_team=5,
    youths_per_team=40,
    latency_rate=200,
    latency_seconds=1,
    latency_grace=10,
    ramp_start=100,
    ramp_max=16_000,
    ramp_factor=8,
    step_seconds=1,
    step_grace=1.5,
    bisections=0,
    startup_runs=2,
    idle_hold=0.5,
    idle_concurrency=64,
    idle_limit=60,
    reference_idle_limit=60,
    populate_concurrency=64,
    storm_deadline=60,
    cluster_youths_per_team=25,
)

TINY = Sizes(
    mode="tiny",
    idle=60,
    teams=2,
    workers_per_team=2,
    youths_per_team=20,
    latency_rate=40,
    latency_seconds=1.5,
    latency_grace=5,
    ramp_start=100,
    ramp_max=200,
    ramp_factor=2,
    step_seconds=1,
    step_grace=2,
    bisections=0,
    startup_runs=2,
    idle_hold=0.5,
    idle_concurrency=16,
    idle_limit=30,
    reference_idle_limit=30,
    populate_concurrency=16,
    storm_deadline=20,
    cluster_youths_per_team=10,
)
"""For the harness's own test: every path, in seconds."""

MODES = {s.mode: s for s in (FULL, QUICK, TINY)}
