"""Percentiles and the summaries the report prints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bench.harness.plan import RateResult


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when empty)."""
    if not values:
        return None
    rank = max(1, math.ceil(p * len(values) / 100 - 1e-9))  # 99.9% of 1000 is 999, not 1000
    return values[min(rank, len(values)) - 1]


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def latency_summary(samples: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "samples": len(ordered),
        "p50_ms": rounded(percentile(ordered, 50)),
        "p99_ms": rounded(percentile(ordered, 99)),
        "p99_9_ms": rounded(percentile(ordered, 99.9)),
        "max_ms": rounded(ordered[-1] if ordered else None),
    }


def merge_rates(results: Sequence[RateResult]) -> dict[str, Any]:
    """One open-loop run across the load generators: counts, latencies, lateness."""
    sent = sum(r.sent for r in results)
    errors: dict[str, int] = {}
    closes: dict[str, int] = {}
    for r in results:
        for code, n in r.errors.items():
            errors[code] = errors.get(code, 0) + n
        for code, n in r.closes.items():
            closes[code] = closes.get(code, 0) + n
    send_seconds = max((r.send_seconds for r in results), default=0.0)
    lag = sorted(x for r in results for x in r.lag_ms)
    return {
        "sent": sent,
        "acked": sum(r.acked for r in results),
        "delivered": sum(r.delivered for r in results),
        "achieved_rate": round(sent / send_seconds, 1) if send_seconds else 0.0,
        # Messages never delivered count with their age at the end: a lower bound.
        "delivery": latency_summary([x for r in results for x in (*r.delivery_ms, *r.censored_ms)]),
        "undelivered_counted_at_age": sum(len(r.censored_ms) for r in results),
        "ack": latency_summary([x for r in results for x in r.ack_ms]),
        "send_lag_p99_ms": rounded(percentile(lag, 99)),
        "errors": errors,
        "closed_connections": closes,
        "send_failures": sum(r.send_failures for r in results),
        "stopped_early": any(r.gave_up for r in results),
    }
