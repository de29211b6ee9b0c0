"""The two socket endpoints are handed their connections before the HTTP middleware
(``lykta.app.SocketsFirst``); what that middleware would have guarded still holds."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.support.frames import frames_in
from tests.support.server import ServerThread


async def test_a_young_persons_socket_from_another_site_is_refused(server: ServerThread) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(
            server.ws + "/ws/chat", additional_headers={"Origin": "https://evil.example"}
        ):
            pass
    assert info.value.response.status_code == 403


async def test_a_young_persons_socket_from_our_own_pages_starts_a_chat(
    server: ServerThread,
) -> None:
    async with websockets.connect(
        server.ws + "/ws/chat", additional_headers={"Origin": server.http}
    ) as ws:
        await ws.send(orjson.dumps({"type": "start", "team": "demo"}).decode())
        frames = frames_in(await asyncio.wait_for(ws.recv(), 5))
        while not any(f["type"] == "ready" for f in frames):
            frames = frames_in(await asyncio.wait_for(ws.recv(), 5))
        [ready] = [f for f in frames if f["type"] == "ready"]
        assert ready["resume_code"]


@pytest.mark.parametrize("path", ["/ws/other", "/ws/chat/", "/app"])
async def test_a_socket_to_any_other_address_is_refused(server: ServerThread, path: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(server.ws + path, additional_headers={"Origin": server.http}):
            pass
    assert info.value.response.status_code in (403, 404)
