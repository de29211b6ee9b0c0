"""What the push tests share: a worker's subscribed device, a young person's chat, a
worker's app socket, and waiting for pushes. ``server`` is anything serving Lykta (a
thread or a real process) with ``http`` and ``ws`` addresses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from lykta.config import Settings
from lykta.staff.models import StaffUser
from lykta.web.csrf import CSRF_COOKIE
from lykta.web.security import STAFF_COOKIE
from tests.integration.staff_helpers import db_update
from tests.support.client import Peer
from tests.support.pushservice import Delivery, PushService
from tests.support.server import Seed, http_login


class Serving(Protocol):
    @property
    def http(self) -> str: ...

    @property
    def ws(self) -> str: ...


@dataclass
class Device:
    """A worker's phone: logged in, subscribed to the local push service."""

    subscription: dict[str, Any]
    session: str
    csrf: str

    @property
    def endpoint(self) -> str:
        return str(self.subscription["endpoint"])


@contextmanager
def login(server: Serving, seeded: Seed, name: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http, follow_redirects=False) as client:
        assert http_login(client, seeded.workers[name]).status_code == 303
        client.get("/app")
        yield client


def subscribe(
    server: Serving, seeded: Seed, push_service: PushService, name: str, lang: str = "en"
) -> Device:
    with login(server, seeded, name) as client:
        csrf = client.cookies[CSRF_COOKIE]
        key = client.get("/app/push/key")
        assert key.status_code == 200
        made = push_service.subscribe(application_server_key=key.json()["public_key"])
        response = client.post(
            "/app/push/subscriptions",
            json=made,
            headers={"X-CSRF-Token": csrf, "Accept-Language": lang},
        )
        assert response.status_code == 201, response.text
        assert response.json() == {"ok": True}
        return Device(made, client.cookies[STAFF_COOKIE], csrf)


def on_duty(settings: Settings, seeded: Seed, name: str) -> None:
    db_update(settings, StaffUser, StaffUser.id == seeded.workers[name].user_id, on_duty=True)


async def youth(server: Serving, text: str) -> Peer:
    peer = Peer(server.ws)
    await peer.connect()
    assert (await peer.start())["type"] == "ready"
    await peer.send(text)
    await peer.wait_for(lambda f: f["type"] == "ack")
    return peer


async def says(peer: Peer, text: str) -> None:
    client_id = await peer.send(text)
    await peer.wait_for(lambda f: f["type"] == "ack" and f["client_id"] == client_id)


async def worker_socket(server: Serving, device: Device) -> Peer:
    peer = Peer(server.ws, staff_cookie=device.session)
    await peer.connect()
    await peer.hello()
    return peer


async def flush(peer: Peer) -> None:
    """Every frame sent before has been handled (the socket answers in order)."""
    await peer.send_frame({"type": "ping"})
    await peer.wait_for(lambda f: f["type"] == "pong")


async def pushes(push_service: PushService, device: Device, count: int = 1) -> list[Delivery]:
    return await asyncio.to_thread(push_service.wait_for_delivery, device.endpoint, count)
