"""The measurements, run against one target at a time.

``run_target`` does, in order and as selected: the start-up runs; then, on one server
session, the idle connections, and the conversation workload (populate; latency at a
fixed rate; the reconnect storm; the throughput ramp — last, since overload may drop
connections).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness.plan import (
    CheckIdle,
    CheckResult,
    ConnectIdle,
    DropIdle,
    Failures,
    Heal,
    HealResult,
    IdleResult,
    Populate,
    PopulateResult,
    RateResult,
    Reset,
    SendAtRate,
    StormGo,
    StormPrepare,
    StormPrepared,
    StormResult,
    TeamPlan,
)
from bench.harness.pool import LoadGenerators
from bench.harness.servers import (
    ServerFailed,
    ServerProcess,
    machine_busy_seconds,
    stop_all,
    wait_until_quiet,
)
from bench.harness.sizes import Sizes
from bench.harness.stats import merge_rates, percentile, rounded
from bench.harness.targets import Target

SCENARIOS = ("startup", "idle", "latency", "storm", "throughput", "multinode")
WORKLOAD = ("latency", "storm", "throughput")
P99_LIMIT_MS = 100.0
"""A throughput step counts only if p99 (send to the worker's receive) stays within this."""
OVERLOAD_MS = 1000.0
"""The latency phase stops once more than 1% of its messages are later than this: the
server cannot keep up with the rate, and the percentiles only grow with the duration."""


@dataclass
class Context:
    repo: Path
    work: Path
    sizes: Sizes
    pool: LoadGenerators
    say: Callable[[str], None]
    profile_to: Path | None = None
    """Where to write a py-spy profile of Lykta's server (``--profile``); None: no profile."""


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_target(ctx: Context, target: Target, wanted: set[str]) -> dict[str, Any]:
    """Every selected scenario against one target: ``{scenario: result}``; a server that
    fails is recorded as ``{"error": ...}`` for what it could not do."""
    out: dict[str, Any] = {}
    if "startup" in wanted:
        try:
            out["startup"] = measure_startup(ctx, target)
        except ServerFailed as exc:
            out["startup"] = {"error": str(exc)}
    session = [s for s in ("idle", *WORKLOAD) if s in wanted]
    if not target.resumes and "storm" in session:
        session.remove("storm")
    if not session:
        return out
    servers = target.make_servers()
    started: list[ServerProcess] = []
    try:
        for server in servers:
            server.start()
            started.append(server)
        if "idle" in session:
            ctx.say(f"  {target.name}: {ctx.sizes.idle:,} idle connections")
            workload = any(s in session for s in WORKLOAD)
            out["idle"] = measure_idle(ctx, target, servers, keep=workload)
        if any(s in session for s in WORKLOAD):
            out.update(measure_workload(ctx, target, servers, session))
    except ServerFailed as exc:
        for scenario in session:
            out.setdefault(scenario, {"error": str(exc)})
    finally:
        ctx.pool.all(Reset(), type(None))
        for server in started:
            if not server.alive():
                for scenario in session:
                    out.setdefault(scenario, {"error": f"{server.name} died:\n{server.tail()}"})
        stop_all(started)
    return out


def measure_startup(ctx: Context, target: Target) -> dict[str, Any]:
    runs: list[float] = []
    for _ in range(ctx.sizes.startup_runs):
        server = target.make_servers()[0]
        try:
            runs.append(server.start())
        finally:
            server.stop()
    ctx.say(f"  {target.name}: started in " + ", ".join(f"{r:.2f}" for r in runs) + " s")
    return {"median_s": round(statistics.median(runs), 3), "runs_s": [round(r, 3) for r in runs]}


def team_plans(ctx: Context, target: Target) -> list[list[TeamPlan]]:
    """The teams each load generator simulates (team ``i`` on generator ``i % n``)."""
    plans: list[list[TeamPlan]] = [[] for _ in range(len(ctx.pool))]
    for i, team in enumerate(target.teams):
        plans[i % len(ctx.pool)].append(team)
    return plans


def measure_idle(
    ctx: Context, target: Target, servers: list[ServerProcess], *, keep: bool
) -> dict[str, Any]:
    """Idle young people's connections, opened a few at a time (on Lykta each starts a
    conversation); the server's resident memory before and after, per connection; how
    many answer a ping after being held. With ``keep``, they stay connected for the
    workload, which takes its young people from them."""
    pool, sizes, server = ctx.pool, ctx.sizes, servers[0]
    endpoint = target.endpoint(servers)
    plans = team_plans(ctx, target)
    concurrency = max(1, sizes.idle_concurrency // len(pool))

    limit = sizes.idle_limit if target.protocol == "lykta" else sizes.reference_idle_limit
    give_up_at = time.time() + limit

    def connect(count: int) -> tuple[int, Failures]:
        per_team = split(count, len(target.teams))
        commands, i = [], 0
        for plan in plans:
            commands.append(
                ConnectIdle(
                    endpoint,
                    sum(per_team[i : i + len(plan)]),
                    concurrency,
                    tuple(t.slug for t in plan),
                    give_up_at,
                )
            )
            i += len(plan)
        answers = pool.ask(commands, IdleResult, timeout=3600)
        failures = Failures()
        for answer in answers:
            failures.merge(answer.failures)
        return sum(a.connected for a in answers), failures

    rss_ready = server.rss_kib()
    warm = max(len(target.teams), sizes.idle // 50)
    warmed, failures = connect(warm)
    rss_base = server.rss_kib()
    began, cpu = time.perf_counter(), server.cpu_seconds()
    connected, more_failures = connect(sizes.idle - warm)
    connect_seconds = time.perf_counter() - began
    connect_cpu = (server.cpu_seconds() - cpu) / connect_seconds
    failures.merge(more_failures)
    cpu = server.cpu_seconds()
    time.sleep(sizes.idle_hold)
    idle_cpu = (server.cpu_seconds() - cpu) / sizes.idle_hold
    rss_after = server.rss_kib()
    checks = pool.all(CheckIdle(timeout=20), CheckResult)
    held = sum(c.alive for c in checks)
    if not keep:
        pool.all(DropIdle(), type(None))
    wait_until_quiet([server])
    per_connection = (rss_after - rss_base) / connected if connected else None
    return {
        "requested": sizes.idle,
        "connected": warmed + connected,
        "held": held,
        "failures": failures.count,
        "failure_reasons": failures.reasons,
        "connect_seconds": round(connect_seconds, 2),
        "time_limit_s": limit,
        "connect_server_cpu_cores": round(connect_cpu, 2),
        "connections_per_second": round(connected / connect_seconds, 1) if connect_seconds else 0,
        "rss_ready_kib": rss_ready,
        "rss_base_kib": rss_base,
        "rss_after_kib": rss_after,
        "warm_up_connections": warmed,
        "kib_per_connection": rounded(per_connection, 1),
        "idle_cpu_percent": round(idle_cpu * 100, 1),
    }


def measure_workload(
    ctx: Context, target: Target, servers: list[ServerProcess], session: Sequence[str]
) -> dict[str, Any]:
    pool, sizes = ctx.pool, ctx.sizes
    plans = team_plans(ctx, target)
    endpoint = target.endpoint(servers)
    youth_count = sum(t.youths for t in target.teams)
    worker_count = sum(len(t.cookies) for t in target.teams)
    ctx.say(f"  {target.name}: {youth_count:,} young people and {worker_count} workers")
    concurrency = max(1, sizes.populate_concurrency // len(pool))
    cpu, began = [s.cpu_seconds() for s in servers], time.perf_counter()
    answers = pool.ask(
        [Populate(endpoint, tuple(p), concurrency) for p in plans], PopulateResult, timeout=1800
    )
    elapsed = time.perf_counter() - began
    busy = [round((s.cpu_seconds() - c) / elapsed, 2) for s, c in zip(servers, cpu, strict=True)]
    failures = Failures()
    for answer in answers:
        failures.merge(answer.failures)
    youths = [a.youths for a in answers]
    population = {
        "youths": sum(youths),
        "workers": sum(a.workers for a in answers),
        "failures": failures.count,
        "failure_reasons": failures.reasons,
        "seconds": round(max(a.seconds for a in answers), 1),
        "server_cpu_cores": busy,
    }
    out: dict[str, Any] = {}
    if "latency" in session:
        ctx.say(f"  {target.name}: latency at {sizes.latency_rate:g} messages/s")
        wait_until_quiet(servers)
        latency = run_rate(
            ctx,
            servers,
            youths,
            sizes.latency_rate,
            sizes.latency_seconds,
            sizes.latency_grace,
            give_up=True,
            late_ms=OVERLOAD_MS,
        )
        latency["overloaded"] = latency["stopped_early"]
        out["latency"] = {"population": population, **latency}
    if "storm" in session:
        ctx.say(f"  {target.name}: reconnect storm of {sum(youths):,}")
        wait_until_quiet(servers)
        out["storm"] = {"population": population, **storm(ctx)}
    if "throughput" in session:
        ctx.say(f"  {target.name}: throughput ramp")
        out["throughput"] = {"population": population, **ramp(ctx, servers, youths)}
        sustained = out["throughput"]["sustained_rate"]
        if "latency" in out and target.protocol == "lykta" and sustained:
            rate = round(sustained / 2)
            ctx.say(f"  {target.name}: latency at half the sustained rate, {rate:,}/s")
            ctx.pool.all(Heal(), HealResult)
            wait_until_quiet(servers)
            out["latency"]["below_capacity"] = run_rate(
                ctx, servers, youths, rate, sizes.latency_seconds, sizes.latency_grace
            )
        if ctx.profile_to is not None and target.protocol == "lykta":
            rate = out["throughput"]["sustained_rate"] or sizes.ramp_start
            # Two nodes: node 1 (the young people's, which writes every message).
            output = ctx.profile_to
            if len(servers) > 1:
                output = output.with_name(f"{output.stem}-two-nodes{output.suffix}")
            out["profile"] = profile(ctx, servers, youths, rate, output)
    return out


def profile(
    ctx: Context, servers: list[ServerProcess], youths: list[int], rate: float, output: Path
) -> dict[str, Any]:
    """A py-spy profile of the (first) server at ``rate``, after the ramp (not counted
    anywhere)."""
    from bench.harness.profile import Recording, summarise, thread_cpu

    seconds = max(5.0, ctx.sizes.step_seconds * 2)
    which = "the server" if len(servers) == 1 else "node 1"
    ctx.say(f"  lykta: profiling {which} at {rate:,.0f} messages/s for {seconds:g} s")
    ctx.pool.all(Heal(), HealResult)
    wait_until_quiet(servers)
    try:
        recording = Recording(servers[0].pid, output)
    except FileNotFoundError as exc:
        return {"skipped": str(exc)}
    before = thread_cpu(servers[0].pid)
    try:
        result = run_rate(ctx, servers, youths, rate, seconds, ctx.sizes.step_grace)
    finally:
        problem = recording.stop()
    after = thread_cpu(servers[0].pid)
    if problem:
        return {"error": problem}
    delivered = max(1, result["delivered"])
    cpu_ms = {
        f"{thread}_thread_ms": round((after[thread] - before[thread]) * 1000 / delivered, 2)
        for thread in ("main", "others")
    }
    return {
        "rate": rate,
        "seconds": seconds,
        "messages": result["delivered"],
        "cpu_per_message": cpu_ms,
        "file": str(output),
        **summarise(output),
    }


@dataclass(frozen=True)
class Cores:
    """CPU use while messages were being sent, as a share of one core."""

    servers: list[float]
    loadgens: float
    machine: float
    """Every process on the machine together (database servers, Redis, the kernel's
    work included), out of ``os.cpu_count()``."""


class CpuWindow(threading.Thread):
    """Samples the CPU time of the servers, the load generators and the whole machine
    every 0.1 s from ``start_at`` until stopped; ``cores`` gives their use while messages
    were being sent."""

    def __init__(self, servers: list[ServerProcess], pool: LoadGenerators, start_at: float) -> None:
        super().__init__(daemon=True)
        self.servers, self.pool, self.start_at = servers, pool, start_at
        self.samples: list[tuple[float, list[float], float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.time()))
        while not self.done.is_set():
            cpu = [s.cpu_seconds() for s in self.servers]
            sample = (time.time(), cpu, self.pool.cpu_seconds(), machine_busy_seconds())
            self.samples.append(sample)
            self.done.wait(0.1)

    def cores(self, seconds: float) -> Cores:
        """Use between 0.1 s after the start and ``seconds`` after it (the sending time)."""
        self.done.set()
        self.join()
        begin, end = self.start_at + 0.1, self.start_at + max(seconds, 0.3)
        inside = [s for s in self.samples if begin <= s[0] <= end] or self.samples[-2:]
        if len(inside) < 2:
            return Cores([0.0] * len(self.servers), 0.0, 0.0)
        (t0, server0, loadgen0, machine0), (t1, server1, loadgen1, machine1) = inside[0], inside[-1]
        span = max(t1 - t0, 1e-3)
        servers = [round((b - a) / span, 2) for a, b in zip(server0, server1, strict=True)]
        return Cores(
            servers, round((loadgen1 - loadgen0) / span, 2), round((machine1 - machine0) / span, 2)
        )


def run_rate(
    ctx: Context,
    servers: list[ServerProcess],
    youths: list[int],
    rate: float,
    duration: float,
    grace: float,
    *,
    give_up: bool = False,
    late_ms: float = P99_LIMIT_MS,
) -> dict[str, Any]:
    """Send at ``rate`` for ``duration`` seconds, shared by the load generators in
    proportion to their young people; merged counts, latencies and CPU use. With
    ``give_up``, sending stops once more than 1% of the planned messages are later than
    the p99 limit (the step has failed then, whatever follows)."""
    total = sum(youths) or 1
    start_at = time.time() + 0.2
    window = CpuWindow(servers, ctx.pool, start_at)
    window.start()
    late = round(rate * duration) // 100 + 1 if give_up else None
    answers = ctx.pool.ask(
        [SendAtRate(rate * n / total, duration, start_at, grace, late, late_ms) for n in youths],
        RateResult,
    )
    cores = window.cores(max(a.send_seconds for a in answers))
    merged = merge_rates(answers)
    return {
        "rate": rate,
        "seconds": duration,
        **merged,
        "server_cpu_cores": cores.servers,
        "loadgen_cpu_cores": cores.loadgens,
        "machine_cpu_cores": cores.machine,
    }


def judge(step: dict[str, Any]) -> str | None:
    """Why a throughput step does not count, or None if it does."""
    if step["stopped_early"]:
        return f"over 1% later than {P99_LIMIT_MS:g} ms: stopped early"
    if step["achieved_rate"] < 0.95 * step["rate"]:
        return "load generator could not send at this rate"
    if step["acked"] < step["sent"]:
        return f"{step['sent'] - step['acked']} not acknowledged"
    if step["delivered"] < step["sent"]:
        return f"{step['sent'] - step['delivered']} not delivered"
    if step["errors"]:
        return "error frames: " + ", ".join(f"{k} ×{v}" for k, v in step["errors"].items())
    p99 = step["delivery"]["p99_ms"]
    if p99 is None or p99 > P99_LIMIT_MS:
        return f"p99 {p99} ms > {P99_LIMIT_MS:g} ms"
    return None


def ramp(ctx: Context, servers: list[ServerProcess], youths: list[int]) -> dict[str, Any]:
    """Open-loop steps: from ``ramp_start``, multiply by ``ramp_factor`` until a step
    fails (halve if the first does), then bisect between the best passing and the lowest
    failing rate."""
    sizes = ctx.sizes
    steps: list[dict[str, Any]] = []
    best, failed = 0.0, None

    def step(rate: float) -> bool:
        healed = ctx.pool.all(Heal(), HealResult)
        wait_until_quiet(servers)
        result = run_rate(
            ctx, servers, youths, rate, sizes.step_seconds, sizes.step_grace, give_up=True
        )
        reason = judge(result)
        result["passed"] = reason is None
        result["reason"] = reason
        result["reconnected_before"] = sum(h.youths + h.workers for h in healed)
        steps.append(result)
        verdict = "ok" if reason is None else f"failed: {reason}"
        ctx.say(
            f"    {rate:>8,.0f}/s  p99 {result['delivery']['p99_ms']} ms  "
            f"server CPU {result['server_cpu_cores']}  "
            f"machine {result['machine_cpu_cores']:g}/{os.cpu_count()}  {verdict}"
        )
        return reason is None

    rate = sizes.ramp_start
    while True:
        if not step(rate):
            failed = rate
            break
        best = rate
        if rate >= sizes.ramp_max:
            break
        rate = min(rate * sizes.ramp_factor, sizes.ramp_max)
    if best == 0.0 and failed is not None:
        rate = failed / 2
        while rate >= sizes.ramp_start / 16:
            if step(rate):
                best = rate
                break
            failed, rate = rate, rate / 2
    for _ in range(sizes.bisections):
        if best == 0.0 or failed is None:
            break
        rate = round((best + failed) / 2)
        if step(rate):
            best = rate
        else:
            failed = rate
    limit = next((s for s in steps if s["rate"] == failed), None)
    return {
        "sustained_rate": best,
        "lowest_failed_rate": failed,
        "reached_ramp_max": failed is None,
        "limited_by": limited_by(limit),
        "steps": steps,
    }


def limited_by(step: dict[str, Any] | None) -> str:
    """A guess at what stopped the ramp, from the first failing step's CPU figures."""
    if step is None:
        return "not reached (the ramp's maximum passed)"
    if step["reason"] and step["reason"].startswith("load generator"):
        return "the load generators could not send faster"
    server = step["server_cpu_cores"] or [0.0]
    cores = os.cpu_count() or 1
    machine = step.get("machine_cpu_cores")
    if machine is not None and machine >= 0.9 * cores:
        return f"the machine's CPU ({machine:g} of {cores} cores busy, every process together)"
    if max(server) >= 0.8:
        return "server CPU (its event loop runs on one core)"
    if sum(server) + step["loadgen_cpu_cores"] >= 0.9 * cores:
        return "the machine's CPU (servers and load generators together)"
    return "latency or delivery, with CPU to spare"


def storm(ctx: Context) -> dict[str, Any]:
    pool, sizes = ctx.pool, ctx.sizes
    concurrency = max(1, sizes.populate_concurrency // len(pool))
    prepared = pool.all(StormPrepare(concurrency), StormPrepared)
    start_at = time.time() + 0.5
    results = pool.all(StormGo(start_at, sizes.storm_deadline), StormResult)
    times = sorted(t for r in results for t in r.caught_up_s)
    failures = Failures()
    closes: dict[str, int] = {}
    for r in results:
        failures.merge(r.failures)
        for code, n in r.closes.items():
            closes[code] = closes.get(code, 0) + n
    clients = sum(r.youths for r in results)
    return {
        "clients": clients,
        "not_prepared": sum(p.youths - p.messages for p in prepared),
        "caught_up": len(times),
        "lost": sum(r.lost for r in results),
        "all_caught_up_s": round(times[-1], 3) if times and len(times) == clients else None,
        "p50_s": rounded(percentile(times, 50), 3),
        "p99_s": rounded(percentile(times, 99), 3),
        "retries": sum(r.retries for r in results),
        "retry_reasons": failures.reasons,
        "closed_by_code": closes,
        "deadline_s": sizes.storm_deadline,
    }
