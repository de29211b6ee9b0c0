"""The benchmark's reference servers (``bench/reference``) speak the reference protocol:
each is started as its own process, a worker opens conversations, a young person sends, the
young person gets the acks and the worker the messages; the storing ones have the rows in
their SQLite file; and SIGTERM ends each process with status 0.

Needs the ``bench`` extra (Django, Channels, channels-redis). The two-node Channels test
(marked ``services``) needs Redis: ``LYKTA_TEST_REDIS_URL``, else ``redis://127.0.0.1:6379/15``;
it fails, never skips, when Redis is not there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from bench.reference import common
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from lykta.cli import server_config as lykta_server_config
from lykta.config import Settings
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LYKTA_TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
TABLES = {"sqlite_relay": "messages", "channels_app": "chat_message"}
TIMEOUT = 10


class Reference:
    """``python -m bench.reference.<module>`` on a free port, ready once /ready says so."""

    def __init__(self, module: str, log: Path, db: Path | None, redis: str | None) -> None:
        self.module = module
        self.port = free_port()
        self.log = log
        self.args = ["--host", "127.0.0.1", "--port", str(self.port)]
        if db is not None:
            self.args += ["--db", str(db)]
        if redis is not None:
            self.args += ["--redis", redis]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Reference:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"bench.reference.{self.module}", *self.args],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.module} exited:\n{self.log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(f"http://127.0.0.1:{self.port}/ready", timeout=1)
                if response.status_code == 200 and response.text == "ok":
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.module} did not become ready:\n{self.log.read_text()}")
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM, then the exit status (None if it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    started: list[Reference] = []

    def start_reference(module: str, db: Path | None = None, redis: str | None = None) -> Reference:
        log = tmp_path / f"{module}-{len(started)}.log"
        reference = Reference(module, log, db, redis)
        started.append(reference)
        return reference.start()

    yield start_reference
    for reference in started:
        reference.stop()


async def receive(socket: ClientConnection) -> Any:
    async with asyncio.timeout(TIMEOUT):
        return json.loads(await socket.recv())


async def open_conversations(worker: ClientConnection, *conversation_ids: str) -> None:
    for conversation_id in conversation_ids:
        await worker.send(json.dumps({"type": "open", "conversation_id": conversation_id}))
        assert await receive(worker) == {"type": "opened", "conversation_id": conversation_id}


async def send(youth: ClientConnection, client_id: str, body: str) -> None:
    await youth.send(json.dumps({"type": "send", "client_id": client_id, "body": body}))
    assert await receive(youth) == {"type": "ack", "client_id": client_id}


def message(conversation_id: str, client_id: str, body: str) -> dict[str, str]:
    return {
        "type": "message",
        "conversation_id": conversation_id,
        "client_id": client_id,
        "body": body,
    }


async def exchange(
    youth_node: Reference, worker_node: Reference, count: int = 5
) -> tuple[str, list[tuple[str, str]]]:
    """A worker opens two conversations; a young person sends ``count`` messages in one of
    them and a few in a conversation nobody opened. Returns the conversation and what it
    carried, ``(client_id, body)`` in order."""
    conversation = f"t-{uuid.uuid4().hex}"
    other = f"t-{uuid.uuid4().hex}"
    unopened = f"t-{uuid.uuid4().hex}"
    sent = [(f"c{i}-{uuid.uuid4().hex[:8]}", f'hej {i}: åäö "quoted" ✓') for i in range(count)]
    async with connect(f"{worker_node.ws}/ws/worker", open_timeout=TIMEOUT) as worker:
        await open_conversations(worker, conversation, other)
        async with (
            connect(f"{youth_node.ws}/ws/youth?c={conversation}", open_timeout=TIMEOUT) as youth,
            connect(f"{youth_node.ws}/ws/youth?c={unopened}", open_timeout=TIMEOUT) as stranger,
        ):
            await send(stranger, "x1", "nobody follows this conversation")
            for client_id, body in sent:
                await send(youth, client_id, body)
            # Only the opened conversation's messages arrive, in order.
            for client_id, body in sent:
                assert await receive(worker) == message(conversation, client_id, body)
    return conversation, sent


def stored(db: Path, table: str, conversation_id: str) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            f"SELECT client_id, body, created_at FROM {table}"  # noqa: S608 (a constant)
            " WHERE conversation_id = ? ORDER BY rowid",
            (conversation_id,),
        ).fetchall()
    assert all(created_at for _, _, created_at in rows)
    return [(client_id, body) for client_id, body, _ in rows]


def test_the_references_use_lyktas_server_settings() -> None:
    ours = common.server_config(None, "127.0.0.1", 1)
    lyktas = lykta_server_config(None, "127.0.0.1", 1, Settings())
    for name in (
        "ws",
        "http",
        "loop",
        "ws_max_size",
        "ws_max_queue",
        "ws_ping_interval",
        "ws_ping_timeout",
        "ws_per_message_deflate",
        "access_log",
        "server_header",
        "proxy_headers",
        "log_config",
        "backlog",
        "timeout_keep_alive",
    ):
        assert getattr(ours, name) == getattr(lyktas, name), name


@pytest.mark.slow
@pytest.mark.parametrize("module", ["echo", "sqlite_relay", "channels_app"])
async def test_reference_relays_acks_and_stores(start: Any, module: str, tmp_path: Path) -> None:
    db = tmp_path / f"{module}.sqlite3"
    node = start(module, db=db)
    conversation, sent = await exchange(node, node)
    if module in TABLES:
        assert stored(db, TABLES[module], conversation) == sent
    else:
        assert not db.exists()
    assert node.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("module", ["echo", "sqlite_relay", "channels_app"])
async def test_reference_closes_a_socket_that_breaks_the_protocol(
    start: Any, module: str, tmp_path: Path
) -> None:
    node = start(module, db=tmp_path / f"{module}.sqlite3")
    async with connect(f"{node.ws}/ws/youth?c=ok", open_timeout=TIMEOUT) as youth:
        await youth.send(json.dumps({"type": "send", "client_id": 1, "body": "x"}))
        async with asyncio.timeout(TIMEOUT):
            await youth.wait_closed()
        assert youth.close_code == common.CLOSE_POLICY
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{node.ws}/ws/youth?c=bad%20id", open_timeout=TIMEOUT):
            pass
    assert refused.value.response.status_code == 403
    assert node.stop() == 0


def redis_must_answer(url: str) -> None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2) as s:
            s.sendall(b"PING\r\n")
            answer = s.recv(64)
    except OSError as exc:
        pytest.fail(f"this test needs Redis at {url} (LYKTA_TEST_REDIS_URL): {exc}")
    assert answer.startswith((b"+PONG", b"-NOAUTH")), answer


@pytest.mark.slow
@pytest.mark.services
async def test_channels_two_nodes_over_redis(start: Any, tmp_path: Path) -> None:
    """Needs Redis: a young person on one node, the worker on another, one SQLite file."""
    redis_must_answer(REDIS_URL)
    db = tmp_path / "channels.sqlite3"
    first = start("channels_app", db=db, redis=REDIS_URL)
    second = start("channels_app", db=db, redis=REDIS_URL)
    conversation, sent = await exchange(youth_node=first, worker_node=second, count=3)
    assert stored(db, TABLES["channels_app"], conversation) == sent
    back, sent_back = await exchange(youth_node=second, worker_node=first, count=2)
    assert stored(db, TABLES["channels_app"], back) == sent_back
    assert first.stop() == 0
    assert second.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("module", ["echo", "sqlite_relay"])
def test_single_process_references_refuse_redis(module: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", f"bench.reference.{module}", "--db", str(tmp_path / "x.db")]
    result = subprocess.run(
        [*command, "--redis", REDIS_URL],
        cwd=ROOT,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert b"--redis is not supported" in result.stderr
