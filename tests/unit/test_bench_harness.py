"""The benchmark harness's own logic, without servers: percentiles, the step verdicts,
the ramp's search, targets and ratios, the in-flight bookkeeping, and refusing to start
without what it needs. (Speed is never asserted here: that is the benchmark's job.)"""

from __future__ import annotations

import time
from typing import Any

import pytest
from bench.harness import scenarios
from bench.harness.clients import Tracker
from bench.harness.main import main, missing_packages
from bench.harness.report import evaluate, lines
from bench.harness.scenarios import judge, ramp, split
from bench.harness.servers import machine_busy_seconds
from bench.harness.sizes import FULL, QUICK
from bench.harness.stats import latency_summary, percentile


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 1001)]
    assert percentile(values, 50) == 500
    assert percentile(values, 99) == 990
    assert percentile(values, 99.9) == 999
    assert percentile([], 50) is None
    assert latency_summary([3.0, 1.0, 2.0])["p50_ms"] == 2.0


def test_split_shares_out_everything() -> None:
    assert split(10, 3) == [4, 3, 3]
    assert sum(split(15_000, 4)) == 15_000
    assert split(1, 2) == [1, 0]


def step(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "rate": 1000,
        "sent": 1000,
        "acked": 1000,
        "delivered": 1000,
        "achieved_rate": 1000.0,
        "errors": {},
        "stopped_early": False,
        "delivery": {"p99_ms": 20.0},
    }
    return {**base, **changes}


def test_a_step_counts_only_when_everything_arrived_in_time() -> None:
    assert judge(step()) is None
    assert "not acknowledged" in (judge(step(acked=999)) or "")
    assert "not delivered" in (judge(step(delivered=999)) or "")
    assert "busy" in (judge(step(errors={"busy": 1})) or "")
    assert "p99" in (judge(step(delivery={"p99_ms": 100.5})) or "")
    assert "stopped early" in (judge(step(stopped_early=True)) or "")
    assert "load generator" in (judge(step(achieved_rate=900.0)) or "")


class FakePool:
    def __len__(self) -> int:
        return 2

    def all(self, command: Any, kind: Any, timeout: float = 0) -> list[Any]:
        return []

    def cpu_seconds(self) -> float:
        return 0.0


@pytest.mark.parametrize("capacity", [60.0, 130.0, 1_000.0, 9_000.0])
def test_the_ramp_finds_the_highest_passing_rate(
    monkeypatch: pytest.MonkeyPatch, capacity: float
) -> None:
    def fake_rate(ctx: Any, servers: Any, youths: Any, rate: float, *args: Any, **kw: Any) -> Any:
        late = rate > capacity
        return step(
            rate=rate,
            achieved_rate=rate,
            stopped_early=late,
            server_cpu_cores=[0.5],
            loadgen_cpu_cores=0.2,
            machine_cpu_cores=0.9,
        )

    monkeypatch.setattr(scenarios, "run_rate", fake_rate)
    monkeypatch.setattr(scenarios, "wait_until_quiet", lambda servers: 0.0)
    ctx = scenarios.Context(
        repo=None,  # type: ignore[arg-type]
        work=None,  # type: ignore[arg-type]
        sizes=QUICK,
        pool=FakePool(),  # type: ignore[arg-type]
        say=lambda line: None,
    )
    result = ramp(ctx, [], [100, 100])
    best, failed = result["sustained_rate"], result["lowest_failed_rate"]
    assert best <= capacity < failed
    assert failed / best <= QUICK.ramp_factor
    assert all(s["passed"] == (s["rate"] <= capacity) for s in result["steps"])


def results(lykta: dict[str, Any], **references: dict[str, Any]) -> dict[str, Any]:
    return {
        "throughput": {"lykta": {"sustained_rate": lykta["rate"]}, **references},
        "latency": {"lykta": {"delivery": {"p50_ms": 4.0, "p99_ms": 40.0}}},
        "idle": {"lykta": {"held": 1000, "kib_per_connection": 20.0}},
    }


def summary(measured: dict[str, Any]) -> str:
    """The report's printed lines for these results (a full run's)."""
    targets, ratios, _ = evaluate(measured, full_size=True)
    meta = {
        "mode": "full",
        "name": "2026-01-01-full",
        "date": "2026-01-01",
        "cores": 2,
        "python": "3.11",
        "platform": "Linux",
        "method": "…",
    }
    report = {"meta": meta, "results": measured, "ratios": ratios, "targets": targets}
    return "\n".join(lines(report))


def test_targets_and_ratios() -> None:
    measured = results(
        {"rate": 2000},
        sqlite_relay={"sustained_rate": 4000},
        channels_app={"sustained_rate": 500},
    )
    targets, ratios, _ = evaluate(measured, full_size=True)
    by_figure = {t["figure"]: t for t in targets}
    assert by_figure["latency_p50_ms"]["met"] is True
    assert by_figure["latency_p99_ms"]["met"] is False
    assert by_figure["idle_kib_per_connection"]["met"] is True
    assert by_figure["idle_held"]["met"] is False  # 1,000 < 15,000
    assert by_figure["throughput_per_s"]["met"] is False
    assert by_figure["throughput_vs_sqlite_relay"]["value"] == 2.0
    assert by_figure["throughput_vs_sqlite_relay"]["met"] is True
    assert by_figure["throughput_vs_channels_app"]["value"] == 4.0
    assert by_figure["throughput_vs_channels_app"]["met"] is False
    assert ratios["throughput_per_s"] == {"sqlite_relay": 0.5, "channels_app": 4.0}


