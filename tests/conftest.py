from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lykta.config import Settings
from tests.support.pushservice import PushService
from tests.support.server import (
    Seed,
    ServerThread,
    copy_seeded,
    drop_created_databases,
    seed,
    settings_for,
)
from tests.support.services import RedisServer, redis_url


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_created_databases()  # PostgreSQL runs make one database per test


# What a test (its module or a fixture it uses) names when the database or broker under it
# depends on LYKTA_TEST_DATABASE_URL / LYKTA_TEST_REDIS_URL.
BACKEND_HINTS = (
    "settings_for",
    "database_for",
    "redis_for",
    "redis_url",
    "database_url",
    "LYKTA_TEST_",
)


@functools.cache  # the same modules and fixtures come up for many tests
def _names_a_backend(code: object) -> bool:
    try:
        source = inspect.getsource(code)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return True  # cannot tell: assume it does
    return any(hint in source for hint in BACKEND_HINTS)


def uses_backend(item: pytest.Item) -> bool:
    """Whether ``item`` could behave differently on PostgreSQL and Redis than on SQLite and
    the in-process broker: it is marked ``services``, its module names the test backends,
    or a fixture it uses (directly or through another fixture) does."""
    if item.get_closest_marker("services") or not isinstance(item, pytest.Function):
        return True
    if _names_a_backend(item.module):
        return True
    definitions = item._fixtureinfo.name2fixturedefs.values()
    return any(_names_a_backend(d.func) for defs in definitions for d in defs)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test that touches no backend runs the same in both of CI's runs: the second skips it.
    for item in items:
        if not item.get_closest_marker("one_backend") and not uses_backend(item):
            item.add_marker(pytest.mark.one_backend)
    if not os.environ.get("LYKTA_TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="about SQLite's own files; this run is on PostgreSQL")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data")


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seed]:
    """One migrated, seeded database per run; each test that asks for ``seeded`` gets a
    copy of it."""
    data_dir = tmp_path_factory.mktemp("seeded-template") / "data"
    return data_dir, asyncio.run(seed(settings_for(data_dir)))


@pytest.fixture
def seeded(settings: Settings, seeded_template: tuple[Path, Seed]) -> Seed:
    """The database of ``settings`` migrated, with two teams, their admins and workers
    (``tests/support/server.py``'s ``TEAMS``)."""
    template_dir, template = seeded_template
    copy_seeded(template_dir, settings.data_dir)
    return copy.deepcopy(template)


@pytest.fixture
def server(settings: Settings, seeded: Seed) -> Iterator[ServerThread]:
    running = ServerThread(settings).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and start (runs where Redis
    tests run: with ``LYKTA_TEST_REDIS_URL``)."""
    redis_url()
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    """A push service on this machine that verifies and decrypts what it gets."""
    with PushService() as running:
        yield running
