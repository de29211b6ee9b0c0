from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from lykta.config import Settings
from tests.support.server import Seed, ServerThread, seed, settings_for


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