def test_quick_sizes_give_no_verdict_where_the_target_assumes_full_sizes() -> None:
    targets, _, _ = evaluate(results({"rate": 2000}), full_size=False)
    by_figure = {t["figure"]: t for t in targets}
    assert by_figure["idle_held"]["met"] is None
    assert by_figure["latency_p99_ms"]["met"] is None
    assert by_figure["idle_kib_per_connection"]["met"] is True


def test_a_reference_that_sustained_nothing_gives_a_lower_bound() -> None:
    measured = results({"rate": 200}, channels_app={"sustained_rate": 0, "lowest_failed_rate": 16})
    targets, ratios, notes = evaluate(measured, full_size=True)
    assert ratios["throughput_per_s"]["channels_app"] == 12.5
    [versus] = [t for t in targets if t["figure"] == "throughput_vs_channels_app"]
    assert versus["value"] == 12.5
    assert versus["met"] is True
    assert "lower bound" in versus["note"]
    assert any("lower bound" in note for note in notes)


def test_an_overloaded_latency_is_a_lower_bound_and_not_met() -> None:
    measured = results({"rate": 200})
    measured["latency"]["lykta"]["overloaded"] = True
    measured["latency"]["lykta"]["delivery"]["p50_ms"] = 3.0
    targets, _, _ = evaluate(measured, full_size=True)
    [p50] = [t for t in targets if t["figure"] == "latency_p50_ms"]
    assert p50["met"] is False
    assert "lower bound" in p50["note"]


def test_a_reference_that_failed_gives_no_ratio_and_is_named() -> None:
    measured = results({"rate": 2000}, echo={"error": "echo exited with status 1:\nboom"})
    _, ratios, _ = evaluate(measured, full_size=True)
    assert "throughput_per_s" not in ratios
    text = summary(measured)
    assert "echo failed — throughput: echo exited with status 1:" in text
    assert "latency p99" in text


def test_a_reference_cut_short_by_its_idle_limit_is_named() -> None:
    measured = results({"rate": 2000})
    measured["idle"]["channels_app"] = {
        "requested": 15_000,
        "connected": 1_950,
        "held": 1_950,
        "time_limit_s": FULL.reference_idle_limit,
    }
    measured["idle"]["lykta"].update(requested=15_000, connected=15_000, time_limit_s=240)
    text = summary(measured)
    assert "channels_app opened 1,950 of 15,000 connections within its time limit of 30 s" in text
    assert "lykta opened" not in text
    assert FULL.reference_idle_limit < FULL.idle_limit


def test_both_profiles_are_summarised_each_under_its_own_heading() -> None:
    measured = results({"rate": 2000})

    def profile(rate: int, top: str) -> dict[str, Any]:
        return {
            "rate": rate,
            "samples": 900,
            "cpu_per_message": {"main_thread_ms": 0.3, "others_thread_ms": 0.1},
            "self": [{"function": top, "percent": 12.5}],
            "lykta_inclusive": [{"function": "send (lykta/conversations)", "percent": 40}],
        }

    measured["profile"] = {
        "lykta": profile(2875, "execute (sqlite3)"),
        "lykta_two_nodes": profile(2500, "_execute (asyncpg)"),
    }
    text = summary(measured)
    one = text.index("Where Lykta's server spent its time at 2,875 messages/s")
    two = text.index("Where Lykta's node 1 of two spent its time at 2,500 messages/s")
    assert one < text.index("execute (sqlite3)") < two < text.index("_execute (asyncpg)")


def test_what_stopped_the_ramp_names_the_machine_when_all_its_cores_were_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    step: dict[str, Any] = {"reason": "p99 140 ms > 100 ms", "server_cpu_cores": [0.8, 0.2]}
    step["loadgen_cpu_cores"] = 0.5
    step["machine_cpu_cores"] = 1.95  # PostgreSQL, Redis and the kernel took the rest
    assert scenarios.limited_by(step).startswith("the machine's CPU (1.95 of 2 cores busy")
    step["machine_cpu_cores"] = 1.4
    assert scenarios.limited_by(step) == "server CPU (its event loop runs on one core)"
    step["server_cpu_cores"] = [0.5, 0.2]
    assert scenarios.limited_by(step) == "latency or delivery, with CPU to spare"
    assert scenarios.limited_by(None).startswith("not reached")


def test_the_machines_busy_time_counts_this_process_too() -> None:
    before, own = machine_busy_seconds(), time.process_time()
    while time.process_time() - own < 0.3:
        pass
    burnt = time.process_time() - own
    assert machine_busy_seconds() - before >= burnt - 0.05


async def test_the_tracker_counts_late_and_settles() -> None:
    tracker = Tracker()
    tracker.late_ms = 50
    now = time.perf_counter()
    tracker.timed("a", now - 1.0)  # long outstanding: late
    tracker.timed("b", 10**9)  # sent "in the future": not late
    assert tracker.late(now) == 1
    tracker.acked("a")
    tracker.delivered("a")
    assert tracker.delivered_late == 1
    assert tracker.late(now) == 1
    assert not tracker.settled.is_set()
    tracker.acked("b")
    tracker.delivered("b")
    assert tracker.settled.is_set()
    assert len(tracker.ack_ms) == len(tracker.delivery_ms) == 2


def test_missing_packages_are_named() -> None:
    assert missing_packages(["echo"], "bench.reference", multinode=False) is None
    problem = missing_packages(["echo"], "no_such_package", multinode=False)
    assert problem is not None
    assert "no_such_package.echo" in problem


def test_what_cannot_run_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--reference-package", "no_such_package", "--references", "echo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lykta bench: error: the reference server no_such_package.echo")
    assert len(err.strip().splitlines()) == 1
    assert main(["--only", "multinode", "--postgres", "", "--redis", ""]) == 2
    assert "multinode needs --postgres" in capsys.readouterr().err
