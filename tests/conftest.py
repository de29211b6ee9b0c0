from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lykta.config import Settings
from tests.support.pushservice import PushService
from tests.support.server import (
    Seed,
    ServerThread,
    drop_created_databases,
    seed,
    settings_for,
)
from tests.support.services import RedisServer, redis_url


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_created_databases()  # PostgreSQL runs make one database per test


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("LYKTA_TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="about SQLite's own files; this run is on PostgreSQL")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "data")


@pytest.fixture
def seeded(settings: Settings) -> Seed:
    return asyncio.run(seed(settings))


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
