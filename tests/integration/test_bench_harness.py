"""The benchmark end to end on tiny sizes: a real Lykta process and the echo reference,
driven by the load-generator processes over real WebSockets. It checks that every figure
was produced and is sane, never how fast anything was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    output = tmp_path_factory.mktemp("bench-results")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--tiny",
            "--only",
            "startup",
            "idle",
            "latency",
            "storm",
            "throughput",
            "--references",
            "echo",
            "--output",
            str(output),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    return json.loads(last), done.stdout, output


@pytest.mark.slow
def test_the_last_line_is_the_whole_report_and_is_written_to_a_file(
    run: tuple[dict[str, Any], str, Path],
) -> None:
    report, stdout, output = run
    assert set(report) == {"meta", "targets", "ratios", "notes", "results"}
    meta = report["meta"]
    assert meta["mode"] == "tiny"
    assert meta["cores"] >= 1
    assert meta["complete"] is True
    assert meta["rate_limit_scale"] > 1
    [written] = output.glob("*.json")
    assert written.name == f"{meta['date']}-tiny-startup-idle-latency-storm-throughput.json"
    assert json.loads(written.read_text()) == report
    assert not list(output.glob("*.tmp"))
    assert "latency p50" in stdout  # the human-readable lines come first


@pytest.mark.slow
def test_every_figure_was_measured_and_is_sane(run: tuple[dict[str, Any], str, Path]) -> None:
    results = run[0]["results"]
    startup = results["startup"]["lykta"]
    assert 0 < startup["median_s"] < 60
    assert len(startup["runs_s"]) == 2

    idle = results["idle"]["lykta"]
    assert idle["held"] == idle["connected"] == idle["requested"] == 60
    assert idle["failures"] == 0
    assert idle["rss_after_kib"] > idle["rss_base_kib"] > 0

    latency = results["latency"]["lykta"]
    assert latency["population"]["youths"] == 40
    assert latency["population"]["workers"] == 4
    assert latency["sent"] == latency["acked"] == latency["delivered"] > 0
    assert latency["errors"] == {}
    assert 0 < latency["delivery"]["p50_ms"] <= latency["delivery"]["p99_ms"]
    assert latency["delivery"]["samples"] == latency["sent"]

    storm = results["storm"]["lykta"]
    assert storm["clients"] == storm["caught_up"] == 40
    assert storm["lost"] == storm["not_prepared"] == 0
    assert storm["all_caught_up_s"] > 0

    throughput = results["throughput"]["lykta"]
    assert throughput["steps"]
    assert throughput["sustained_rate"] > 0
    passed = [s for s in throughput["steps"] if s["passed"]]
    assert all(s["sent"] == s["delivered"] for s in passed)


@pytest.mark.slow
def test_the_reference_was_measured_on_the_same_workload(
    run: tuple[dict[str, Any], str, Path],
) -> None:
    report = run[0]
    echo = report["results"]["latency"]["echo"]
    assert echo["population"]["youths"] == 40
    assert echo["sent"] == echo["delivered"] > 0
    assert "storm" not in report["results"] or "echo" not in report["results"]["storm"]
    assert report["ratios"]["latency_p50_ms"]["echo"] > 0
    assert report["ratios"]["idle_held"]["echo"] == 1
    figures = {t["figure"] for t in report["targets"]}
    assert {"startup_s", "latency_p50_ms", "throughput_per_s", "idle_kib_per_connection"} <= figures
