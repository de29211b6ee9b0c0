"""``lykta serve | demo | migrate``.

Errors an operator can fix (bad arguments, bad configuration, a port in use) are printed
as one clear line and exit with status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError
from sqlalchemy import select
from starlette.types import ASGIApp

from lykta import __version__
from lykta.config import Settings

DEMO_TEAM = "demo"
DEMO_TEAM_NAME = "Fältgruppen Demo"
DEMO_EMAIL = "worker@demo.example"
DEMO_FIRST_NAME = "Anna"
DEMO_LOGIN_FILE = "demo-login.txt"


class CliError(Exception):
    """Shown to the operator as ``lykta: error: <message>``; exit status 2."""


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, not {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lykta", description="Anonymous chat for young people and outreach workers."
    )
    parser.add_argument("--version", action="version", version=f"lykta {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (
        ("serve", "run the server"),
        ("demo", "run the server with a demo team and worker (created if missing)"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--host", default="127.0.0.1", help="address to listen on")
        sub.add_argument("--port", type=_port, default=8000, help="port to listen on")
    commands.add_parser("migrate", help="apply database migrations and exit")
    return parser


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LYKTA_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise CliError(f"invalid configuration: {problems}") from None


async def _prepare(settings: Settings) -> None:
    from lykta.db import Database
    from lykta.migrate import upgrade

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create data directory {settings.data_dir}: {exc}") from None
    db = Database(settings)
    try:
        await upgrade(db)
    except Exception as exc:
        raise CliError(f"cannot prepare the database: {type(exc).__name__}: {exc}") from None
    finally:
        await db.dispose()


async def ensure_demo(settings: Settings) -> tuple[str, str]:
    """Create the demo team and worker if missing. Returns (email, password text)."""
    from lykta.db import Database
    from lykta.runtime import make_hasher
    from lykta.staff.models import StaffUser
    from lykta.staff.service import do_create_staff
    from lykta.teams.service import do_create_team, get_team_by_slug

    login_file = settings.data_dir / DEMO_LOGIN_FILE
    db = Database(settings)
    try:
        async with db.write() as session:
            team = await get_team_by_slug(session, DEMO_TEAM)
            if team is None:
                team = await do_create_team(session, DEMO_TEAM, DEMO_TEAM_NAME)
            user = (
                await session.execute(select(StaffUser).where(StaffUser.email == DEMO_EMAIL))
            ).scalar_one_or_none()
            if user is None:
                password = os.environ.get("LYKTA_DEMO_PASSWORD") or secrets.token_urlsafe(12)
                await do_create_staff(
                    session,
                    make_hasher(settings),
                    team,
                    email=DEMO_EMAIL,
                    password=password,
                    first_name=DEMO_FIRST_NAME,
                )
                _write_private(login_file, f"{DEMO_EMAIL}\n{password}\n")
                return DEMO_EMAIL, password
    finally:
        await db.dispose()
    try:
        lines = login_file.read_text().splitlines()
        return DEMO_EMAIL, lines[1]
    except (OSError, IndexError):
        return DEMO_EMAIL, "(set when the demo was first created)"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def server_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """Production server settings, shared by ``lykta serve`` and the tests."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        ws_max_size=64 * 1024,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        ws_per_message_deflate=False,
        log_config=None,
        lifespan="on",
    )


def build_app(settings: Settings) -> ASGIApp:
    from lykta.app import create_app
    from lykta.web.privacy import ForgetClient

    return ForgetClient(create_app(settings))


def serve(settings: Settings, host: str, port: int) -> None:
    from lykta.web.privacy import configure_logging

    _check_port_free(host, port)
    configure_logging()
    uvicorn.Server(server_config(build_app(settings), host, port)).run()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        asyncio.run(_prepare(settings))
        if args.command == "migrate":
            print("database is up to date")
            return 0
        if args.command == "demo":
            email, password = asyncio.run(ensure_demo(settings))
            base = f"http://{'localhost' if args.host in ('127.0.0.1', '::1') else args.host}"
            base += f":{args.port}"
            print(
                f"Lykta demo is starting.\n"
                f"  Young person's chat: {base}/chat/{DEMO_TEAM}\n"
                f"  Worker app:          {base}/app\n"
                f"  Worker login:        {email}\n"
                f"  Password:            {password}\n"
                f"  Data directory:      {settings.data_dir.resolve()}\n",
                flush=True,
            )
        serve(settings, args.host, args.port)
    except CliError as exc:
        print(f"lykta: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
