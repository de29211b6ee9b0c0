"""``lykta``: one clear line and exit status 2 for anything an operator can fix."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lykta.cli import CliError, _check_port_free, main
from lykta.commands import DEMO_EMAIL, DEMO_LOGIN_FILE, read_demo_login
from lykta.config import Settings
from lykta.db import Database
from lykta.migrate import current_revision


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean LYKTA_* environment pointing at a fresh data directory."""
    for name in list(os.environ):
        if name.startswith("LYKTA_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    monkeypatch.setenv("LYKTA_DATA_DIR", str(data))
    monkeypatch.setenv("LYKTA_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("LYKTA_ARGON2_MEMORY_COST", "1024")
    return data


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


# ----- arguments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["serve", "--port", "abc"], "not a port number: 'abc'"),
        (["serve", "--port", "0"], "port must be 1-65535, not 0"),
        (["demo", "--port", "65536"], "port must be 1-65535, not 65536"),
        (["serve", "--port", "-1"], "port must be 1-65535, not -1"),
        (["serve", "--unknown"], "unrecognized arguments: --unknown"),
        (["migrate", "--port", "8000"], "unrecognized arguments: --port 8000"),
        (["team", "create"], "the following arguments are required: slug, --name"),
        (["user", "create", "--team", "demo"], "required: --email, --role"),
        (
            ["user", "create", "--team", "d", "--email", "e@x.se", "--role", "boss"],
            "invalid choice",
        ),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert complaint in err
    assert err.startswith("lykta")
    assert "error: " in err
    assert "Traceback" not in err
    assert not env.exists()  # nothing was touched


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("lykta ")


# ----- configuration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LYKTA_SEND_QUEUE_SIZE", "abc"),
        ("LYKTA_SEND_QUEUE_SIZE", "1"),
        ("LYKTA_DEFAULT_LOCALE", "de"),
        ("LYKTA_SQLITE_SYNCHRONOUS", "off"),
        ("LYKTA_ARGON2_TIME_COST", "0"),
    ],
)
def test_invalid_configuration_exits_2_without_a_traceback(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(name, value)
    assert main(["migrate"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("lykta: error: invalid configuration: ")
    assert name in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err + captured.out
    assert not env.exists()


def test_an_unusable_data_directory_exits_2(
    tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LYKTA_DATA_DIR", str(blocker / "data"))
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lykta: error: cannot create data directory")
    assert "Traceback" not in err


# ----- migrate -------------------------------------------------------------------------


def test_migrate_creates_the_database(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert "database is up to date" in capsys.readouterr().out
    assert (env / "lykta.db").is_file()
    # And running it again is fine.
    assert main(["migrate"]) == 0

    async def revision() -> str | None:
        db = Database(Settings(data_dir=env))
        try:
            return await current_revision(db)
        finally:
            await db.dispose()

    assert asyncio.run(revision()) is not None


# ----- ports ---------------------------------------------------------------------------


def test_a_port_in_use_is_a_cli_error(busy_port: int) -> None:
    with pytest.raises(CliError, match=f"cannot listen on 127.0.0.1:{busy_port}"):
        _check_port_free("127.0.0.1", busy_port)


def test_a_free_port_passes() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _check_port_free("127.0.0.1", port)


def test_serve_on_a_busy_port_exits_2_with_one_line(
    env: Path, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", str(busy_port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lykta: error: cannot listen on 127.0.0.1:{busy_port}")
    assert len(err.strip().splitlines()) == 1


def test_demo_prints_where_to_go_before_serving(
    env: Path, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--port", str(busy_port)]) == 2
    out = capsys.readouterr().out
    assert f"http://localhost:{busy_port}/chat/demo" in out
    assert f"http://localhost:{busy_port}/app" in out
    assert DEMO_EMAIL in out
    login = read_demo_login(env)
    assert login["password"] in out
    assert login["totp_secret"] in out
    assert (env / DEMO_LOGIN_FILE).is_file()


def test_demo_shows_the_same_login_on_every_start(
    env: Path, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = []
    for _ in range(2):
        assert main(["demo", "--port", str(busy_port)]) == 2
        outputs.append(capsys.readouterr().out)
    password = read_demo_login(env)["password"]
    for out in outputs:
        assert f"Password:            {password}\n" in out


def test_a_bad_demo_password_exits_2_with_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LYKTA_DEMO_PASSWORD", "short")
    assert main(["demo", "--port", str(busy_port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lykta: error: ")
    assert "12 to 1024 characters" in err
    assert len(err.strip().splitlines()) == 1


# ----- team and user -------------------------------------------------------------------


def test_team_and_user_create(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["team", "create", "norr", "--name", "Fältgruppen Norr"]) == 0
    assert "/chat/norr" in capsys.readouterr().out
    argv = ["user", "create", "--team", "norr", "--email", "Eva@Norr.Example", "--role", "worker"]
    assert main([*argv, "--json"]) == 0
    account = json.loads(capsys.readouterr().out)
    assert account["email"] == "eva@norr.example"
    assert len(account["password"]) >= 12
    assert account["totp_uri"].startswith("otpauth://totp/")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["team", "create", "Bad Slug", "--name", "X"], "1-40 lowercase letters"),
        (["team", "create", "norr", "--name", "Again"], "norr"),
        (["team", "create", "ok", "--name", "X", "--timezone", "Mars/Base"], "Mars/Base"),
        (["team", "create", "ok", "--name", "X", "--locale", "de"], "de"),
        (["user", "create", "--team", "nosuch", "--email", "a@b.se", "--role", "worker"], "nosuch"),
        (
            ["user", "create", "--team", "norr", "--email", "not-mail", "--role", "admin"],
            "not-mail",
        ),
    ],
)
def test_operator_mistakes_exit_2_with_one_line(
    env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    assert main(["team", "create", "norr", "--name", "Norr"]) == 0
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("lykta: error: ")
    assert complaint in err
    assert len(err.strip().splitlines()) == 1


def test_a_duplicate_email_exits_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["team", "create", "norr", "--name", "Norr"]) == 0
    argv = ["user", "create", "--team", "norr", "--email", "eva@norr.example", "--role", "admin"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv[:-1], "worker"]) == 2
    err = capsys.readouterr().err
    assert "eva@norr.example" in err
    assert "already exists" in err


# ----- found while writing these tests -------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["not a url", "postgresql://lykta@localhost/lykta"],  # a typo; a driver not installed
)
def test_an_unusable_database_url_exits_2_without_a_traceback(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    monkeypatch.setenv("LYKTA_DATABASE_URL", url)
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lykta: error: ")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://cache.example:6379", "LYKTA_REDIS_URL: Value error, must start with redis://"),
        ("redis://cache.example:port/0", "invalid LYKTA_REDIS_URL: Port could not be cast"),
    ],
)
def test_an_unusable_redis_url_exits_2_with_the_reason(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    says: str,
) -> None:
    monkeypatch.setenv("LYKTA_REDIS_URL", url)
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lykta: error: ")
    assert says in err
    assert len(err.strip().splitlines()) == 1


def test_keys_purge_and_rotation_from_the_cli(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    key_file = env / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    first = key_file.read_text().splitlines()[-1]
    assert main(["purge"]) == 0
    assert "purged 0 conversations" in capsys.readouterr().out
    assert main(["rotate-keys"]) == 0
    out = capsys.readouterr().out
    assert "generated a new master key" in out
    assert "removed master keys no longer needed" in out
    assert first not in key_file.read_text()  # nothing needed the old key: it is gone


def test_generate_key_prints_a_usable_key(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate-key"]) == 0
    key = capsys.readouterr().out.strip()
    monkeypatch.setenv("LYKTA_MASTER_KEY", key)
    assert main(["migrate"]) == 0
    assert not (env / "master.key").exists()


@pytest.mark.parametrize("value", ["not-a-key", "AAAA", ","])
def test_a_bad_master_key_exits_2_with_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("LYKTA_MASTER_KEY", value)
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lykta: error: LYKTA_MASTER_KEY:")
    assert "Traceback" not in err


def test_a_lost_key_file_is_refused_once_keys_exist(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    settings = Settings()

    async def make_a_data_key() -> None:
        from lykta.runtime import Runtime

        rt = Runtime.create(settings)
        await rt.keys.open()
        await rt.keys.create(1, "a" * 32)
        await rt.keys.close()
        await rt.db.dispose()

    asyncio.run(make_a_data_key())
    (env / "master.key").unlink()
    assert main(["purge"]) == 2
    err = capsys.readouterr().err
    assert "restore it from its backup" in err
    assert not (env / "master.key").exists()  # never silently replaced
