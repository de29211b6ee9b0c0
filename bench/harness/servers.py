"""The servers under test, each a separate process: Lykta (``lykta serve`` with production
settings) and the reference servers (``python -m <package>.<name>``), started from the
repository's root, with their readiness, resident memory and CPU time read from outside.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from lykta.config import Settings

RATE_LIMIT_SCALE = "1000"
"""Every load comes from this machine: Lykta's per-client and per-socket limits are
multiplied by this (``LYKTA_RATE_LIMIT_SCALE``), or they would refuse the load."""

REFERENCES = ("echo", "sqlite_relay", "channels_app")
REFERENCE_TITLES = {
    "echo": "bare WebSocket echo (the ceiling)",
    "sqlite_relay": "naive SQLite relay (the cost of the guarantees)",
    "channels_app": "Django Channels chat (the usual Python alternative)",
}
TICKS = os.sysconf("SC_CLK_TCK")


class ServerFailed(RuntimeError):
    """A server did not start or died; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """The caller's environment without any ``LYKTA_*`` setting (``LYKTA_BENCH_*`` kept):
    the servers run with Lykta's defaults plus what the benchmark sets."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LYKTA_") or k.startswith("LYKTA_BENCH_")
    }


def http_ok(port: int, path: str, timeout: float = 1.0) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@dataclass
class ServerProcess:
    """One server process; ``start`` returns the seconds from spawning it to its
    readiness URL answering 200."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    ready_path: str
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerFailed(f"{self.name} is not running")
        return self.process.pid

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> float:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        while True:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.name} exited with status {self.process.returncode}:\n{self.tail()}"
                )
            if http_ok(self.port, self.ready_path, timeout=0.5):
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                self.stop()
                raise ServerFailed(f"{self.name} not ready within {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.005)

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_kib(self) -> int:
        """Resident memory (``VmRSS`` in /proc/<pid>/status), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise ServerFailed(f"no VmRSS for {self.name}")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        self.ask_to_stop()
        self.wait_stopped()

    def ask_to_stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def stop_all(servers: list[ServerProcess]) -> None:
    """Stop the servers at the same time (each closes its sockets gracefully)."""
    for server in servers:
        server.ask_to_stop()
    for server in servers:
        server.wait_stopped()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads), in seconds."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    return 0.0


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (every process, the kernel's work
    included: the database servers, Redis, the load generators), summed over its cores."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return (sum(fields[:8]) - idle) / TICKS  # guest time is counted in user already
    return 0.0


def wait_until_quiet(servers: list[ServerProcess], limit: float = 15.0) -> float:
    """Wait until the servers use less than a fifth of a core (a backlog drained)."""
    started, window = time.perf_counter(), 0.15
    while time.perf_counter() - started < limit:
        before = [s.cpu_seconds() for s in servers]
        time.sleep(window)
        busy = max(s.cpu_seconds() - b for s, b in zip(servers, before, strict=True)) / window
        if busy < 0.2:
            break
    return time.perf_counter() - started


@dataclass
class LyktaInstall:
    """A data directory (and optionally a PostgreSQL database and Redis) for Lykta nodes."""

    root: Path
    repo: Path
    database_url: str | None = None
    redis_url: str | None = None
    master_key: str | None = None
    redis_prefix: str = field(default_factory=lambda: f"lykta-bench-{uuid.uuid4().hex[:12]}:")
    """This run's own channel names on Redis: pub/sub channels are shared by every user of
    a Redis server, whatever its database number (tests, other installations)."""

    def env(self, node: int = 1) -> dict[str, str]:
        env = clean_environment()
        env["LYKTA_DATA_DIR"] = str(self.root / f"node{node}")
        env["LYKTA_RATE_LIMIT_SCALE"] = RATE_LIMIT_SCALE
        if self.database_url:
            env["LYKTA_DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["LYKTA_REDIS_URL"] = self.redis_url
            env["LYKTA_REDIS_PREFIX"] = self.redis_prefix
        if self.master_key:
            env["LYKTA_MASTER_KEY"] = self.master_key
        return env

    def settings(self) -> Settings:
        """Settings for seeding: the first node's, with nothing read from the caller."""
        return Settings(
            data_dir=self.root / "node1",
            database_url=self.database_url,
            redis_url=self.redis_url,
            redis_prefix=self.redis_prefix,
            master_key=SecretStr(self.master_key) if self.master_key else None,
            rate_limit_scale=float(RATE_LIMIT_SCALE),
        )

    def server(self, node: int = 1, port: int | None = None) -> ServerProcess:
        port = port or free_port()
        return ServerProcess(
            name="lykta" if node == 1 else f"lykta-node{node}",
            argv=[
                sys.executable,
                "-m",
                "lykta",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=self.env(node),
            cwd=self.repo,
            port=port,
            ready_path="/healthz",
            log=self.root / f"node{node}.log",
        )


def reference_server(
    repo: Path,
    package: str,
    name: str,
    work: Path,
    *,
    db: Path | None = None,
    redis_url: str | None = None,
    instance: int = 1,
) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, "-m", f"{package}.{name}", "--host", "127.0.0.1", "--port", str(port)]
    if db is not None:
        argv += ["--db", str(db)]
    if redis_url:
        argv += ["--redis", redis_url]
    return ServerProcess(
        name=name if instance == 1 else f"{name}-{instance}",
        argv=argv,
        env=clean_environment(),
        cwd=repo,
        port=port,
        ready_path="/ready",
        log=work / f"{name}-{instance}.log",
    )


async def create_database(admin_url: str) -> tuple[str, str]:
    """A fresh PostgreSQL database next to ``admin_url``'s; (its SQLAlchemy URL, name)."""
    import asyncpg

    name = f"lykta_bench_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(_plain(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    server, _, _ = admin_url.rpartition("/")
    return f"{server}/{name}", name


async def drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_plain(admin_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
