"""Staff accounts, passwords and sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from lykta.config import Settings
from lykta.db import utcnow
from lykta.runtime import Runtime, make_hasher
from lykta.staff.models import StaffSession, StaffUser
from lykta.staff.service import (
    StaffError,
    authenticate,
    do_create_session,
    do_create_staff,
    do_end_session,
    resolve_session,
)
from lykta.teams.models import Team
from tests.support.server import PASSWORD, Seed

NEW_PASSWORD = "a long enough passphrase"


class CountingHasher(PasswordHasher):
    """Counts how many password hashes are verified (the expensive part of a login)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def counting(rt: Runtime) -> CountingHasher:
    hasher = CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    rt.hasher = hasher
    return hasher


async def user(rt: Runtime, user_id: int) -> StaffUser:
    async with rt.db.read() as session:
        found = await session.get(StaffUser, user_id)
    assert found is not None
    return found


async def sessions(rt: Runtime) -> list[StaffSession]:
    async with rt.db.read() as session:
        return list((await session.execute(select(StaffSession))).scalars())


async def set_session_times(rt: Runtime, token: str, **values: dt.datetime) -> None:
    async with rt.db.write() as session:
        await session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == hashlib.sha256(token.encode()).digest())
            .values(**values)
        )


# ----- creating accounts ---------------------------------------------------------------


async def test_passwords_are_stored_as_argon2id_hashes(
    rt: Runtime, demo: Team, seeded: Seed
) -> None:
    async with rt.db.write() as session:
        created = await do_create_staff(
            session,
            rt.hasher,
            demo,
            email=" Dana@Demo.Example ",
            password=NEW_PASSWORD,
            first_name=" Dana ",
        )
    stored = await user(rt, created.id)
    assert stored.email == "dana@demo.example"
    assert stored.first_name == "Dana"
    assert stored.password_hash.startswith("$argon2id$")
    assert NEW_PASSWORD not in stored.password_hash
    assert rt.hasher.verify(stored.password_hash, NEW_PASSWORD)
    # Two accounts with the same password get different hashes (salted).
    anna = await user(rt, seeded.workers["Anna"].user_id)
    async with rt.db.write() as session:
        twin = await do_create_staff(
            session,
            rt.hasher,
            demo,
            email="twin@demo.example",
            password=PASSWORD,
            first_name="Twin",
        )
    assert (await user(rt, twin.id)).password_hash != anna.password_hash


def test_production_hashing_costs_are_the_defaults() -> None:
    fields = Settings.model_fields
    assert fields["argon2_time_cost"].default >= 3
    assert fields["argon2_memory_cost"].default >= 65536
    settings = Settings(argon2_time_cost=4, argon2_memory_cost=2048)
    hasher = make_hasher(settings)
    assert (hasher.time_cost, hasher.memory_cost) == (4, 2048)
    assert hasher.hash("x" * 12).startswith("$argon2id$v=19$m=2048,t=4,")


@pytest.mark.parametrize(
    ("email", "password", "first_name", "problem"),
    [
        ("not-an-email", NEW_PASSWORD, "Dana", r"(?i)e-mail address"),
        ("dana@localhost", NEW_PASSWORD, "Dana", r"(?i)e-mail address"),
        ("da na@demo.example", NEW_PASSWORD, "Dana", r"(?i)e-mail address"),
        ("dana@@demo.example", NEW_PASSWORD, "Dana", r"(?i)e-mail address"),
        ("", NEW_PASSWORD, "Dana", r"(?i)e-mail address"),
        ("x" * 65 + "@demo.example", NEW_PASSWORD, "Dana", r"(?i)e-mail address"),
        ("dana@demo.example", "short", "Dana", r"(?i)password must be 12 to 1024 characters"),
        ("dana@demo.example", "x" * 11, "Dana", r"(?i)password must be 12 to 1024 characters"),
        ("dana@demo.example", "x" * 1025, "Dana", r"(?i)password must be 12 to 1024 characters"),
        ("dana@demo.example", NEW_PASSWORD, "   ", r"(?i)a first name of 1.{1,4}60 characters"),
        ("dana@demo.example", NEW_PASSWORD, "D" * 61, r"(?i)a first name of 1.{1,4}60 characters"),
        ("anna@demo.example", NEW_PASSWORD, "Anna", r"(?i)already exists"),
        (" ANNA@Demo.Example", NEW_PASSWORD, "Anna", r"(?i)already exists"),
    ],
)
async def test_create_staff_validation(
    rt: Runtime,
    demo: Team,
    seeded: Seed,
    counting: CountingHasher,
    email: str,
    password: str,
    first_name: str,
    problem: str,
) -> None:
    with pytest.raises(StaffError, match=problem):
        async with rt.db.write() as session:
            await do_create_staff(
                session, rt.hasher, demo, email=email, password=password, first_name=first_name
            )
    async with rt.db.read() as session:
        count = (await session.execute(select(func.count()).select_from(StaffUser))).scalar_one()
    assert count == len(seeded.workers)  # nothing was added


