"""Team isolation, generated from the app's own route table and protocol.

Every HTTP route and every staff socket frame is visited. A route that is not on the
public list must refuse anonymous callers, and a route or frame that takes an id must
answer another team's id exactly as it answers an id that does not exist. A new endpoint
is covered automatically; one whose id parameter the matrix does not know fails here until
it is added to ``ID_PARAMS`` (and so, is thought about).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import re
import secrets
import typing
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lykta.app import ROUTERS, create_app
from lykta.config import Settings
from lykta.conversations.models import Conversation
from lykta.db import Database
from lykta.realtime import protocol
from lykta.staff.models import StaffUser
from lykta.teams.models import CannedReply, OpeningException, OpeningHours, RiskWord
from tests.integration.staff_helpers import browser
from tests.support.client import Peer
from tests.support.server import Seed, ServerThread, csrf_of, http_login, login_token

PUBLIC = {
    "/",
    "/healthz",
    "/chat/{slug}",
    "/app/login",
    "/app/login/code",
    "/app/enrol",
    "/app/invite/{token}",
    "/app/manifest.webmanifest",
    "/app/sw.js",
    "/app/offline",
    "/photos/{token}.jpg",
    "/widget.js",
    "/ws/chat",
}
"""Routes anyone may reach: the youth side, and the steps of logging in."""

ID_MODELS: dict[str, Any] = {
    "member_id": StaffUser,
    "period_id": OpeningHours,
    "exception_id": OpeningException,
    "reply_id": CannedReply,
    "word_id": RiskWord,
    "conversation_id": Conversation,
}
"""The table behind each id parameter (its row must come through a visit unchanged)."""
ID_PARAMS = set(ID_MODELS)
"""Path parameters naming a team-owned object (filled with team ``demo``'s object)."""
MISSING = {"conversation_id": uuid.uuid4().hex}
"""An id that names nothing, well-formed for its parameter (default ``987654``)."""
FORM = {"role": "worker", "key": "outsider", "body": "Changed by another team"}
"""Valid values for the forms of routes that take an id, so that only the id can fail."""


def http_routes() -> list[tuple[str, str]]:
    found = []
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute), f"unclassified route {route!r}"
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    found.append((route.path, method))
    # Nothing served outside the routers above but the static files (the OpenAPI document
    # lists every route).
    spec = create_app().openapi()["paths"]
    assert set(spec) - {path for path, _ in found} == {"/static/{path}"}
    return found


ROUTES = http_routes()
PRIVATE = [(path, method) for path, method in ROUTES if path not in PUBLIC]
WITH_IDS = [(path, method) for path, method in PRIVATE if "{" in path]


def fill(path: str, values: dict[str, str], default: str = "987654") -> str:
    """``path`` with each ``{param}`` replaced by ``values[param]`` (or ``default``)."""
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), default), path)


T = TypeVar("T")


def in_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in a write transaction of a database handle of its own."""

    async def run() -> T:
        db = Database(settings)
        try:
            async with db.write() as session:
                return await work(session)
        finally:
            await db.dispose()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


@pytest.fixture
def victims(settings: Settings, seeded: Seed) -> dict[str, str]:
    """For each id parameter, the id of a real object of team ``demo``."""
    team = seeded.team_ids["demo"]

    async def create(session: AsyncSession) -> dict[str, str]:
        rows: dict[str, Any] = {
            "period_id": OpeningHours(team_id=team, weekday=0, opens="09:00", closes="17:00"),
            "exception_id": OpeningException(
                team_id=team, day=dt.date(2099, 12, 24), opens=None, closes=None, label="Jul"
            ),
            "reply_id": CannedReply(team_id=team, key="hej", body="Hej, jag heter {name}."),
            "word_id": RiskWord(team_id=team, category="suicide", pattern="knäckord*"),
            "conversation_id": Conversation(
                id=uuid.uuid4().hex,
                team_id=team,
                number=999,
                state="closed",
                resume_hash=secrets.token_bytes(32),
                browser_hash=secrets.token_bytes(32),
                blocked_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
            ),
        }
        session.add_all(rows.values())
        await session.flush()
        ids = {name: str(row.id) for name, row in rows.items()}
        return {"member_id": str(seeded.workers["Bo"].user_id), **ids}

    made = in_db(settings, create)
    assert set(made) == ID_PARAMS
    return made


def snapshot(settings: Settings, objects: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every column of every object, read straight from the database."""

    async def read(session: AsyncSession) -> dict[str, dict[str, Any]]:
        found = {}
        for name, value in objects.items():
            table = ID_MODELS[name].__table__
            key = table.c.id.type.python_type(value)
            row = (await session.execute(select(table).where(table.c.id == key))).one()
            found[name] = dict(row._mapping)
        return found

    return in_db(settings, read)


def test_matrix_covers_the_app() -> None:
    assert ("/app/admin/members/{member_id}/deactivate", "POST") in WITH_IDS
    assert ("/app", "GET") in PRIVATE
    for path, _method in WITH_IDS:
        params = set(re.findall(r"\{([^}]+)\}", path))
        assert params <= ID_PARAMS, f"{path}: teach the isolation matrix about {params}"


