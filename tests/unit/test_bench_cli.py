"""``lykta bench``: finds the checkout's bench/, runs it with this interpreter, forwards the
options and the exit status; one line and status 2 when there is nothing to run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lykta import cli
from lykta.cli import find_bench, main

REPO = Path(__file__).resolve().parents[2]


def test_the_checkout_is_found_from_a_subdirectory_and_from_elsewhere(tmp_path: Path) -> None:
    assert find_bench(REPO / "src" / "lykta") == REPO
    # Outside any checkout: the one this (editable) package is installed from.
    assert find_bench(tmp_path) == REPO


def test_no_checkout_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site-packages" / "lykta" / "cli.py"))
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lykta: error: cannot find the benchmark")
    assert len(err.strip().splitlines()) == 1


def test_options_and_exit_status_are_forwarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[list[str], Any]] = []

    def fake_call(argv: list[str], cwd: Any = None) -> int:
        calls.append((argv, cwd))
        return 1

    monkeypatch.setattr(subprocess, "call", fake_call)
    monkeypatch.chdir(tmp_path)
    status = main(
        [
            "bench",
            "--quick",
            "--only",
            "startup",
            "latency",
            "--output",
            "out",
            "--references",
            "echo",
            "--postgres",
            "postgresql+asyncpg://pg/x",
            "--redis",
            "redis://r/1",
        ]
    )
    assert status == 1
    [(argv, cwd)] = calls
    assert cwd == REPO
    assert argv[:3] == [sys.executable, "-m", "bench"]
    assert argv[3:] == [
        "--quick",
        "--only",
        "startup",
        "latency",
        "--output",
        str(tmp_path / "out"),
        "--references",
        "echo",
        "--postgres",
        "postgresql+asyncpg://pg/x",
        "--redis",
        "redis://r/1",
    ]


def test_bench_runs_without_settings_or_a_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LYKTA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LYKTA_SEND_QUEUE_SIZE", "not a number")  # never read by bench
    monkeypatch.setattr(subprocess, "call", lambda argv, cwd=None: 0)
    assert main(["bench", "--no-references"]) == 0
    assert not (tmp_path / "data").exists()


def test_an_unknown_scenario_is_refused_by_the_benchmark_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lykta", "bench", "--only", "bogus"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("lykta bench: error: argument --only: invalid choice")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
