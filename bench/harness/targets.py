"""What is measured: Lykta on one node (SQLite), Lykta on two nodes (PostgreSQL + Redis),
and the reference servers. A ``Target`` knows how to make its server processes and how
the population is spread over teams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness.plan import Endpoint, Protocol, TeamPlan
from bench.harness.seed import seed, team_slug
from bench.harness.servers import (
    LyktaInstall,
    ServerProcess,
    create_database,
    drop_database,
    reference_server,
)
from bench.harness.sizes import Sizes


@dataclass
class Target:
    name: str
    protocol: Protocol
    make_servers: Callable[[], list[ServerProcess]]
    """Fresh process handles: one node, or two (young people on the first, workers on
    the last)."""
    teams: list[TeamPlan]
    resumes: bool
    """Whether clients can resume after a reconnect (the storm needs it)."""
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def endpoint(self, servers: list[ServerProcess]) -> Endpoint:
        return Endpoint(self.protocol, servers[0].ws_base, servers[-1].ws_base)

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(team.slug for team in self.teams)

    def close(self) -> None:
        for step in reversed(self.cleanup):
            step()


def lykta(repo: Path, work: Path, sizes: Sizes) -> Target:
    """One Lykta node on SQLite, seeded (migrated, teams, workers, sessions)."""
    install = LyktaInstall(work / "lykta", repo)
    seeded = asyncio.run(seed(install.settings(), sizes.teams, sizes.workers_per_team))
    return Target(
        name="lykta",
        protocol="lykta",
        make_servers=lambda: [install.server()],
        teams=[TeamPlan(t.slug, t.cookies, sizes.youths_per_team) for t in seeded],
        resumes=True,
    )


def lykta_two_nodes(
    repo: Path, work: Path, sizes: Sizes, postgres_url: str, redis_url: str
) -> Target:
    """Two Lykta nodes on a fresh PostgreSQL database (dropped afterwards), sharing Redis
    and one master key."""
    from lykta.crypto.keyring import generate_key_text

    database_url, name = asyncio.run(create_database(postgres_url))
    install = LyktaInstall(
        work / "lykta-2",
        repo,
        database_url=database_url,
        redis_url=redis_url,
        master_key=generate_key_text(),
    )
    target = Target(
        name="lykta",
        protocol="lykta",
        make_servers=lambda: [install.server(1), install.server(2)],
        teams=[],
        resumes=True,
        cleanup=[lambda: asyncio.run(drop_database(postgres_url, name))],
    )
    try:
        seeded = asyncio.run(seed(install.settings(), sizes.teams, sizes.workers_per_team))
    except BaseException:
        target.close()
        raise
    target.teams = [TeamPlan(t.slug, t.cookies, sizes.cluster_youths_per_team) for t in seeded]
    return target


def reference(
    repo: Path,
    work: Path,
    sizes: Sizes,
    package: str,
    name: str,
    *,
    redis_url: str | None = None,
) -> Target:
    """A reference server (one process; two sharing Redis when ``redis_url`` is given)."""
    folder = work / (name if redis_url is None else f"{name}-2")
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "reference.sqlite" if name != "echo" else None
    nodes = 1 if redis_url is None else 2

    def make() -> list[ServerProcess]:
        return [
            reference_server(
                repo, package, name, folder, db=db, redis_url=redis_url, instance=i + 1
            )
            for i in range(nodes)
        ]

    workers = ("",) * sizes.workers_per_team
    youths = sizes.youths_per_team if redis_url is None else sizes.cluster_youths_per_team
    return Target(
        name=name,
        protocol="reference",
        make_servers=make,
        teams=[TeamPlan(team_slug(t), workers, youths) for t in range(sizes.teams)],
        resumes=False,
    )
