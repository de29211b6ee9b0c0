"""The operator's commands: teams, accounts, the audit chain. Called by ``lykta.cli``.

Each returns what to print; expected problems raise ``CliError`` (exit status 2).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import select

from lykta.audit import service as audit
from lykta.config import Settings
from lykta.crypto.keyring import KeyConfigError
from lykta.crypto.keystore import KeyStore
from lykta.db import Database
from lykta.runtime import make_hasher
from lykta.staff import second_factor
from lykta.staff.models import Role, StaffUser
from lykta.staff.service import StaffError, check_email, do_create_staff
from lykta.teams.models import Team
from lykta.teams.service import TeamError, do_create_team, get_team_by_slug


class CliError(Exception):
    """Shown to the operator as ``lykta: error: <message>``; exit status 2."""


@dataclass(frozen=True)
class NewAccount:
    email: str
    password: str
    totp_uri: str
    totp_secret: str

    def as_json(self) -> str:
        return orjson.dumps(
            {"email": self.email, "password": self.password, "totp_uri": self.totp_uri}
        ).decode()


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


def first_name_from(email: str) -> str:
    local = email.split("@", 1)[0]
    word = local.replace("_", ".").replace("-", ".").split(".")[0]
    return (word[:1].upper() + word[1:])[:60] or "Worker"


async def create_team(settings: Settings, slug: str, name: str, timezone: str, locale: str) -> Team:
    db = Database(settings)
    try:
        async with db.write() as session:
            return await do_create_team(
                session, slug, name, timezone=timezone, default_locale=locale
            )
    except TeamError as exc:
        raise CliError(str(exc)) from None
    finally:
        await db.dispose()


async def create_user(
    settings: Settings,
    team_slug: str,
    email: str,
    role: str,
    first_name: str | None,
    password: str | None = None,
    totp_secret: str | None = None,
) -> NewAccount:
    """An account with a generated password and an enrolled TOTP secret."""
    from lykta.audit.service import OPERATOR, Action

    password = password or generate_password()
    secret = totp_secret or second_factor.new_secret()
    db = Database(settings)
    try:
        async with db.write() as session:
            team = await get_team_by_slug(session, team_slug)
            if team is None:
                raise CliError(f"no team with slug {team_slug!r}")
            try:
                email = check_email(email)
                user = await do_create_staff(
                    session,
                    make_hasher(settings),
                    team,
                    email=email,
                    password=password,
                    first_name=first_name or first_name_from(email),
                    role=role,
                    totp_secret=secret,
                )
            except StaffError as exc:
                raise CliError(str(exc)) from None
            await audit.record(
                session,
                team.id,
                Action.MEMBER_CREATED,
                OPERATOR,
                target_type="staff",
                target_id=user.id,
                details={"email": email, "role": role},
            )
            uri = second_factor.provisioning_uri(secret, email, team.name)
    finally:
        await db.dispose()
    return NewAccount(email=email, password=password, totp_uri=uri, totp_secret=secret)


async def verify_audit(settings: Settings, team_slug: str | None) -> tuple[bool, list[str]]:
    db = Database(settings)
    try:
        async with db.read() as session:
            teams = {t.id: t.slug for t in (await session.execute(select(Team))).scalars()}
            ids: list[int] | None = None
            if team_slug is not None:
                ids = [i for i, slug in teams.items() if slug == team_slug]
                if not ids:
                    raise CliError(f"no team with slug {team_slug!r}")
            reports = await audit.verify(session, ids)
    finally:
        await db.dispose()
    lines, intact = [], True
    for report in reports:
        slug = teams.get(report.team_id, str(report.team_id))
        if report.broken_at is None:
            lines.append(
                f"team {slug}: {report.entries} entries, chain intact, head {report.head.hex()}"
            )
        else:
            intact = False
            lines.append(
                f"team {slug}: CHAIN BROKEN at entry {report.broken_at} "
                f"(altered, inserted or removed)"
            )
    return intact, lines


DEMO_TEAM = "demo"
DEMO_TEAM_NAME = "Fältgruppen Demo"
DEMO_EMAIL = "worker@demo.example"
DEMO_FIRST_NAME = "Anna"
DEMO_LOGIN_FILE = "demo-login.txt"


def write_private(path: Path, text: str) -> None:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def read_demo_login(data_dir: Path) -> dict[str, str]:
    values = {}
    try:
        for line in (data_dir / DEMO_LOGIN_FILE).read_text().splitlines():
            key, sep, value = line.partition(": ")
            if sep:
                values[key.strip()] = value.strip()
    except OSError:
        pass
    return values


async def ensure_demo(settings: Settings, password: str | None) -> dict[str, str]:
    """Create the demo team and its admin worker (with TOTP) if missing; return the login
    (kept in a 0600 file in the data directory so that a second run can show it)."""
    login_file = settings.data_dir / DEMO_LOGIN_FILE
    db = Database(settings)
    try:
        async with db.write() as session:
            if await get_team_by_slug(session, DEMO_TEAM) is None:
                await do_create_team(session, DEMO_TEAM, DEMO_TEAM_NAME)
            exists = (
                await session.execute(select(StaffUser.id).where(StaffUser.email == DEMO_EMAIL))
            ).first()
    finally:
        await db.dispose()
    if exists is None:
        account = await create_user(
            settings,
            DEMO_TEAM,
            DEMO_EMAIL,
            Role.ADMIN.value,
            DEMO_FIRST_NAME,
            password=password or generate_password(),
        )
        login = {
            "email": account.email,
            "password": account.password,
            "totp_secret": account.totp_secret,
            "totp_uri": account.totp_uri,
        }
        write_private(login_file, "".join(f"{k}: {v}\n" for k, v in login.items()))
        return login
    return read_demo_login(settings.data_dir) or {"email": DEMO_EMAIL}


async def run_purge(settings: Settings) -> list[str]:
    """``lykta purge``: the retention purge once, now (skipped if a node is running it)."""
    from lykta.retention.purge import purge
    from lykta.runtime import Runtime

    rt = Runtime.create(settings)
    try:
        await open_keys(rt.keys)
        # With Redis, what the purge publishes (the teams' lists without what it deleted)
        # reaches the workers' open apps on every node; the hub's stop lets it go out.
        await rt.hub.start()
        try:
            report = await purge(rt)
        finally:
            await rt.hub.stop()
    finally:
        await rt.keys.close()
        await rt.db.dispose()
    if not report.ran:
        return ["another node is running the purge right now; nothing done"]
    lines = [
        f"purged {report.conversations} conversations"
        f" ({report.orphan_keys} unused data keys destroyed)"
    ]
    if not report.log_emptied:
        # The server's own purge job retries on its next run; this process does not.
        lines.append(
            "the database's write-ahead log could not be emptied while the server was"
            " reading from it, so what was deleted may still be in it: run `lykta purge`"
            " again in a moment"
        )
    return lines


async def rotate_keys(settings: Settings) -> list[str]:
    """``lykta rotate-keys``: re-wrap every data key under a new (or the first) master key."""
    from lykta.crypto.rotation import rotate

    db = Database(settings)
    store = KeyStore(settings, db)
    try:
        await open_keys(store)
        try:
            report = await rotate(store)
        except KeyConfigError as exc:
            raise CliError(str(exc)) from None
    finally:
        await store.close()
        await db.dispose()
    lines = [
        ("generated a new master key; " if report.added else "")
        + f"{report.rewrapped} data keys re-wrapped under master key {report.current}"
    ]
    if report.retired:
        lines.append(f"removed master keys no longer needed: {', '.join(report.retired)}")
    elif not report.added and not report.still_needed:
        lines.append(
            "LYKTA_MASTER_KEY: only the first key is needed now; remove the others from "
            "every node's configuration"
        )
    if report.still_needed:
        lines.append(f"still needed (run again): {report.still_needed}")
    return lines


async def open_keys(store: KeyStore) -> None:
    try:
        await store.open()
    except KeyConfigError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot use the key store: {exc}") from None


async def check_keys(settings: Settings) -> None:
    """Fail early, with one line, when the master key is missing or unusable."""

    db = Database(settings)
    store = KeyStore(settings, db)
    try:
        await open_keys(store)
    finally:
        await store.close()
        await db.dispose()
