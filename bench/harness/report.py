"""The report: human-readable lines, the targets (met / not met), the ratios to the
references, and one JSON object with all of it (printed last, and written to a file)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness.servers import REFERENCES

Results = dict[str, dict[str, Any]]
"""scenario -> target name -> what was measured there."""


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    scenario: str
    unit: str
    read: Callable[[dict[str, Any]], float | None]
    target: float | None = None
    higher_is_better: bool = False
    needs_full_size: bool = False
    """Its target assumes the full mode's sizes; quick runs print no verdict for it."""


def _get(*path: str) -> Callable[[dict[str, Any]], float | None]:
    def read(result: dict[str, Any]) -> float | None:
        value: Any = result
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return float(value) if isinstance(value, int | float) else None

    return read


def _storm_seconds(result: dict[str, Any]) -> float | None:
    if result.get("lost") or result.get("not_prepared"):
        return None
    value = result.get("all_caught_up_s")
    return float(value) if isinstance(value, int | float) else None


FIGURES = (
    Figure("startup_s", "start to ready", "startup", "s", _get("median_s"), 1.5),
    Figure(
        "idle_held",
        "idle connections held",
        "idle",
        "",
        _get("held"),
        15_000,
        higher_is_better=True,
        needs_full_size=True,
    ),
    Figure(
        "idle_kib_per_connection",
        "memory per idle connection",
        "idle",
        "KiB",
        _get("kib_per_connection"),
        32,
    ),
    Figure(
        "latency_p50_ms",
        "latency p50",
        "latency",
        "ms",
        _get("delivery", "p50_ms"),
        5,
        needs_full_size=True,
    ),
    Figure(
        "latency_p99_ms",
        "latency p99",
        "latency",
        "ms",
        _get("delivery", "p99_ms"),
        30,
        needs_full_size=True,
    ),
    Figure("latency_p99_9_ms", "latency p99.9", "latency", "ms", _get("delivery", "p99_9_ms")),
    Figure(
        "throughput_per_s",
        "sustained messages/s (SQLite)",
        "throughput",
        "/s",
        _get("sustained_rate"),
        10_000,
        higher_is_better=True,
    ),
    Figure(
        "storm_all_caught_up_s",
        "reconnect storm: time until all caught up",
        "storm",
        "s",
        _storm_seconds,
        30,
        needs_full_size=True,
    ),
    Figure(
        "multinode_per_s",
        "sustained messages/s, 2 nodes (PostgreSQL + Redis)",
        "multinode",
        "/s",
        _get("sustained_rate"),
        3_000,
        higher_is_better=True,
    ),
)

RELAY_FACTOR = 2.5
"""Lykta's sustained rate should be at least 1/2.5 of the naive SQLite relay's."""
CHANNELS_FACTOR = 10.0
"""... and at least ten times the Django Channels chat's."""


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit in ("", "/s") or abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif unit == "s":
        text = f"{value:.2f}"
    else:
        text = f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return f"{text} {unit}".rstrip() if unit != "/s" else f"{text}/s"


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "no verdict"}[met]


