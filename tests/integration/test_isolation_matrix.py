"""Team isolation, generated from the app's own route table and protocol.

Every HTTP route and every staff socket frame is visited. A route that is not on the
public list must refuse anonymous callers, and a route or frame that takes an id must
answer another team's id exactly as it answers an id that does not exist. A new endpoint
is covered automatically; one whose id parameter the matrix does not know fails here until
it is added to ``ID_PARAMS`` (and so, is thought about).
"""

from __future__ import annotations

import re
import typing
import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi.routing import APIRoute

from lykta.app import ROUTERS, create_app
from lykta.config import Settings
from lykta.realtime import protocol
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
    "/openapi.json",
    "/photos/{token}.jpg",
    "/ws/chat",
}
"""Routes anyone may reach: the youth side, and the steps of logging in."""

ID_PARAMS = {"member_id"}
"""Path parameters naming a team-owned object (filled with team ``demo``'s object)."""


def http_routes() -> list[tuple[str, str]]:
    found = []
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute), f"unclassified route {route!r}"
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    found.append((route.path, method))
    # Nothing served outside the routers above (the OpenAPI spec lists every route).
    spec = create_app().openapi()["paths"]
    assert set(spec) - {path for path, _ in found} <= {"/openapi.json"}
    return found


ROUTES = http_routes()
PRIVATE = [(path, method) for path, method in ROUTES if path not in PUBLIC]
WITH_IDS = [(path, method) for path, method in PRIVATE if "{" in path]


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def test_matrix_covers_the_app() -> None:
    assert ("/app/admin/members/{member_id}/deactivate", "POST") in WITH_IDS
    assert ("/app", "GET") in PRIVATE
    for path, _method in WITH_IDS:
        params = set(re.findall(r"\{([^}]+)\}", path))
        assert params <= ID_PARAMS, f"{path}: teach the isolation matrix about {params}"


@pytest.mark.parametrize(("path", "method"), PRIVATE)
def test_anonymous_callers_are_sent_to_login(
    server: ServerThread, seeded: Seed, path: str, method: str
) -> None:
    target = fill(path, str(seeded.workers["Anna"].user_id))
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
        data = {"csrf": csrf_of(client.get("/app/profile").text), "role": "worker"}
    return client.request(method, path, data=data)


@pytest.mark.parametrize("who", ["Cecilia", "Dag"])
@pytest.mark.parametrize(("path", "method"), WITH_IDS)
def test_other_teams_ids_are_indistinguishable_from_missing_ones(
    server: ServerThread, seeded: Seed, path: str, method: str, who: str
) -> None:
    victim = seeded.workers["Bo"]  # a member of team demo
    missing = "987654"
    with browser(server) as outsider:
        assert http_login(outsider, seeded.workers[who]).status_code == 303
        theirs = _ask(outsider, method, fill(path, str(victim.user_id)))
        nothing = _ask(outsider, method, fill(path, missing))
    assert theirs.status_code == nothing.status_code
    assert theirs.status_code in (403, 404)

    # Pages echo their own path (language links); apart from that, not one byte differs.
    def same(text: str) -> str:
        return re.sub(r"/members/\d+/", "/members/ID/", text)

    assert same(theirs.text) == same(nothing.text)
    # And nothing happened to the member of the other team.
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
    "seq": lambda: 1,
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
