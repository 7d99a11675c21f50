"""Proof-job metrics: counters, durations and queue depth, in-process.

Read them with :func:`ispc_core.proofjobs.metrics` (a plain dict) or render
them for Prometheus with :func:`ispc_core.proofjobs.prometheus_text`. Every
node home opened in this process with a job runner contributes; the queue
depth is read from the job stores when asked.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_lock = threading.Lock()
_counters: dict[str, int] = {
    "jobs_enqueued": 0,
    "jobs_done": 0,
    "jobs_failed": 0,
    "attempts_started": 0,
    "retries": 0,
    "timeouts": 0,
    "workers_lost": 0,
}
#: name -> recorded seconds (bounded)
_durations: dict[str, list[float]] = {"prove_seconds": [], "queue_wait_seconds": [], "call_to_proof_seconds": []}
_MAX_SAMPLES = 10_000
_runners: "weakref.WeakSet[Any]" = weakref.WeakSet()


def register_runner(runner) -> None:
    """Count ``runner``'s queue in the depth gauge (held weakly)."""
    _runners.add(runner)


def inc(name: str, by: int = 1) -> None:
    """Add to a counter."""
    with _lock:
        _counters[name] = _counters.get(name, 0) + by


def observe(name: str, seconds: float) -> None:
    """Record one duration sample."""
    with _lock:
        samples = _durations.setdefault(name, [])
        samples.append(float(seconds))
        if len(samples) > _MAX_SAMPLES:
            del samples[: len(samples) - _MAX_SAMPLES]


def _quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def metrics() -> dict[str, Any]:
    """A snapshot: counters, duration summaries (count, sum, p50, p90, p99, max) and queue depth.

    >>> sorted(metrics())
    ['counters', 'durations', 'queue']
    """
    with _lock:
        counters = dict(_counters)
        durations = {
            name: {
                "count": len(v),
                "sum": sum(v),
                "p50": _quantile(v, 0.5),
                "p90": _quantile(v, 0.9),
                "p99": _quantile(v, 0.99),
                "max": max(v) if v else 0.0,
            }
            for name, v in _durations.items()
        }
    queue = {"queued": 0, "running": 0, "inflight": 0}
    for runner in list(_runners):
        try:
            counts = runner.store.counts()
        except Exception:  # noqa: BLE001 - a closed store contributes nothing
            continue
        queue["queued"] += counts["queued"]
        queue["running"] += counts["running"]
        queue["inflight"] += runner.inflight_count()
    return {"counters": counters, "durations": durations, "queue": queue}


def prometheus_text(prefix: str = "ispc_proof") -> str:
    """The metrics in the Prometheus text exposition format (version 0.0.4)."""
    snap = metrics()
    lines: list[str] = []
    for name, value in sorted(snap["counters"].items()):
        lines += [f"# TYPE {prefix}_{name}_total counter", f"{prefix}_{name}_total {value}"]
    for name, value in sorted(snap["queue"].items()):
        lines += [f"# TYPE {prefix}_queue_{name} gauge", f"{prefix}_queue_{name} {value}"]
    for name, s in sorted(snap["durations"].items()):
        metric = f"{prefix}_{name}"
        lines.append(f"# TYPE {metric} summary")
        for q in ("p50", "p90", "p99"):
            lines.append(f'{metric}{{quantile="0.{q[1:]}"}} {s[q]:.6f}')
        lines += [f"{metric}_sum {s['sum']:.6f}", f"{metric}_count {s['count']}"]
    return "\n".join(lines) + "\n"


def reset() -> None:
    """Zero every counter and drop every sample (tests and benchmarks)."""
    with _lock:
        for k in _counters:
            _counters[k] = 0
        for v in _durations.values():
            v.clear()