def evaluate(
    results: Results, full_size: bool
) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """The targets, the ratios (Lykta's figure divided by each reference's), and notes on
    figures that are only bounds."""
    targets: list[dict[str, Any]] = []
    ratios: dict[str, Any] = {}
    notes: list[str] = []
    for figure in FIGURES:
        scenario = results.get(figure.scenario, {})
        lykta = scenario.get("lykta")
        value = figure.read(lykta) if isinstance(lykta, dict) and "error" not in lykta else None
        if figure.target is not None and figure.scenario in results:
            met: bool | None = None
            if value is not None and (full_size or not figure.needs_full_size):
                met = value >= figure.target if figure.higher_is_better else value <= figure.target
            if figure.key == "storm_all_caught_up_s" and value is None and lykta:
                met = False if full_size or not figure.needs_full_size else None
            overloaded = isinstance(lykta, dict) and bool(lykta.get("overloaded"))
            if overloaded and met is not None:
                met = False  # the rate was not sustained: the percentiles are lower bounds
            sign = "≥ " if figure.higher_is_better else "≤ "
            entry = {
                "figure": figure.key,
                "label": figure.label,
                "value": value,
                "target": sign + fmt(figure.target, figure.unit),
                "met": met,
            }
            if overloaded:
                entry["note"] = "overloaded: the rate was not sustained; the value is a lower bound"
            targets.append(entry)
        row: dict[str, float | None] = {}
        for name, measured in scenario.items():
            if name == "lykta" or not isinstance(measured, dict) or "error" in measured:
                continue
            theirs, bound = figure.read(measured), False
            if figure.unit == "/s" and not theirs:
                theirs, bound = _get("lowest_failed_rate")(measured), True
            row[name] = round(value / theirs, 2) if value is not None and theirs else None
            if bound and row[name] is not None:
                notes.append(
                    f"{figure.key} vs {name}: {name} sustained none of the rates tried, so the "
                    f"ratio {row[name]:g} (to its lowest failing rate) is a lower bound"
                )
        if row:
            ratios[figure.key] = row
    throughput = results.get("throughput", {})
    ours = _get("sustained_rate")(throughput.get("lykta", {}))
    relay = _get("sustained_rate")(throughput.get("sqlite_relay", {}))
    channels = _get("sustained_rate")(throughput.get("channels_app", {}))
    if "sqlite_relay" in throughput:
        targets.append(
            {
                "figure": "throughput_vs_sqlite_relay",
                "label": f"within {RELAY_FACTOR:g}× of the naive SQLite relay",
                "value": round(relay / ours, 2) if ours and relay else None,
                "target": f"relay ÷ Lykta ≤ {RELAY_FACTOR:g}",
                "met": (relay / ours <= RELAY_FACTOR) if ours and relay else None,
            }
        )
    if "channels_app" in throughput:
        ratio = round(ours / channels, 2) if ours and channels else None
        versus: dict[str, Any] = {
            "figure": "throughput_vs_channels_app",
            "label": f"at least {CHANNELS_FACTOR:g}× the Django Channels chat",
            "value": ratio,
            "target": f"Lykta ÷ Channels ≥ {CHANNELS_FACTOR:g}",
            "met": ratio >= CHANNELS_FACTOR if ratio is not None else None,
        }
        failed = _get("lowest_failed_rate")(throughput.get("channels_app", {}))
        if ours and not channels and failed:
            # Channels passed no step: its rate is below its lowest failing one.
            versus["value"] = round(ours / failed, 2)
            versus["met"] = True if ours / failed >= CHANNELS_FACTOR else None
            versus["note"] = "a lower bound: the Channels chat passed none of the rates tried"
        targets.append(versus)
    return targets, ratios, notes