@pytest.mark.parametrize(("path", "method"), PRIVATE)
def test_anonymous_callers_are_sent_to_login(
    server: ServerThread, victims: dict[str, str], path: str, method: str
) -> None:
    target = fill(path, victims)
    with browser(server) as anonymous:
        csrf = csrf_of(anonymous.get("/app/login").text)
        response = anonymous.request(
            method, target, data={"csrf": csrf} if method == "POST" else None
        )
    if response.status_code == 303:
        assert response.headers["location"] == "/app/login"
    else:
        assert method != "GET"
        assert response.status_code == 401


def _ask(client: httpx.Client, method: str, path: str) -> httpx.Response:
    data = None
    if method == "POST":
        data = {"csrf": csrf_of(client.get("/app/profile").text), **FORM}
    return client.request(method, path, data=data)


@pytest.mark.parametrize("who", ["Cecilia", "Dag"])
@pytest.mark.parametrize(("path", "method"), WITH_IDS)
def test_other_teams_ids_are_indistinguishable_from_missing_ones(
    server: ServerThread,
    settings: Settings,
    seeded: Seed,
    victims: dict[str, str],
    path: str,
    method: str,
    who: str,
) -> None:
    victim = seeded.workers["Bo"]  # a member of team demo
    before = snapshot(settings, victims)
    theirs_path, missing_path = fill(path, victims), fill(path, MISSING)
    with browser(server) as outsider:
        assert http_login(outsider, seeded.workers[who]).status_code == 303
        theirs = _ask(outsider, method, theirs_path)
        nothing = _ask(outsider, method, missing_path)
    assert theirs.status_code == nothing.status_code
    assert theirs.status_code in (403, 404)
    if seeded.workers[who].role == "admin":  # no role check in the way: the id itself fails
        assert theirs.status_code == 404

    # Pages echo their own path (language links); apart from that, not one byte differs.
    assert theirs.text.replace(theirs_path, "PATH") == nothing.text.replace(missing_path, "PATH")
    # Nothing happened to any object of the other team: every column is as it was.
    assert snapshot(settings, victims) == before
    # And the member of the other team still looks the same to their admin.
    with browser(server) as owner:
        http_login(owner, seeded.workers["Anna"])
        members = owner.get("/app/admin/members").text
    row = members.split(f'data-testid="member-{victim.user_id}"', 1)[1].split("</tr>", 1)[0]
    assert 'value="worker" selected' in row
    assert 'class="btn small danger"' in row  # still active: its button deactivates


@pytest.mark.parametrize(
    "path", [path for path, method in PRIVATE if "{" not in path and method == "GET"]
)
def test_pages_show_only_the_callers_team(server: ServerThread, seeded: Seed, path: str) -> None:
    with browser(server) as outsider:
        http_login(outsider, seeded.workers["Cecilia"])
        page = outsider.get(path)
    assert page.status_code == 200
    for worker in seeded.workers.values():
        if worker.team_slug == "demo":
            assert worker.email not in page.text, (path, worker.email)
    assert "Fältgruppen Demo" not in page.text


SAMPLES: dict[str, Callable[[], object]] = {
    "last_seq": lambda: 0,
    "seq": lambda: 1,  # the young person's message below: a ``redact`` must not reach it
    "active": lambda: True,
    "flagged": lambda: True,
    "client_id": lambda: uuid.uuid4().hex,
    "body": lambda: "intrång",
}
"""Values for the required fields of staff frames that name a conversation."""


def frames_with_conversation_ids() -> list[type[protocol.Frame]]:
    union = typing.get_args(typing.get_args(protocol.StaffInbound)[0])
    return [model for model in union if "conversation_id" in model.model_fields]


@pytest.mark.parametrize("model", frames_with_conversation_ids(), ids=lambda m: m.__name__)
async def test_staff_socket_frames_never_reach_another_team(
    server: ServerThread, settings: Settings, seeded: Seed, model: type[protocol.Frame]
) -> None:
    youth = Peer(server.ws)
    await youth.connect()
    await youth.start("demo")
    await youth.send("bara för demo")
    await youth.wait_for(lambda f: f["type"] == "ack")
    outsider = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers["Dag"]))
    await outsider.connect()
    await outsider.hello()
    kind = typing.get_args(model.model_fields["type"].annotation)[0]
    answers = []
    for conversation_id in (youth.conversation_id, uuid.uuid4().hex):
        frame: dict[str, object] = {"type": kind, "conversation_id": conversation_id}
        for name, info in model.model_fields.items():
            if name not in frame and info.is_required():
                assert name in SAMPLES, f"{model.__name__}.{name}: add a sample value"
                frame[name] = SAMPLES[name]()
        await outsider.send_frame(frame)
        error = await outsider.wait_for(lambda f: f["type"] == "error")
        answers.append((error["code"], error["message"]))
    assert answers[0] == answers[1] == (answers[0][0], answers[0][1])
    assert answers[0][0] == "not_found"
    assert not any(f["type"] in ("message", "conversation") for f in outsider.frames)
    await youth.send("fortfarande orört")
    await youth.wait_for(lambda f: f["type"] == "ack" and f["seq"] == 2)
    assert youth.bodies() == ["bara för demo", "fortfarande orört"]
    await youth.close()
    await outsider.close()
