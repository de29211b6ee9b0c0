"""Sessions end when they should, and a worker's live socket ends with them."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from lykta.config import Settings
from lykta.staff.models import StaffSession
from tests.integration.staff_helpers import browser, db_update
from tests.support.server import PASSWORD, Seed, ServerThread, csrf_of, http_login


async def socket_for(server: ServerThread, client: httpx.Client) -> websockets.ClientConnection:
    cookie = client.cookies.get("lykta_staff")
    ws = await websockets.connect(
        server.ws + "/ws/staff", additional_headers={"Cookie": f"lykta_staff={cookie}"}
    )
    assert '"hello"' in await asyncio.wait_for(ws.recv(), 5)
    return ws


async def closed_with(ws: websockets.ClientConnection, timeout: float = 5) -> int:
    """Read until the server closes the socket; the close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as closed:
        frame = closed.rcvd
    assert frame is not None
    return frame.code


def post(client: httpx.Client, path: str, page: str, **data: str) -> httpx.Response:
    return client.post(path, data={"csrf": csrf_of(client.get(page).text), **data})


async def test_idle_session_expires_and_its_socket_closes(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    with browser(server) as client:
        assert http_login(client, seeded.workers["Bo"]).status_code == 303
        ws = await socket_for(server, client)
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
        db_update(
            settings,
            StaffSession,
            StaffSession.user_id == seeded.workers["Bo"].user_id,
            last_seen_at=long_ago,
        )
        assert await closed_with(ws) == 4401
        assert client.get("/app").status_code == 303


async def test_absolute_timeout_ends_even_an_active_session(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    with browser(server) as client:
        assert http_login(client, seeded.workers["Bo"]).status_code == 303
        db_update(
            settings,
            StaffSession,
            StaffSession.user_id == seeded.workers["Bo"].user_id,
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=12, seconds=1),
        )
        assert client.get("/app").status_code == 303


async def test_logout_everywhere_ends_every_session_and_socket(
    server: ServerThread, seeded: Seed
) -> None:
    anna = seeded.workers["Anna"]
    with browser(server) as phone, browser(server) as laptop:
        assert http_login(phone, anna).status_code == 303
        assert http_login(laptop, anna).status_code == 303
        phone_socket = await socket_for(server, phone)
        response = post(laptop, "/app/logout-everywhere", "/app/profile")
        assert response.status_code == 303
        assert await closed_with(phone_socket) == 4401
        assert phone.get("/app").status_code == 303
        assert laptop.get("/app").status_code == 303


async def test_logout_ends_only_this_session(server: ServerThread, seeded: Seed) -> None:
    anna = seeded.workers["Anna"]
    with browser(server) as phone, browser(server) as laptop:
        http_login(phone, anna)
        http_login(laptop, anna)
        phone_socket = await socket_for(server, phone)
        laptop_socket = await socket_for(server, laptop)
        assert post(laptop, "/app/logout", "/app").status_code == 303
        assert await closed_with(laptop_socket) == 4401
        assert phone.get("/app").status_code == 200
        await phone_socket.send('{"type": "ping"}')
        while '"pong"' not in await asyncio.wait_for(phone_socket.recv(), 5):
            pass  # the conversation list comes first
        await phone_socket.close()


async def test_password_change_ends_all_other_sessions(server: ServerThread, seeded: Seed) -> None:
    bo = seeded.workers["Bo"]
    with browser(server) as phone, browser(server) as laptop:
        http_login(phone, bo)
        http_login(laptop, bo)
        phone_socket = await socket_for(server, phone)
        response = post(
            laptop,
            "/app/profile/password",
            "/app/profile",
            current=PASSWORD,
            new="an entirely new passphrase",
        )
        assert response.status_code == 200
        assert await closed_with(phone_socket) == 4401
        assert phone.get("/app").status_code == 303
        assert laptop.get("/app").status_code == 200  # the one that changed it stays in
    with browser(server) as client:
        csrf = csrf_of(client.get("/app/login").text)
        old = client.post(
            "/app/login", data={"email": bo.email, "password": PASSWORD, "csrf": csrf}
        )
        assert old.status_code == 401


async def test_deactivation_closes_the_live_socket_at_once(
    server: ServerThread, seeded: Seed
) -> None:
    bo, anna = seeded.workers["Bo"], seeded.workers["Anna"]
    with browser(server) as worker, browser(server) as admin:
        http_login(worker, bo)
        bo_socket = await socket_for(server, worker)
        http_login(admin, anna)
        response = post(admin, f"/app/admin/members/{bo.user_id}/deactivate", "/app/admin/members")
        assert response.status_code == 303
        assert await closed_with(bo_socket, timeout=2) == 4401
        assert worker.get("/app").status_code == 303
    with browser(server) as client:
        csrf = csrf_of(client.get("/app/login").text)
        again = client.post(
            "/app/login", data={"email": bo.email, "password": PASSWORD, "csrf": csrf}
        )
        assert again.status_code == 401


async def test_pending_session_opens_no_socket(server: ServerThread, seeded: Seed) -> None:
    with browser(server) as client:
        csrf = csrf_of(client.get("/app/login").text)
        client.post(
            "/app/login", data={"email": "anna@demo.example", "password": PASSWORD, "csrf": csrf}
        )
        cookie = client.cookies.get("lykta_staff")
        async with websockets.connect(
            server.ws + "/ws/staff", additional_headers={"Cookie": f"lykta_staff={cookie}"}
        ) as ws:
            assert await closed_with(ws) == 4401
