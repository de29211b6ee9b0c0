"""PostgreSQL and Redis for the tests that need them.

``LYKTA_TEST_REDIS_URL`` (and ``LYKTA_TEST_DATABASE_URL``) name running servers. Without
them these tests are skipped with a note on a developer's machine; CI sets both and fails
on any skip. ``RedisServer`` runs a private ``redis-server`` that a test may stop and start
again (the shared one is never restarted).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.support.server import free_port


def redis_url() -> str:
    url = os.environ.get("LYKTA_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set LYKTA_TEST_REDIS_URL (CI does)")
    return url


def database_url() -> str:
    url = os.environ.get("LYKTA_TEST_DATABASE_URL")
    if not url:
        pytest.skip("needs PostgreSQL: set LYKTA_TEST_DATABASE_URL (CI does)")
    return url


def unique_prefix() -> str:
    """Channels of one test, apart from every other test's on a shared Redis."""
    return f"lykta-test-{uuid.uuid4().hex[:12]}:"


class RedisServer:
    """A private redis-server on a free loopback port, which a test may restart."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("LYKTA_TEST_REDIS_URL"):
                pytest.fail("redis-server is needed for the Redis restart tests")
            pytest.skip("needs redis-server")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
