"""Nothing identifies a young person: after a scripted conversation from a distinctive
loopback address and user agent, neither appears anywhere the server writes — database
files, the data directory, or its logs — byte for byte."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx
import pytest
import websockets

from lykta.config import Settings
from tests.support.client import Peer
from tests.support.server import Seed, ServerProcess, login_token, seed, settings_for

ADDRESS = "127.0.0.7"


@pytest.fixture
def process_dir(tmp_path: Path) -> tuple[Path, Settings, Seed]:
    data = tmp_path / "data"
    settings = settings_for(data)
    return data, settings, asyncio.run(seed(settings))


def needles(user_agent: str) -> list[bytes]:
    texts = [ADDRESS, user_agent, "127.0.0.7"]
    found = []
    for text in texts:
        found += [text.encode(), text.encode("utf-16-le")]
    return found


@pytest.mark.slow
async def test_no_address_or_user_agent_is_written_anywhere(
    process_dir: tuple[Path, Settings, Seed],
) -> None:
    data, settings, seeded = process_dir
    user_agent = f"LyktaProbe/{secrets.token_hex(8)} (Distinctive; Phone)"
    node = ServerProcess(data).start()
    try:
        headers = {"User-Agent": user_agent, "X-Forwarded-For": ADDRESS}
        transport = httpx.AsyncHTTPTransport(local_address=ADDRESS)
        async with httpx.AsyncClient(
            base_url=node.http, transport=transport, headers=headers
        ) as http:
            assert (await http.get("/chat/demo")).status_code == 200
            assert (await http.get("/chat/no-such-team")).status_code == 404
        ws = await websockets.connect(
            node.ws + "/ws/chat",
            additional_headers=headers,
            user_agent_header=user_agent,
            local_addr=(ADDRESS, 0),
        )
        young = Peer(node.ws)
        young.ws = ws
        await young.start("demo")
        await young.send("hej, jag behöver prata")
        await young.wait_for(lambda f: f["type"] == "ack")
        await young.send_frame({"type": "nonsense"})  # an error path too
        await young.wait_for(lambda f: f["type"] == "error")
        staff = Peer(node.ws, staff_cookie=await login_token(settings, seeded.workers["Anna"]))
        await staff.connect()
        await staff.hello()
        assert young.conversation_id is not None
        await staff.open_conversation(young.conversation_id)
        await staff.send("Hej! Jag heter Anna.", young.conversation_id)
        await young.wait_for(lambda f: f.get("body") == "Hej! Jag heter Anna.")
        await young.drop()  # an abrupt disconnect is logged by some servers
        await staff.close()
    finally:
        node.stop()
    files = [p for p in data.rglob("*") if p.is_file()]
    if not settings.database_url:  # on PostgreSQL the database lives elsewhere
        assert any(p.name.startswith("lykta.db") for p in files)
    assert node.log in files
    assert node.log.stat().st_size > 0
    for path in files:
        content = path.read_bytes()
        for needle in needles(user_agent):
            assert needle not in content, f"{needle!r} found in {path.name}"
