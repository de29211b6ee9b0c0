"""Logging in with a password and a second factor, over HTTP through the real app."""

from __future__ import annotations

import datetime as dt
import re

import pyotp

from lykta.config import Settings
from lykta.staff.models import StaffUser
from tests.integration.staff_helpers import browser, db_update
from tests.support.server import PASSWORD, Seed, ServerThread, csrf_of, http_login


def test_password_then_code_gives_a_strict_httponly_session(
    server: ServerThread, seeded: Seed
) -> None:
    anna = seeded.workers["Anna"]
    with browser(server) as client:
        form = client.get("/app/login")
        response = client.post(
            "/app/login",
            data={"email": "Anna@Demo.example ", "password": PASSWORD, "csrf": csrf_of(form.text)},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/app/login/code"
        # Between the steps the session opens nothing else.
        assert client.get("/app").status_code == 303
        page = client.get("/app/login/code")
        response = client.post(
            "/app/login/code", data={"code": anna.code(), "csrf": csrf_of(page.text)}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/app"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("lykta_staff=")
        assert "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        assert "max-age" not in cookie.lower()
        assert "Anna" in client.get("/app").text


def test_wrong_password_and_unknown_account_look_the_same(
    server: ServerThread, seeded: Seed
) -> None:
    with browser(server) as client:
        csrf = csrf_of(client.get("/app/login").text)
        wrong = client.post(
            "/app/login", data={"email": "anna@demo.example", "password": "nope" * 4, "csrf": csrf}
        )
        unknown = client.post(
            "/app/login",
            data={"email": "nobody@demo.example", "password": "nope" * 4, "csrf": csrf},
        )
    assert wrong.status_code == unknown.status_code == 401
    assert "lykta_staff" not in wrong.headers.get("set-cookie", "")
    assert wrong.text.replace("anna@demo.example", "X") == unknown.text.replace(
        "nobody@demo.example", "X"
    )


def test_login_without_csrf_token_or_from_another_site_is_refused(
    server: ServerThread, seeded: Seed
) -> None:
    with browser(server) as client:
        csrf = csrf_of(client.get("/app/login").text)
        no_token = client.post(
            "/app/login", data={"email": "anna@demo.example", "password": PASSWORD}
        )
        wrong_token = client.post(
            "/app/login",
            data={"email": "anna@demo.example", "password": PASSWORD, "csrf": "x" * 32},
        )
        cross_site = client.post(
            "/app/login",
            data={"email": "anna@demo.example", "password": PASSWORD, "csrf": csrf},
            headers={"Origin": "https://evil.example"},
        )
    for response in (no_token, wrong_token, cross_site):
        assert response.status_code == 403
        assert "lykta_staff" not in response.headers.get("set-cookie", "")


def test_youth_pages_get_no_csrf_cookie(server: ServerThread) -> None:
    with browser(server) as client:
        assert "set-cookie" not in client.get("/chat/demo").headers
        assert "set-cookie" not in client.get("/").headers


def test_a_totp_code_is_never_accepted_twice(server: ServerThread, seeded: Seed) -> None:
    anna = seeded.workers["Anna"]
    code = pyotp.TOTP(anna.totp_secret).now()
    with browser(server) as first:
        csrf = csrf_of(first.get("/app/login").text)
        first.post("/app/login", data={"email": anna.email, "password": PASSWORD, "csrf": csrf})
        ok = first.post("/app/login/code", data={"code": code, "csrf": csrf})
        assert ok.status_code == 303
    anna.used_steps.add(int(dt.datetime.now(dt.UTC).timestamp() // 30))
    with browser(server) as replay:
        csrf = csrf_of(replay.get("/app/login").text)
        replay.post("/app/login", data={"email": anna.email, "password": PASSWORD, "csrf": csrf})
        refused = replay.post("/app/login/code", data={"code": code, "csrf": csrf})
        assert refused.status_code == 401
        assert replay.get("/app").status_code == 303


def test_recovery_code_works_once(server: ServerThread, seeded: Seed) -> None:
    bo = seeded.workers["Bo"]
    with browser(server) as client:
        assert http_login(client, bo).status_code == 303
        profile = client.get("/app/profile")
        page = client.post("/app/profile/recovery-codes", data={"csrf": csrf_of(profile.text)})
        codes = re.findall(r'<code class="code">([0-9A-Z-]+)</code>', page.text)
        assert len(codes) == 10
    for expected in (303, 401):
        with browser(server) as client:
            csrf = csrf_of(client.get("/app/login").text)
            client.post("/app/login", data={"email": bo.email, "password": PASSWORD, "csrf": csrf})
            response = client.post("/app/login/code", data={"code": codes[0].lower(), "csrf": csrf})
            assert response.status_code == expected


def test_account_locks_after_repeated_failures_and_unlocks_later(
    server: ServerThread, settings: Settings, seeded: Seed
) -> None:
    bo = seeded.workers["Bo"]
    with browser(server, "127.0.0.2") as client:
        csrf = csrf_of(client.get("/app/login").text)
        statuses = [
            client.post(
                "/app/login", data={"email": bo.email, "password": f"wrong-{i:08d}", "csrf": csrf}
            ).status_code
            for i in range(10)
        ]
        assert statuses == [401] * 10
        locked = client.post(
            "/app/login", data={"email": bo.email, "password": PASSWORD, "csrf": csrf}
        )
        assert locked.status_code == 429
        assert "minutes" in locked.text or "minuter" in locked.text
    # The lock is on the account, not the address: another address is refused too.
    with browser(server, "127.0.0.3") as client:
        csrf = csrf_of(client.get("/app/login").text)
        again = client.post(
            "/app/login", data={"email": bo.email, "password": PASSWORD, "csrf": csrf}
        )
        assert again.status_code == 429
    # Fifteen minutes later (the lock moved into the past) the right password works.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_update(settings, StaffUser, StaffUser.id == bo.user_id, locked_until=past)
    with browser(server, "127.0.0.3") as client:
        assert http_login(client, bo).status_code == 303


def test_one_client_guessing_many_accounts_is_locked_out_alone(
    server: ServerThread, seeded: Seed
) -> None:
    with browser(server, "127.0.0.4") as attacker:
        csrf = csrf_of(attacker.get("/app/login").text)
        for i in range(30):
            attacker.post(
                "/app/login",
                data={"email": f"guess{i}@demo.example", "password": "x" * 12, "csrf": csrf},
            )
        blocked = attacker.post(
            "/app/login",
            data={"email": "anna@demo.example", "password": PASSWORD, "csrf": csrf},
        )
        assert blocked.status_code == 429
    # Somebody else, elsewhere, logs in as usual.
    with browser(server, "127.0.0.5") as colleague:
        assert http_login(colleague, seeded.workers["Anna"]).status_code == 303


def test_wrong_codes_count_towards_the_lock(server: ServerThread, seeded: Seed) -> None:
    dag = seeded.workers["Dag"]
    with browser(server, "127.0.0.6") as client:
        csrf = csrf_of(client.get("/app/login").text)
        client.post("/app/login", data={"email": dag.email, "password": PASSWORD, "csrf": csrf})
        statuses = [
            client.post("/app/login/code", data={"code": "000000", "csrf": csrf}).status_code
            for _ in range(11)
        ]
    assert statuses[:9] == [401] * 9
    assert 429 in statuses[9:]


def test_a_nul_character_in_a_form_is_refused_and_changes_nothing(
    server: ServerThread, seeded: Seed
) -> None:
    """No browser sends a NUL, and PostgreSQL cannot store one: it is refused as bad input
    (400, naming the field), never a server error, on the login form and once logged in."""
    with browser(server) as client:
        csrf = csrf_of(client.get("/app/login").text)
        refused = client.post(
            "/app/login", data={"email": "anna@demo.example\0", "password": PASSWORD, "csrf": csrf}
        )
        assert refused.status_code == 400
        assert refused.json() == {"detail": "invalid or missing field(s): email"}
        assert http_login(client, seeded.workers["Anna"]).status_code == 303
        profile = client.get("/app/profile")
        renamed = client.post(
            "/app/profile/name", data={"first_name": "An\0na", "csrf": csrf_of(profile.text)}
        )
        assert renamed.status_code == 400
        assert "first_name" in renamed.json()["detail"]
        assert "Anna" in client.get("/app/profile").text
        assert "An\0na" not in client.get("/app/profile").text
