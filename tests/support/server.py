"""A real Lykta server for tests: seeded through the service layer, served by uvicorn with
the production settings, in a thread of its own (or as a separate process)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import uvicorn

from lykta.cli import build_app, server_config
from lykta.config import Settings
from lykta.db import Database
from lykta.migrate import upgrade
from lykta.runtime import make_hasher
from lykta.staff.service import StaffIdentity, do_create_staff
from lykta.teams.service import do_create_team

PASSWORD = "correct horse battery staple"
TEAMS: tuple[tuple[str, str, list[tuple[str, str, str]]], ...] = (
    (
        "demo",
        "Fältgruppen Demo",
        [("anna@demo.example", "Anna", "admin"), ("bo@demo.example", "Bo", "worker")],
    ),
    (
        "other",
        "Fältgruppen Annan",
        [("cecilia@other.example", "Cecilia", "admin"), ("dag@other.example", "Dag", "worker")],
    ),
)


@dataclass
class Worker:
    email: str
    first_name: str
    team_slug: str
    user_id: int = 0
    team_id: int = 0
    role: str = "worker"
    totp_secret: str = ""
    used_steps: set[int] = field(default_factory=set)

    def identity(self) -> StaffIdentity:
        """Who this worker is to the services, as a logged-in session resolves it."""
        return StaffIdentity(
            user_id=self.user_id,
            team_id=self.team_id,
            first_name=self.first_name,
            team_slug=self.team_slug,
            team_name="",
            role=self.role,
            email=self.email,
        )

    def code(self) -> str:
        """A TOTP code this account has not used yet (replays are refused)."""
        totp = pyotp.TOTP(self.totp_secret)
        step = int(time.time() // 30)
        for candidate in (step, step + 1):
            if candidate not in self.used_steps and all(candidate > u for u in self.used_steps):
                self.used_steps.add(candidate)
                return totp.generate_otp(candidate)
        raise RuntimeError("no unused TOTP code left in this 30-second window")


@dataclass
class Seed:
    workers: dict[str, Worker] = field(default_factory=dict)
    team_ids: dict[str, int] = field(default_factory=dict)


def database_for(data_dir: Path) -> str | None:
    """With ``LYKTA_TEST_DATABASE_URL`` (a PostgreSQL server), a fresh database per data
    directory, so that every test starts from an empty schema as it does on SQLite."""
    base = os.environ.get("LYKTA_TEST_DATABASE_URL")
    if not base:
        return None
    name = "lykta_t_" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    server, _, _ = base.rpartition("/")
    marker = data_dir.parent / f".{name}"
    if not marker.exists():
        run_now(_create_database(base, name))
        CREATED_DATABASES.append(name)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return f"{server}/{name}"


CREATED_DATABASES: list[str] = []
"""Dropped when the test session ends (see ``drop_created_databases``)."""


def drop_created_databases() -> None:
    base = os.environ.get("LYKTA_TEST_DATABASE_URL")
    if base and CREATED_DATABASES:
        run_now(_drop_databases(base, list(CREATED_DATABASES)))
        CREATED_DATABASES.clear()


async def _drop_databases(base: str, names: list[str]) -> None:
    import asyncpg

    connection = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def run_now(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to the end, also from inside a running event loop (async fixtures)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(work)
        return
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work).result()


async def _create_database(base: str, name: str, template: str | None = None) -> None:
    """A fresh database ``name`` (dropped first if it exists), empty or a copy of
    ``template``."""
    import asyncpg

    connection = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        copy = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await connection.close()


def copy_seeded(template_dir: Path, data_dir: Path) -> None:
    """Give ``data_dir`` a copy of the database (and files) seeded in ``template_dir``:
    a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL. Much faster than
    migrating and seeding again, which would take most of a test run's time."""
    base = os.environ.get("LYKTA_TEST_DATABASE_URL")
    template_url, url = database_for(template_dir), database_for(data_dir)
    if base and template_url and url:
        name, template = url.rpartition("/")[2], template_url.rpartition("/")[2]
        run_now(_create_database(base, name, template))
    if template_dir.exists():
        shutil.copytree(template_dir, data_dir, dirs_exist_ok=True)