async def test_boundary_lengths_are_accepted(rt: Runtime, demo: Team) -> None:
    for n, (password, first_name) in enumerate([("x" * 12, "D"), ("x" * 1024, "D" * 60)]):
        async with rt.db.write() as session:
            await do_create_staff(
                session,
                rt.hasher,
                demo,
                email=f"edge{n}@demo.example",
                password=password,
                first_name=first_name,
            )
        assert await authenticate(rt, f"edge{n}@demo.example", password) is not None


# ----- authenticate --------------------------------------------------------------------


async def test_authenticate(rt: Runtime, seeded: Seed) -> None:
    anna = seeded.workers["Anna"]
    found = await authenticate(rt, "anna@demo.example", PASSWORD)
    assert found is not None
    assert found.id == anna.user_id
    again = await authenticate(rt, "  ANNA@demo.EXAMPLE ", PASSWORD)
    assert again is not None
    assert again.id == anna.user_id
    assert await authenticate(rt, "anna@demo.example", PASSWORD + "x") is None
    assert await authenticate(rt, "anna@demo.example", PASSWORD.upper()) is None
    assert await authenticate(rt, "anna@demo.example", "") is None
    assert await authenticate(rt, "nobody@demo.example", PASSWORD) is None
    assert await authenticate(rt, "", PASSWORD) is None


async def test_inactive_accounts_cannot_log_in(rt: Runtime, seeded: Seed) -> None:
    async with rt.db.write() as session:
        await session.execute(
            update(StaffUser).where(StaffUser.email == "bo@demo.example").values(active=False)
        )
    assert await authenticate(rt, "bo@demo.example", PASSWORD) is None
    assert await authenticate(rt, "anna@demo.example", PASSWORD) is not None


async def test_an_unknown_email_costs_the_same_hash_verification(
    rt: Runtime, counting: CountingHasher
) -> None:
    assert await authenticate(rt, "anna@demo.example", "wrong password!") is None
    assert counting.verified == 1
    assert await authenticate(rt, "nobody@demo.example", "wrong password!") is None
    assert counting.verified == 2


async def test_over_long_passwords_are_refused_before_hashing(
    rt: Runtime, counting: CountingHasher
) -> None:
    assert await authenticate(rt, "anna@demo.example", PASSWORD + "x" * 1024) is None
    assert await authenticate(rt, "anna@demo.example", "x" * 1_000_000) is None
    assert await authenticate(rt, "a" * 300 + "@demo.example", PASSWORD) is None
    assert counting.verified == 0


# ----- sessions ------------------------------------------------------------------------


async def test_a_session_resolves_to_its_identity(rt: Runtime, seeded: Seed) -> None:
    anna = seeded.workers["Anna"]
    token = await do_create_session(rt, await user(rt, anna.user_id))
    identity = await resolve_session(rt, token)
    assert identity is not None
    assert (identity.user_id, identity.team_id, identity.first_name) == (
        anna.user_id,
        anna.team_id,
        "Anna",
    )
    assert (identity.team_slug, identity.team_name) == ("demo", "Fältgruppen Demo")


