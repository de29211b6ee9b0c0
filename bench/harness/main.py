"""``python -m bench [--quick] [--only SCENARIO ...] [--output DIR] [--no-references]
[--postgres URL --redis URL]`` (also ``lykta bench``).

Exit status: 0 when the run completed (whether or not the targets were met), 1 when a
measurement of Lykta could not be made (its server or the harness failed), 2 for bad
arguments or missing packages — one line on stderr, no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

from bench.harness.servers import RATE_LIMIT_SCALE, REFERENCES
from bench.harness.sizes import FULL, QUICK, TINY, Sizes

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "bench" / "results"
SCENARIO_NAMES = ("startup", "idle", "latency", "storm", "throughput", "multinode")
REFERENCE_NEEDS = {"channels_app": ("django", "channels")}
"""Packages a reference needs beyond the benchmark's own."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lykta bench", description="Measure Lykta against reference servers.")
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIO_NAMES,
        metavar="SCENARIO",
        help="run only these: " + ", ".join(SCENARIO_NAMES),
    )
    parser.add_argument("--output", type=Path, help="directory for the JSON report")
    parser.add_argument(
        "--no-references", action="store_true", help="measure Lykta only (no ratios)"
    )
    parser.add_argument(
        "--references",
        nargs="+",
        choices=REFERENCES,
        default=list(REFERENCES),
        metavar="NAME",
        help="the reference servers to measure: " + ", ".join(REFERENCES) + " (default: all)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LYKTA_BENCH_POSTGRES_URL"),
        metavar="URL",
        help="PostgreSQL server for the two-node scenario, e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1/postgres (a fresh database is made and dropped)",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("LYKTA_BENCH_REDIS_URL"),
        metavar="URL",
        help="Redis for the two-node scenario, e.g. redis://127.0.0.1:6379/0",
    )
    parser.add_argument(
        "--reference-package",
        default="bench.reference",
        metavar="PACKAGE",
        help="the package holding the reference servers (default: bench.reference)",
    )
    parser.add_argument("--loadgens", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--set", action="append", default=[], metavar="SIZE=VALUE", help=argparse.SUPPRESS
    )
    parser.add_argument("--keep", action="store_true", help="keep the servers' data and logs")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the throughput ramp, profile Lykta's server with py-spy at the sustained "
        "rate (written next to the report)",
    )
    return parser


def missing_packages(references: list[str], package: str, multinode: bool) -> str | None:
    """The first package the run needs that cannot be imported, as a sentence."""
    needed = ["websockets", "uvloop", "orjson"]
    if multinode:
        needed += ["asyncpg", "redis"]
    for name in needed:
        if importlib.util.find_spec(name) is None:
            return f"the Python package {name!r} is missing (pip install -e '.[test]')"
    for reference in references:
        try:
            found = importlib.util.find_spec(f"{package}.{reference}")
        except ModuleNotFoundError:
            found = None
        if found is None:
            return f"the reference server {package}.{reference} is missing (or use --no-references)"
        extra = ("channels_redis",) if multinode and reference == "channels_app" else ()
        for name in (*REFERENCE_NEEDS.get(reference, ()), *extra):
            if importlib.util.find_spec(name) is None:
                return (
                    f"the reference {reference} needs the Python package {name!r} "
                    "(pip install -e '.[bench]', or use --no-references)"
                )
    return None


def override(sizes: Sizes, assignments: list[str]) -> Sizes:
    """Sizes with ``NAME=VALUE`` changes (for trying things out; the mode becomes
    "custom", so such a run is never mistaken for a quick or full one)."""
    if not assignments:
        return sizes
    changes: dict[str, Any] = {"mode": "custom"}
    known = {f.name: f.type for f in dataclasses.fields(Sizes)}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        if name not in known or name == "mode":
            raise ValueError(f"no size called {name!r}")
        try:
            changes[name] = int(value) if known[name] == "int" else float(value)
        except ValueError:
            raise ValueError(f"{name} needs a number, not {value!r}") from None
    return dataclasses.replace(sizes, **changes)