def lines(report: dict[str, Any]) -> list[str]:
    """The human-readable summary."""
    meta = report["meta"]
    out = [
        "",
        f"Lykta benchmark ({meta['mode']}), {meta['date']}: {meta['cores']} cores, "
        f"Python {meta['python']}, {meta['platform']}",
        f"  {meta['method']}",
    ]
    if meta["mode"] != "full":
        out.append("  Smaller sizes than the targets assume: verdicts on those are left out.")
    load = meta.get("load_average")
    if load:
        out.append(
            f"  Load average before {load['before'][0]:g}, after {load['after'][0]:g} "
            f"(15 min: {load['after'][2]:g}); other work on the machine skews the figures."
        )
    results: Results = report["results"]
    ratios: dict[str, Any] = report["ratios"]
    targets = {t["figure"]: t for t in report["targets"]}
    out.append("")
    for figure in FIGURES:
        if figure.scenario not in results:
            continue
        lykta = results[figure.scenario].get("lykta", {})
        if isinstance(lykta, dict) and "error" in lykta:
            out.append(f"{figure.label:<48} error: {str(lykta['error']).splitlines()[0]}")
            continue
        if isinstance(lykta, dict) and "skipped" in lykta:
            out.append(f"{figure.label:<48} skipped: {lykta['skipped']}")
            continue
        value = figure.read(lykta) if isinstance(lykta, dict) else None
        shown = fmt(value, figure.unit)
        if isinstance(lykta, dict) and lykta.get("overloaded") and value is not None:
            shown = "≥ " + shown  # the server could not keep up: a lower bound
        text = f"{figure.label:<48} {shown:>12}"
        target = targets.get(figure.key)
        if target:
            text += f"   target {target['target']}: {verdict(target['met'])}"
        row = ratios.get(figure.key, {})
        if row:
            text += "   ×ref: " + ", ".join(
                f"{name} {'n/a' if r is None else f'{r:g}'}" for name, r in row.items()
            )
        out.append(text)
    for key in ("throughput_vs_sqlite_relay", "throughput_vs_channels_app"):
        if key in targets:
            t = targets[key]
            shown = "n/a" if t["value"] is None else f"{t['value']:g}"
            out.append(f"{t['label']:<48} {shown:>12}   {t['target']}: {verdict(t['met'])}")
    for name, idle in results.get("idle", {}).items():
        if isinstance(idle, dict) and idle.get("connected", 0) < idle.get("requested", 0):
            out.append(
                f"  idle: {name} opened {idle['connected']:,} of {idle['requested']:,} "
                f"connections within its time limit of {idle['time_limit_s']:g} s"
            )
    storm = results.get("storm", {}).get("lykta")
    if isinstance(storm, dict) and "clients" in storm:
        out.append(
            f"  storm: {storm['caught_up']:,} of {storm['clients']:,} caught up "
            f"(p50 {storm['p50_s']} s, p99 {storm['p99_s']} s), {storm['lost']:,} not within "
            f"{storm['deadline_s']:g} s, {storm['retries']:,} reconnects"
        )
    latency = results.get("latency", {}).get("lykta")
    if isinstance(latency, dict) and latency.get("overloaded"):
        out.append(
            f"  latency: Lykta could not keep up with {latency['rate']:,.0f} messages/s; "
            "sending stopped once over 1% were later than 1 s"
        )
    below = latency.get("below_capacity") if isinstance(latency, dict) else None
    if isinstance(below, dict):
        d = below["delivery"]
        out.append(
            f"{'latency at half the sustained rate':<48} {below['rate']:>10,.0f}/s   "
            f"p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms, p99.9 {d['p99_9_ms']} ms "
            f"({d['samples']:,} messages)"
        )
    for note in report.get("notes", []):
        out.append(f"  note: {note}")
    for t in report["targets"]:
        if t.get("note") and t["figure"] not in ("latency_p50_ms", "latency_p99_ms"):
            out.append(f"  note on {t['figure']}: {t['note']}")
    out.append("")
    out.append("×ref: Lykta's figure divided by the reference's (time and memory: lower is better;")
    out.append("held connections and messages/s: higher is better).")
    for name in REFERENCES:
        problems = [
            f"{scenario}: {str(r[name]['error']).splitlines()[0]}"
            for scenario, r in results.items()
            if isinstance(r.get(name), dict) and "error" in r[name]
        ]
        if problems:
            out.append(f"{name} failed — " + "; ".join(problems))
    profiles = results.get("profile", {})
    for name, whose in (("lykta", "Lykta's server"), ("lykta_two_nodes", "Lykta's node 1 of two")):
        profile = profiles.get(name)
        if isinstance(profile, dict) and profile.get("self"):
            out.extend(profile_lines(profile, whose))
    out.append(f"Full report: {report['meta'].get('written_to', '(not written)')}")
    return out


def profile_lines(profile: dict[str, Any], whose: str) -> list[str]:
    """A profile's summary: CPU per message, then where the samples were."""
    out = [
        "",
        f"Where {whose} spent its time at {profile['rate']:,.0f} messages/s "
        f"(py-spy, {profile['samples']:,} samples):",
    ]
    cpu = profile.get("cpu_per_message", {})
    if cpu:
        out.append(
            f"  CPU per message: {cpu.get('main_thread_ms')} ms in the event loop's thread, "
            f"{cpu.get('others_thread_ms')} ms in other threads (database drivers)"
        )
    for row in profile["self"][:10]:
        out.append(f"  {row['percent']:5.1f}%  {row['function']}")
    out.append("  inside Lykta's own functions (inclusive):")
    for row in profile["lykta_inclusive"][:12]:
        out.append(f"  {row['percent']:5.1f}%  {row['function']}")
    return out


def shown(path: Path, root: Path) -> str:
    """A path as the report names it: relative to the checkout when inside it."""
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def write(report: dict[str, Any], directory: Path, root: Path) -> Path:
    """``<name>.json`` in ``directory`` (``<date>-<mode>``, and the scenarios when only
    some ran), written atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report['meta']['name']}.json"
    report["meta"]["written_to"] = shown(path, root)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    os.replace(temporary, path)
    return path