async def test_tokens_are_random_and_only_their_sha256_is_stored(rt: Runtime, seeded: Seed) -> None:
    anna = await user(rt, seeded.workers["Anna"].user_id)
    tokens = [await do_create_session(rt, anna) for _ in range(3)]
    assert len(set(tokens)) == 3
    assert all(len(t) >= 43 for t in tokens)  # 32 random bytes, base64url
    stored = await sessions(rt)
    assert {s.token_hash for s in stored} == {hashlib.sha256(t.encode()).digest() for t in tokens}
    for row in stored:
        values = [getattr(row, c.key) for c in StaffSession.__table__.columns]
        for token in tokens:
            assert all(token not in str(v) and token.encode() != v for v in values)


@pytest.mark.parametrize(
    "token",
    [None, "", "x", "a" * 43, "not-a-real-session", "åäö", "\x00", "a" * 129, "a" * 100_000],
)
async def test_unknown_or_garbage_tokens_resolve_to_nobody(
    rt: Runtime, seeded: Seed, token: str | None
) -> None:
    await do_create_session(rt, await user(rt, seeded.workers["Anna"].user_id))
    assert await resolve_session(rt, token) is None


async def test_over_long_tokens_are_refused_even_if_stored(rt: Runtime, seeded: Seed) -> None:
    anna = seeded.workers["Anna"]
    long_token = "a" * 129
    async with rt.db.write() as session:
        session.add(
            StaffSession(
                token_hash=hashlib.sha256(long_token.encode()).digest(),
                team_id=anna.team_id,
                user_id=anna.user_id,
            )
        )
    assert await resolve_session(rt, long_token) is None


async def test_idle_sessions_expire_after_30_minutes(rt: Runtime, seeded: Seed) -> None:
    anna = await user(rt, seeded.workers["Anna"].user_id)
    token = await do_create_session(rt, anna)
    await set_session_times(rt, token, last_seen_at=utcnow() - dt.timedelta(minutes=31))
    assert await resolve_session(rt, token) is None
    assert await sessions(rt) == []  # and the expired session is gone
    # Even if the clock later looked fine, it does not come back.
    assert await resolve_session(rt, token) is None


async def test_use_keeps_a_session_alive(rt: Runtime, seeded: Seed) -> None:
    anna = await user(rt, seeded.workers["Anna"].user_id)
    token = await do_create_session(rt, anna)
    await set_session_times(rt, token, last_seen_at=utcnow() - dt.timedelta(minutes=29))
    assert await resolve_session(rt, token) is not None
    (stored,) = await sessions(rt)
    assert utcnow() - stored.last_seen_at < dt.timedelta(minutes=1)


async def test_sessions_expire_12_hours_after_login_however_busy(rt: Runtime, seeded: Seed) -> None:
    anna = await user(rt, seeded.workers["Anna"].user_id)
    token = await do_create_session(rt, anna)
    now = utcnow()
    await set_session_times(
        rt, token, created_at=now - dt.timedelta(hours=11, minutes=58), last_seen_at=now
    )
    assert await resolve_session(rt, token) is not None
    await set_session_times(
        rt, token, created_at=now - dt.timedelta(hours=12, minutes=1), last_seen_at=now
    )
    assert await resolve_session(rt, token) is None
    assert await sessions(rt) == []


async def test_deactivating_or_moving_a_worker_ends_their_sessions(
    rt: Runtime, seeded: Seed
) -> None:
    bo = seeded.workers["Bo"]
    anna = seeded.workers["Anna"]
    bo_token = await do_create_session(rt, await user(rt, bo.user_id))
    anna_token = await do_create_session(rt, await user(rt, anna.user_id))
    async with rt.db.write() as session:
        await session.execute(
            update(StaffUser).where(StaffUser.id == bo.user_id).values(active=False)
        )
        await session.execute(
            update(StaffUser)
            .where(StaffUser.id == anna.user_id)
            .values(team_id=seeded.team_ids["other"])
        )
    assert await resolve_session(rt, bo_token) is None
    assert await resolve_session(rt, anna_token) is None


async def test_logout_ends_only_that_session(rt: Runtime, seeded: Seed) -> None:
    anna = await user(rt, seeded.workers["Anna"].user_id)
    phone = await do_create_session(rt, anna)
    laptop = await do_create_session(rt, anna)
    await do_end_session(rt, phone)
    assert await resolve_session(rt, phone) is None
    assert await resolve_session(rt, laptop) is not None
    await do_end_session(rt, "never-existed")  # harmless