def source_state() -> dict[str, Any]:
    """The commit measured, and whether Lykta's source differs from it."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments
                ["git", *args],  # noqa: S607 - git from PATH
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain", "--", "src", "pyproject.toml")
    return {"commit": commit or None, "source_modified": bool(changed) if commit else None}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    try:
        sizes = override(sizes, args.set)
    except ValueError as exc:
        print(f"lykta bench: error: --set: {exc}", file=sys.stderr)
        return 2
    wanted = set(args.only or SCENARIO_NAMES)
    has_cluster = bool(args.postgres and args.redis)
    if args.only and "multinode" in wanted and not has_cluster:
        print("lykta bench: error: multinode needs --postgres URL and --redis URL", file=sys.stderr)
        return 2
    references = [] if args.no_references else list(dict.fromkeys(args.references))
    multinode = "multinode" in wanted and has_cluster
    problem = missing_packages(references, args.reference_package, multinode)
    if problem:
        print(f"lykta bench: error: {problem}", file=sys.stderr)
        return 2
    if args.loadgens < 0:
        print("lykta bench: error: --loadgens must be positive", file=sys.stderr)
        return 2
    try:
        return run(args, sizes, wanted, references, multinode)
    except KeyboardInterrupt:
        return 130


def run(
    args: argparse.Namespace,
    sizes: Sizes,
    wanted: set[str],
    references: list[str],
    multinode: bool,
) -> int:
    from bench.harness import report as reporting
    from bench.harness import targets
    from bench.harness.pool import LoadGenerators, LoadGenFailed, default_count
    from bench.harness.scenarios import Context, run_target
    from bench.harness.servers import ServerFailed

    began = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="lykta-bench-"))
    pool = LoadGenerators(args.loadgens or default_count())

    def say(line: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f} s] {line}", flush=True)

    output = (args.output or DEFAULT_OUTPUT).resolve()
    stamp = f"{dt.datetime.now().astimezone().date().isoformat()}-{sizes.mode}"
    if args.only:
        stamp += "-" + "-".join(s for s in SCENARIO_NAMES if s in wanted)
    profile_to = output / f"{stamp}-profile.txt" if args.profile else None
    ctx = Context(REPO, work, sizes, pool, say, profile_to)
    results: dict[str, dict[str, Any]] = {}
    single = wanted - {"multinode"}
    failed = False

    def record(name: str, measured: dict[str, Any]) -> None:
        for scenario, value in measured.items():
            results.setdefault(scenario, {})[name] = value

    say(f"Lykta benchmark, {sizes.mode} mode; {len(pool)} load-generator processes")
    try:
        if single:
            say("lykta (one node, SQLite)")
            lykta = targets.lykta(REPO, work, sizes)
            record("lykta", run_target(ctx, lykta, single))
            for name in references:
                say(f"reference {name}")
                target = targets.reference(REPO, work, sizes, args.reference_package, name)
                record(name, run_target(ctx, target, single - {"storm"}))
        if multinode:
            say("lykta (two nodes, PostgreSQL + Redis)")
            cluster = targets.lykta_two_nodes(REPO, work, sizes, args.postgres, args.redis)
            try:
                two = run_target(ctx, cluster, {"throughput"})
            finally:
                cluster.close()
            results.setdefault("multinode", {})["lykta"] = two.get("throughput")
            if "profile" in two:
                results.setdefault("profile", {})["lykta_two_nodes"] = two["profile"]
            if "channels_app" in references:
                say("reference channels_app (two processes, Redis)")
                target = targets.reference(
                    REPO, work, sizes, args.reference_package, "channels_app", redis_url=args.redis
                )
                measured = run_target(ctx, target, {"throughput"})
                results["multinode"]["channels_app"] = measured.get("throughput")
        elif "multinode" in wanted:
            reason = "give --postgres URL and --redis URL (or LYKTA_BENCH_POSTGRES_URL/_REDIS_URL)"
            results["multinode"] = {"lykta": {"skipped": reason}}
    except (LoadGenFailed, ServerFailed) as exc:
        say(f"lykta bench: the run stopped: {exc}")
        failed = True
    finally:
        pool.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"servers' data and logs kept in {work}")
    failed = failed or any(
        isinstance(r.get("lykta"), dict) and "error" in r["lykta"] for r in results.values()
    )
    full_size = sizes.mode == "full"
    target_list, ratios, notes = reporting.evaluate(results, full_size)
    report: dict[str, Any] = {
        "meta": {
            "mode": sizes.mode,
            "name": stamp,
            "date": dt.datetime.now().astimezone().date().isoformat(),
            "started_at": started_at,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_generators": len(pool),
            "load_average": {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
                "note": "1, 5 and 15 minutes; above 0 other processes shared the cores",
            },
            **source_state(),
            "duration_s": round(time.perf_counter() - began, 1),
            "sizes": sizes.describe(),
            "method": (
                "each server a separate process with production settings; load from separate "
                "processes over real WebSockets on 127.0.0.1; Lykta on SQLite with "
                "synchronous=full (two nodes: PostgreSQL + Redis); "
                f"LYKTA_RATE_LIMIT_SCALE={RATE_LIMIT_SCALE} (all load comes from one machine)"
            ),
            "rate_limit_scale": float(RATE_LIMIT_SCALE),
            "complete": not failed,
        },
        "targets": target_list,
        "ratios": ratios,
        "notes": notes,
        "results": results,
    }
    for profile in results.get("profile", {}).values():
        if isinstance(profile, dict) and "file" in profile:
            profile["file"] = reporting.shown(Path(profile["file"]), REPO)
    with contextlib.suppress(OSError):
        reporting.write(report, output, REPO)
    for line in reporting.lines(report):
        print(line)
    print(json.dumps(report, ensure_ascii=False, separators=(",", ":")), flush=True)
    return 1 if failed else 0
