"""``lykta serve | demo | migrate | team create | user create | audit verify | purge |
rotate-keys | generate-key | bench``.

Errors an operator can fix (bad arguments, bad configuration, an unknown team, a port in
use) are printed as one clear line and exit with status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError
from starlette.types import ASGIApp

from lykta import __version__
from lykta.commands import (
    DEMO_TEAM,
    CliError,
    check_keys,
    create_team,
    create_user,
    ensure_demo,
    rotate_keys,
    run_purge,
    verify_audit,
)
from lykta.config import Settings

__all__ = ["CliError", "build_app", "main", "server_config"]


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit status 2, one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, not {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="lykta", description="Anonymous chat for young people and outreach workers."
    )
    parser.add_argument("--version", action="version", version=f"lykta {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    for name, text in (
        ("serve", "run the server"),
        ("demo", "run the server with a demo team and worker (created if missing)"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--host", default="127.0.0.1", help="address to listen on")
        sub.add_argument("--port", type=_port, default=8000, help="port to listen on")
    commands.add_parser("migrate", help="apply database migrations and exit")

    team = commands.add_parser("team", help="manage teams").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=Parser
    )
    create = team.add_parser("create", help="create a team")
    create.add_argument("slug", help="short name used in links: /chat/SLUG")
    create.add_argument("--name", required=True, help='display name, e.g. "Fältgruppen Mölndal"')
    create.add_argument("--timezone", default="Europe/Stockholm")
    create.add_argument("--locale", default="sv", help="default language (sv, en)")

    user = commands.add_parser("user", help="manage staff accounts").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=Parser
    )
    new_user = user.add_parser(
        "create", help="create an account with a generated password and enrolled TOTP"
    )
    new_user.add_argument("--team", required=True, help="the team's slug")
    new_user.add_argument("--email", required=True)
    new_user.add_argument("--role", required=True, choices=["worker", "admin"])
    new_user.add_argument("--first-name", help="shown to young people (default: from e-mail)")
    new_user.add_argument("--json", action="store_true", help="print one JSON object")

    audit_cmd = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=Parser
    )
    verify = audit_cmd.add_parser("verify", help="check the hash chain of the audit log")
    verify.add_argument("--team", help="only this team's chain")

    commands.add_parser("purge", help="delete what the teams' retention periods no longer keep")
    commands.add_parser(
        "rotate-keys", help="re-wrap every data key under a new master key (servers keep running)"
    )
    commands.add_parser("generate-key", help="print a new master key for LYKTA_MASTER_KEY")

    bench = commands.add_parser(
        "bench",
        help="run the benchmark (from a source checkout; see bench/README.md)",
        description="Measure Lykta and three reference servers on this machine.",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    bench.add_argument(
        "--only",
        nargs="+",
        metavar="SCENARIO",
        help="startup, idle, latency, storm, throughput or multinode",
    )
    bench.add_argument("--output", metavar="DIR", help="where the JSON report goes")
    bench.add_argument("--no-references", action="store_true", help="measure Lykta only")
    bench.add_argument(
        "--references", nargs="+", metavar="NAME", help="echo, sqlite_relay, channels_app"
    )
    bench.add_argument("--postgres", metavar="URL", help="PostgreSQL for the two-node run")
    bench.add_argument("--redis", metavar="URL", help="Redis for the two-node run")
    bench.add_argument(
        "--profile", action="store_true", help="profile Lykta's server with py-spy as well"
    )
    return parser


def find_bench(start: Path | None = None) -> Path | None:
    """The source checkout holding the benchmark: the current directory or one above it,
    else the checkout this package is installed from (an editable install)."""
    here = (start or Path.cwd()).resolve()
    candidates = [here, *here.parents, Path(__file__).resolve().parents[2]]
    for root in candidates:
        if (root / "bench" / "__main__.py").is_file() and (root / "bench" / "harness").is_dir():
            return root
    return None


def run_bench(args: argparse.Namespace) -> int:
    """``python -m bench`` with this interpreter from the checkout's root; its status."""
    root = find_bench()
    if root is None:
        raise CliError(
            "cannot find the benchmark: run lykta bench in a source checkout of Lykta "
            "(the directory holding bench/)"
        )
    argv = [sys.executable, "-m", "bench"]
    if args.quick:
        argv.append("--quick")
    if args.only:
        argv += ["--only", *args.only]
    if args.output:
        argv += ["--output", str(Path(args.output).resolve())]
    if args.no_references:
        argv.append("--no-references")
    if args.references:
        argv += ["--references", *args.references]
    if args.profile:
        argv.append("--profile")
    for option in ("postgres", "redis"):
        if getattr(args, option):
            argv += [f"--{option}", getattr(args, option)]
    return subprocess.call(argv, cwd=root)  # noqa: S603 - this interpreter, our own module


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LYKTA_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise CliError(f"invalid configuration: {problems}") from None


