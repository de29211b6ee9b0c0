"""Invitations, roles, team settings and the audit log, through the real app."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx
import pyotp
import pytest

from lykta import cli
from lykta.config import Settings
from lykta.staff.models import Invitation
from tests.integration.staff_helpers import browser, db_query, db_update
from tests.support.client import Peer
from tests.support.server import PASSWORD, Seed, ServerThread, csrf_of, http_login, login_token


def invite(client: httpx.Client, email: str, role: str = "worker") -> str:
    page = client.get("/app/admin/members")
    response = client.post(
        "/app/admin/members/invite",
        data={"email": email, "role": role, "csrf": csrf_of(page.text)},
    )
    assert response.status_code == 200, response.text
    found = re.search(r'value="(http[^"]+/app/invite/[^"]+)"', response.text)
    assert found, "the invitation link is shown to the admin"
    return found.group(1)


def test_invitation_sets_password_enrols_totp_and_logs_in(
    server: ServerThread, seeded: Seed
) -> None:
    with browser(server) as admin:
        assert http_login(admin, seeded.workers["Anna"]).status_code == 303
        link = invite(admin, "eva@demo.example")
    path = link.split(str(server.port), 1)[1]
    with browser(server) as newcomer:
        form = newcomer.get(path)
        assert form.status_code == 200
        assert "eva@demo.example" in form.text
        mismatch = newcomer.post(
            path,
            data={
                "first_name": "Eva",
                "password": "a long password!",
                "password_again": "another one!!",
                "csrf": csrf_of(form.text),
            },
        )
        assert mismatch.status_code == 400
        accepted = newcomer.post(
            path,
            data={
                "first_name": "Eva",
                "password": "a long password!",
                "password_again": "a long password!",
                "csrf": csrf_of(form.text),
            },
        )
        assert accepted.status_code == 303
        assert accepted.headers["location"] == "/app/enrol"
        assert newcomer.get("/app").status_code == 303  # not logged in before enrolling
        enrol = newcomer.get("/app/enrol")
        assert "<svg" in enrol.text  # the QR code, drawn by us
        secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', enrol.text)
        assert secret
        totp = pyotp.TOTP(secret.group(1).replace(" ", ""))
        wrong = newcomer.post("/app/enrol", data={"code": "123456", "csrf": csrf_of(enrol.text)})
        assert wrong.status_code == 401
        done = newcomer.post("/app/enrol", data={"code": totp.now(), "csrf": csrf_of(enrol.text)})
        assert done.status_code == 200
        assert len(re.findall(r'<code class="code">', done.text)) == 10
        app = newcomer.get("/app")
        assert app.status_code == 200
        assert "Eva" in app.text
    with browser(server) as again:
        assert again.get(path).status_code == 404  # single use


def test_expired_invitation_does_not_open(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    with browser(server) as admin:
        http_login(admin, seeded.workers["Anna"])
        link = invite(admin, "late@demo.example")
    db_update(
        settings,
        Invitation,
        Invitation.email == "late@demo.example",
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
    )
    path = link.split(str(server.port), 1)[1]
    with browser(server) as newcomer:
        response = newcomer.get(path)
        assert response.status_code == 404
        assert 'data-testid="invite-invalid"' in response.text
        assert newcomer.get("/app/invite/not-a-real-token").status_code == 404


def test_workers_cannot_open_admin_pages(server: ServerThread, seeded: Seed) -> None:
    with browser(server) as worker:
        http_login(worker, seeded.workers["Bo"])
        for path in ("/app/admin/members", "/app/admin/settings", "/app/admin/audit"):
            assert worker.get(path).status_code == 403, path
        csrf = csrf_of(worker.get("/app/profile").text)
        anna = seeded.workers["Anna"].user_id
        response = worker.post(f"/app/admin/members/{anna}/deactivate", data={"csrf": csrf})
        assert response.status_code == 403
        assert 'href="/app/admin/members"' not in worker.get("/app/profile").text


def test_admin_changes_roles_but_never_removes_the_last_admin(
    server: ServerThread, seeded: Seed
) -> None:
    anna, bo = seeded.workers["Anna"], seeded.workers["Bo"]
    with browser(server) as admin:
        http_login(admin, anna)
        page = admin.get("/app/admin/members")
        own = admin.post(
            f"/app/admin/members/{anna.user_id}/deactivate", data={"csrf": csrf_of(page.text)}
        )
        assert own.status_code == 400
        demote = admin.post(
            f"/app/admin/members/{anna.user_id}/role",
            data={"role": "worker", "csrf": csrf_of(page.text)},
        )
        assert demote.status_code == 400
        promote = admin.post(
            f"/app/admin/members/{bo.user_id}/role",
            data={"role": "admin", "csrf": csrf_of(page.text)},
        )
        assert promote.status_code == 303
        bad = admin.post(
            f"/app/admin/members/{bo.user_id}/role",
            data={"role": "emperor", "csrf": csrf_of(page.text)},
        )
        assert bad.status_code == 400
    with browser(server) as promoted:
        http_login(promoted, bo)
        assert promoted.get("/app/admin/members").status_code == 200


def test_team_settings_are_validated_and_saved(server: ServerThread, seeded: Seed) -> None:
    with browser(server) as admin:
        http_login(admin, seeded.workers["Anna"])
        page = admin.get("/app/admin/settings")
        form = {
            "name": "Fältgruppen Mölndal",
            "timezone": "Europe/Stockholm",
            "default_locale": "sv",
            "session_idle_minutes": "20",
            "session_absolute_hours": "8",
            "csrf": csrf_of(page.text),
        }
        assert admin.post("/app/admin/settings", data=form).status_code == 200
        assert "Fältgruppen Mölndal" in admin.get("/app/admin/settings").text
        bad = admin.post("/app/admin/settings", data={**form, "timezone": "Mars/Olympus"})
        assert bad.status_code == 400
        assert "Mars/Olympus" in bad.text
        too_long = admin.post("/app/admin/settings", data={**form, "session_idle_minutes": "999"})
        assert too_long.status_code == 400


async def test_audit_records_each_action_without_content_and_verify_detects_tampering(
    server: ServerThread,
    settings: Settings,
    seeded: Seed,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret_text = "min pappa slår mig, unik-text-4711"
    youth = Peer(server.ws)
    await youth.connect()
    await youth.start("demo")
    await youth.send(secret_text)
    await youth.wait_for(lambda f: f["type"] == "ack")
    worker = Peer(server.ws, staff_cookie=await login_token(settings, seeded.workers["Bo"]))
    await worker.connect()
    await worker.hello()
    assert youth.conversation_id is not None
    await worker.open_conversation(youth.conversation_id)
    await worker.pump_until(lambda: worker.last_seq(youth.conversation_id) == 1)
    await worker.close()
    await youth.close()
    with browser(server) as admin:
        http_login(admin, seeded.workers["Anna"])
        invite(admin, "audited@demo.example")
        page = admin.get("/app/admin/members")
        admin.post(
            f"/app/admin/members/{seeded.workers['Bo'].user_id}/deactivate",
            data={"csrf": csrf_of(page.text)},
        )
        log = admin.get("/app/admin/audit").text
        for action in (
            "login",
            "conversation.opened",
            "member.invited",
            "member.deactivated",
            "team.created",
        ):
            assert f"<code>{action}</code>" in log, action
        assert "bo@demo.example" in log
        assert secret_text not in log
        filtered = admin.get("/app/admin/audit", params={"action": "member."}).text
        assert "<code>login</code>" not in filtered
        assert "<code>member.invited</code>" in filtered
    rows = db_query(settings, "SELECT action, details, actor, target_id FROM audit_log")
    assert all(secret_text not in repr(row) for row in rows)
    monkeypatch.setenv("LYKTA_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("LYKTA_DATABASE_URL", settings.database_url)
    assert await asyncio.to_thread(cli.main, ["audit", "verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
    db_query(settings, "UPDATE audit_log SET actor = 'someone else' WHERE action = 'login'")
    assert await asyncio.to_thread(cli.main, ["audit", "verify", "--team", "demo"]) == 1
    assert "CHAIN BROKEN" in capsys.readouterr().out


def test_every_audited_action_leaves_an_entry(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    anna, bo = seeded.workers["Anna"], seeded.workers["Bo"]
    with browser(server) as client:  # a failed password, then a failed code
        csrf = csrf_of(client.get("/app/login").text)
        client.post("/app/login", data={"email": bo.email, "password": "x" * 12, "csrf": csrf})
        client.post("/app/login", data={"email": bo.email, "password": PASSWORD, "csrf": csrf})
        client.post("/app/login/code", data={"code": "000000", "csrf": csrf})
    with browser(server) as admin:
        http_login(admin, anna)
        link = invite(admin, "ny@demo.example")
        csrf = csrf_of(admin.get("/app/admin/members").text)
        admin.post(f"/app/admin/members/{bo.user_id}/role", data={"role": "admin", "csrf": csrf})
        admin.post(f"/app/admin/members/{bo.user_id}/deactivate", data={"csrf": csrf})
        admin.post(f"/app/admin/members/{bo.user_id}/reactivate", data={"csrf": csrf})
        settings_page = admin.get("/app/admin/settings")
        admin.post(
            "/app/admin/settings",
            data={
                "name": "Fältgruppen Ny",
                "timezone": "Europe/Oslo",
                "default_locale": "sv",
                "session_idle_minutes": "30",
                "session_absolute_hours": "12",
                "csrf": csrf_of(settings_page.text),
            },
        )
        csrf = csrf_of(admin.get("/app/profile").text)
        admin.post("/app/profile/name", data={"first_name": "Annika", "csrf": csrf})
        admin.post(
            "/app/profile/password",
            data={"current": PASSWORD, "new": "another long passphrase", "csrf": csrf},
        )
        admin.post("/app/logout", data={"csrf": csrf})
    path = link.split(str(server.port), 1)[1]
    with browser(server) as newcomer:
        form = newcomer.get(path)
        newcomer.post(
            path,
            data={
                "first_name": "Ny",
                "password": "a long password!",
                "password_again": "a long password!",
                "csrf": csrf_of(form.text),
            },
        )
        enrol = newcomer.get("/app/enrol")
        secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', enrol.text)
        assert secret
        newcomer.post(
            "/app/enrol",
            data={
                "code": pyotp.TOTP(secret.group(1).replace(" ", "")).now(),
                "csrf": csrf_of(enrol.text),
            },
        )
        newcomer.post(
            "/app/logout-everywhere", data={"csrf": csrf_of(newcomer.get("/app/profile").text)}
        )
    actions = {
        row[0]
        for row in db_query(
            settings, "SELECT action FROM audit_log WHERE team_id = :team", team=anna.team_id
        )
    }
    expected = {
        "team.created",
        "login",
        "login.failed",
        "login.second_factor_failed",
        "member.invited",
        "member.invitation_accepted",
        "totp.enrolled",
        "member.role_changed",
        "member.deactivated",
        "member.reactivated",
        "settings.changed",
        "profile.changed",
        "password.changed",
        "logout",
        "logout.everywhere",
    }
    assert expected <= actions, expected - actions