def redis_for(data_dir: Path) -> tuple[str | None, str]:
    """With ``LYKTA_TEST_REDIS_URL``, the Redis broker, on channels of this test's own."""
    url = os.environ.get("LYKTA_TEST_REDIS_URL") or None
    prefix = "lykta-t-" + hashlib.sha256(str(data_dir).encode()).hexdigest()[:12] + ":"
    return url, prefix


def settings_for(data_dir: Path) -> Settings:
    redis_url, redis_prefix = redis_for(data_dir)
    return Settings(
        data_dir=data_dir,
        database_url=database_for(data_dir),
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        throttle_delay_scale=0,
        session_check_seconds=0.2,
        rate_limit_scale=float(os.environ.get("LYKTA_TEST_RATE_LIMIT_SCALE", "100")),
        purge_interval_seconds=0,  # tests that purge run it themselves
    )


def env_for(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LYKTA_DATA_DIR=str(data_dir),
        LYKTA_ARGON2_TIME_COST="1",
        LYKTA_ARGON2_MEMORY_COST="1024",
        LYKTA_THROTTLE_DELAY_SCALE="0",
        LYKTA_SESSION_CHECK_SECONDS="0.2",
        LYKTA_RATE_LIMIT_SCALE=os.environ.get("LYKTA_TEST_RATE_LIMIT_SCALE", "100"),
        LYKTA_PURGE_INTERVAL_SECONDS="0",
    )
    url = database_for(data_dir)
    if url:
        env["LYKTA_DATABASE_URL"] = url
    redis_url, redis_prefix = redis_for(data_dir)
    if redis_url:
        env["LYKTA_REDIS_URL"] = redis_url
        env["LYKTA_REDIS_PREFIX"] = redis_prefix
    return env


async def seed(settings: Settings) -> Seed:
    """Migrate, then create two teams, each with an admin and a worker (see ``TEAMS``)."""
    db = Database(settings)
    result = Seed()
    try:
        await upgrade(db)
        hasher = make_hasher(settings)
        async with db.write() as session:
            for slug, name, people in TEAMS:
                team = await do_create_team(session, slug, name)
                result.team_ids[slug] = team.id
                for email, first_name, role in people:
                    secret = pyotp.random_base32(32)
                    user = await do_create_staff(
                        session,
                        hasher,
                        team,
                        email=email,
                        password=PASSWORD,
                        first_name=first_name,
                        role=role,
                        totp_secret=secret,
                    )
                    result.workers[first_name] = Worker(
                        email,
                        first_name,
                        slug,
                        user_id=user.id,
                        team_id=team.id,
                        role=role,
                        totp_secret=secret,
                    )
    finally:
        await db.dispose()
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerThread:
    """uvicorn serving the real app in a background thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = build_app(settings)
        self.server = uvicorn.Server(server_config(self.app, "127.0.0.1", free_port(), settings))
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    @property
    def port(self) -> int:
        return self.server.config.port

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ServerProcess:
    """``lykta serve`` as a real separate process, which a test may SIGKILL."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        env: dict[str, str] | None = None,
        name: str = "server",
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / f"{name}.log"
        self.env = env or {}
        """Settings over ``env_for``'s (several nodes share one data directory)."""

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lykta",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env={**env_for(self.data_dir), **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log.read_text())
            try:
                if httpx.get(self.http + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready:\n" + self.log.read_text())
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def login_token(settings: Settings, worker: Worker) -> str:
    """A session cookie value for ``worker``, created through the service layer."""
    from lykta.runtime import Runtime
    from lykta.staff.models import StaffUser
    from lykta.staff.service import do_create_session

    rt = Runtime.create(settings)
    try:
        async with rt.db.read() as session:
            user = await session.get(StaffUser, worker.user_id)
        assert user is not None
        return await do_create_session(rt, user)
    finally:
        await rt.db.dispose()


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def http_login(client: httpx.Client, worker: Worker, password: str = PASSWORD) -> httpx.Response:
    """Log in through the real forms: password, then a fresh TOTP code."""
    form = client.get("/app/login")
    response = client.post(
        "/app/login",
        data={"email": worker.email, "password": password, "csrf": csrf_of(form.text)},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/app/login/code"
    code_page = client.get("/app/login/code")
    return client.post(
        "/app/login/code", data={"code": worker.code(), "csrf": csrf_of(code_page.text)}
    )


__all__ = ["PASSWORD", "Seed", "ServerProcess", "ServerThread", "StaffIdentity", "Worker"]