async def prepare(settings: Settings) -> None:
    from lykta.db import Database
    from lykta.migrate import upgrade

    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create data directory {settings.data_dir}: {exc}") from None
    try:
        db = Database(settings)
    except Exception as exc:  # a malformed URL, or a driver that is not installed
        raise CliError(f"cannot use the database URL: {type(exc).__name__}: {exc}") from None
    try:
        await upgrade(db)
    except Exception as exc:
        raise CliError(f"cannot prepare the database: {type(exc).__name__}: {exc}") from None
    finally:
        await db.dispose()
    await check_keys(settings)
    check_redis(settings)


def check_redis(settings: Settings) -> None:
    """A Redis URL must parse and its client be installed; Redis itself may still be
    starting (the node retries in the background)."""
    if not settings.redis_url:
        return
    try:
        from redis.asyncio.connection import parse_url
    except ImportError:
        raise CliError(
            "LYKTA_REDIS_URL is set but the redis package is missing: pip install 'lykta[redis]'"
        ) from None
    try:
        parse_url(settings.redis_url)
    except ValueError as exc:
        raise CliError(f"invalid LYKTA_REDIS_URL: {exc}") from None


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def server_config(app: Any, host: str, port: int, settings: Settings) -> uvicorn.Config:
    """Production server settings, shared by ``lykta serve`` and the tests."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        # uvicorn's sans-I/O websockets protocol: no task per socket (pings run on timers),
        # about half the memory of the default implementation per idle connection.
        ws="websockets-sansio",
        ws_max_size=64 * 1024,
        # Protocol-level pings find dead peers (a phone gone into a tunnel, a half-open
        # connection); the sockets' own hello and idle timeouts find silent ones.
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        ws_per_message_deflate=False,
        # Room for a reconnect storm (thousands of young people back at once after a
        # restart) in the kernel's queue of connections waiting to be accepted; the kernel
        # caps it at net.core.somaxconn.
        backlog=8192,
        log_config=None,
        lifespan="on",
    )


def build_app(settings: Settings) -> ASGIApp:
    from lykta.app import SocketsFirst, create_app
    from lykta.web.privacy import ForgetClient

    return ForgetClient(SocketsFirst(create_app(settings)))


def serve(settings: Settings, host: str, port: int) -> None:
    from lykta.gc_tuning import tune_for_server
    from lykta.web.privacy import configure_logging

    _check_port_free(host, port)
    configure_logging()
    app = build_app(settings)
    tune_for_server()
    uvicorn.Server(server_config(app, host, port, settings)).run()


def _print_demo(login: dict[str, str], settings: Settings, host: str, port: int) -> None:
    base = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}"
    lines = [
        "Lykta demo is starting.",
        f"  Young person's chat: {base}/chat/{DEMO_TEAM}",
        f"  Worker app:          {base}/app",
        f"  Worker login:        {login.get('email', '')}",
        f"  Password:            {login.get('password', '(set when the demo was created)')}",
    ]
    if "totp_secret" in login:
        lines.append(f"  Authenticator key:   {login['totp_secret']}  (TOTP, 6 digits, 30 s)")
    lines.append(f"  Data directory:      {settings.data_dir.resolve()}")
    print("\n".join(lines), flush=True)
    if "totp_uri" in login and sys.stdout.isatty():
        import segno

        print("  Scan with an authenticator app:")
        segno.make(login["totp_uri"], error="m").terminal(compact=True)
    print(flush=True)


def run(args: argparse.Namespace) -> int:
    if args.command == "bench":
        return run_bench(args)
    if args.command == "generate-key":
        from lykta.crypto.keyring import generate_key_text

        print(generate_key_text())
        return 0
    settings = load_settings()
    asyncio.run(prepare(settings))
    if args.command == "migrate":
        print("database is up to date")
    elif args.command == "team":
        team = asyncio.run(create_team(settings, args.slug, args.name, args.timezone, args.locale))
        print(f"created team {team.slug} ({team.name}); youth link: /chat/{team.slug}")
    elif args.command == "user":
        account = asyncio.run(
            create_user(settings, args.team, args.email, args.role, args.first_name)
        )
        if args.json:
            print(account.as_json())
        else:
            print(
                f"created {args.role} {account.email}\n"
                f"  password:          {account.password}\n"
                f"  authenticator key: {account.totp_secret}\n"
                f"  authenticator URI: {account.totp_uri}\n"
                "Hand these over out of band; they are not shown again."
            )
    elif args.command == "audit":
        intact, lines = asyncio.run(verify_audit(settings, args.team))
        print("\n".join(lines) if lines else "no teams")
        return 0 if intact else 1
    elif args.command == "purge":
        print("\n".join(asyncio.run(run_purge(settings))))
    elif args.command == "rotate-keys":
        print("\n".join(asyncio.run(rotate_keys(settings))))
    elif args.command == "demo":
        login = asyncio.run(ensure_demo(settings, os.environ.get("LYKTA_DEMO_PASSWORD")))
        _print_demo(login, settings, args.host, args.port)
        serve(settings, args.host, args.port)
    else:  # serve
        serve(settings, args.host, args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except CliError as exc:
        print(f"lykta: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
