"""Asynchronous, persistent, retried and crash-safe proof jobs.

With ``proof.mode = "async"`` a call returns as soon as its execution is
sealed; its transaction waits in ``<home>/proofjobs.sqlite`` until the proof is
made by a proof executor (a local process pool by default, or a Dask cluster
with ``proof.executor = "dask://HOST:PORT"``), then is finished, signed and
submitted. See docs/proofs.md.

Public API:

* :class:`ProofJobStore` — the durable queue; :class:`ProofJob` — one row.
* :class:`ProofJobRunner` — the background runner a :class:`~ispc_core.coordinator.Manager` starts.
* :func:`metrics` / :func:`prometheus_text` — counters, durations, queue depth.
* typed errors: :class:`WitnessUnsatisfied` (deterministic, never retried),
  :class:`TransientProofError` and its kinds (retried), :class:`CorruptJob`,
  :class:`JobResourceMissing`, :class:`ExecutorUnreachable`, :class:`UnknownJob`,
  :class:`PendingStateWrite`.
"""

from __future__ import annotations

from ispc_core.proofjobs.errors import (
    CorruptJob,
    ExecutorUnreachable,
    JobResourceMissing,
    PendingStateWrite,
    ProofJobError,
    ProofTimeout,
    TransientProofError,
    UnknownJob,
    WitnessUnsatisfied,
    WorkerLost,
)
from ispc_core.proofjobs.telemetry import metrics, prometheus_text, reset as reset_metrics
from ispc_core.proofjobs.model import STATES, ProofJob
from ispc_core.proofjobs.store import ProofJobStore

__all__ = [
    "STATES",
    "CorruptJob",
    "ExecutorUnreachable",
    "JobResourceMissing",
    "PendingStateWrite",
    "ProofJob",
    "ProofJobError",
    "ProofJobRunner",
    "ProofJobStore",
    "ProofTimeout",
    "TransientProofError",
    "UnknownJob",
    "WitnessUnsatisfied",
    "WorkerLost",
    "metrics",
    "prometheus_text",
    "reset_metrics",
]


def __getattr__(name: str):
    if name == "ProofJobRunner":  # imported lazily: it pulls in the coordinator's dependencies
        from ispc_core.proofjobs.runner import ProofJobRunner

        return ProofJobRunner
    raise AttributeError(name)
