"""Encryption at rest and retention through the real app: what a young person writes is
never on disk in plaintext; the admin sets the periods; `lykta purge` and the server's own
job delete for good; counts survive."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from lykta.config import Settings
from lykta.teams.models import Team
from tests.integration.staff_helpers import db_query, db_update
from tests.integration.test_team_admin import logged_in, post, refused, saved, settings_log
from tests.integration.test_workday import worker, youth
from tests.support.client import Peer
from tests.support.server import Seed, ServerThread, env_for, seed, settings_for
from tests.support.services import redis_url

PAGE = "/app/admin/retention"
SECRET = "mitt hemliga 5581 namn"


async def closed_chat(server: ServerThread, settings: Settings, seeded: Seed) -> tuple[str, str]:
    """A chat with SECRET in it, answered and closed; returns (conversation id, code)."""
    young = await youth(server, SECRET)
    anna = await worker(server, settings, seeded, "Anna")
    assert young.conversation_id is not None
    await anna.open_conversation(young.conversation_id)
    await anna.send(f"svar till {SECRET}", young.conversation_id)
    await young.wait_for(lambda f: f.get("body") == f"svar till {SECRET}")
    await anna.send_frame(
        {"type": "close", "conversation_id": young.conversation_id, "topics": [], "outcome": None}
    )
    await young.wait_for(lambda f: f.get("event") == "closed")
    await young.close()
    await anna.close()
    assert young.code is not None
    return young.conversation_id, young.code


async def lykta_purge(settings: Settings) -> str:
    """What ``lykta purge``, run as the operator would (a process of its own), printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lykta",
        "purge",
        env=env_for(settings.data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


def files_of(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file()]


async def test_no_plaintext_on_disk_and_lykta_purge_deletes_for_good(
    server: ServerThread, seeded: Seed
) -> None:
    settings = server.settings
    conversation_id, code = await closed_chat(server, settings, seeded)
    for path in files_of(settings.data_dir):
        assert SECRET.encode() not in path.read_bytes(), path.name
    # The admin keeps closed conversations 0 days; the operator runs the purge now.
    with logged_in(server, seeded) as admin:
        saved(post(admin, PAGE, PAGE, retention_days="0", question_wait_days="14"), PAGE)
    assert "purged 1 conversations" in await lykta_purge(settings)
    assert db_query(settings, "SELECT id FROM conversations WHERE id = :i", i=conversation_id) == []
    assert db_query(settings, "SELECT 1 FROM messages") == []
    # Coming back with the code finds nothing: the conversation is gone.
    young = await youth_resume(server, code)
    assert young["type"] == "error"
    with logged_in(server, seeded) as admin:
        page = admin.get(PAGE).text
        assert 'data-testid="retention-stats"' in page
        assert "retention.purged" in admin.get("/app/admin/audit").text


@pytest.mark.services
async def test_lykta_purge_on_the_command_line_updates_open_apps_through_redis(
    server: ServerThread, seeded: Seed
) -> None:
    """With several nodes, an operator's ``lykta purge`` (a process of its own) tells the
    workers' open apps what it deleted, through Redis (it told nobody)."""
    redis_url()  # the PostgreSQL and Redis run
    settings = server.settings
    conversation_id, _code = await closed_chat(server, settings, seeded)
    bo = await worker(server, settings, seeded, "Bo")
    [listed] = [f for f in bo.frames if f["type"] == "conversations"]
    assert conversation_id in {c["id"] for c in listed["items"]}
    db_update(settings, Team, Team.slug == "demo", retention_days=0)
    assert "purged 1 conversations" in await lykta_purge(settings)
    await bo.wait_for(
        lambda f: (
            f["type"] == "conversations" and conversation_id not in {c["id"] for c in f["items"]}
        )
    )
    await bo.close()


async def youth_resume(server: ServerThread, code: str) -> dict[str, object]:
    peer = Peer(server.ws)
    await peer.connect()
    await peer.send_frame({"type": "resume", "code": code, "last_seq": 0})
    frame = await peer.wait_for(lambda f: f["type"] in ("ready", "error"))
    await peer.close()
    return frame


async def test_the_servers_own_job_purges(tmp_path: Path, seeded_elsewhere: Seed) -> None:
    settings = settings_for(tmp_path / "data").model_copy(update={"purge_interval_seconds": 1.0})
    node = ServerThread(settings)
    node.start()
    try:
        db_update(settings, Team, Team.slug == "demo", retention_days=0)
        conversation_id, _code = await closed_chat(node, settings, seeded_elsewhere)
        for _ in range(100):
            if not db_query(
                settings, "SELECT 1 FROM conversations WHERE id = :i", i=conversation_id
            ):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the server's purge job did not delete the closed conversation")
    finally:
        node.stop()


async def test_workers_lists_lose_what_the_purge_deleted(
    tmp_path: Path, seeded_elsewhere: Seed
) -> None:
    """A worker whose app is open when the purge runs sees the deleted conversation leave
    the list at once, not only after reconnecting (and clicking on it, to find nothing)."""
    settings = settings_for(tmp_path / "data").model_copy(update={"purge_interval_seconds": 1.0})
    node = ServerThread(settings)
    node.start()
    try:
        conversation_id, _code = await closed_chat(node, settings, seeded_elsewhere)
        other = await youth(node, "hej")  # still open: stays
        bo = await worker(node, settings, seeded_elsewhere, "Bo")
        [listed] = [f for f in bo.frames if f["type"] == "conversations"]
        assert {conversation_id, other.conversation_id} <= {c["id"] for c in listed["items"]}
        db_update(settings, Team, Team.slug == "demo", retention_days=0)
        later = await bo.wait_for(
            lambda f: (
                f["type"] == "conversations"
                and conversation_id not in {c["id"] for c in f["items"]}
            )
        )
        assert other.conversation_id in {c["id"] for c in later["items"]}
        assert not db_query(
            settings, "SELECT 1 FROM conversations WHERE id = :i", i=conversation_id
        )
        for peer in (bo, other):
            await peer.close()
    finally:
        node.stop()


@pytest.fixture
def seeded_elsewhere(tmp_path: Path) -> Seed:
    return asyncio.run(seed(settings_for(tmp_path / "data")))


@pytest.mark.parametrize(
    ("days", "wait", "message"),
    [
        ("366", "14", "from 0 to 365"),
        ("-1", "14", "from 0 to 365"),
        ("trettio", "14", "from 0 to 365"),
        ("30", "0", "from 1 to 90"),
        ("30", "91", "from 1 to 90"),
    ],
)
def test_bad_periods_are_refused_with_the_reason(
    server: ServerThread, seeded: Seed, days: str, wait: str, message: str
) -> None:
    with logged_in(server, seeded) as admin:
        response = post(admin, PAGE, PAGE, retention_days=days, question_wait_days=wait)
        refused(response, "retention-error", message)
        assert 'value="30"' in admin.get(PAGE).text  # nothing changed


def test_only_the_teams_admin_changes_its_own_periods(server: ServerThread, seeded: Seed) -> None:
    with logged_in(server, seeded, "Bo") as worker_client:
        assert worker_client.get(PAGE).status_code == 403
    with logged_in(server, seeded) as admin:
        saved(post(admin, PAGE, PAGE, retention_days="7", question_wait_days="3"), PAGE)
        assert "retention" in settings_log(admin)
        page = admin.get(PAGE).text
        assert 'value="7"' in page
        assert 'value="3"' in page
    with logged_in(server, seeded, "Cecilia") as other_admin:
        assert 'value="30"' in other_admin.get(PAGE).text
    rows = db_query(
        server.settings, "SELECT slug, retention_days, question_wait_days FROM teams ORDER BY slug"
    )
    assert rows == [("demo", 7, 3), ("other", 30, 14)]
