"""The worker side of a proof job: what runs in a process pool or on a Dask worker.

A :class:`ProofTask` carries no key material. It names the node home and the
key-store directory (plus the verifying-key hash it expects, when one is known
from earlier proofs); the worker builds the prover once per (home, scheme,
circuit) — the prover loads its proving key from the key store and keeps it —
and reuses it for every later job. Workers that cannot read the key store are
not supported: share the node home's ``zkkeys/`` with them (same path).

Failures are normalised into picklable typed errors: an unsatisfied witness
becomes :class:`~ispc_core.proofjobs.errors.WitnessUnsatisfied` (never retried);
a damaged key file (:class:`~ispc_core.errors.CorruptData`, e.g. a truncated
``proving_key.zkey``) passes through as it is and fails the job at once.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import attrs

from ispc_core.errors import CorruptData
from ispc_core.proofjobs import codec
from ispc_core.proofjobs.errors import JobResourceMissing, ProofJobError, WitnessUnsatisfied


@attrs.frozen
class ProofTask:
    """One attempt of one proof job, as sent to an executor."""

    job_id: str
    attempt: int
    home: str
    keystore_dir: str
    scheme: str
    curve: str
    circuit: str
    sealed: bytes  # codec.encode_sealed(...)
    expected_vk_hash: bytes | None = None
    #: plugin objects registered directly on the node (tests, embedders); must be picklable
    plugin_objects: tuple[Any, ...] = ()
    #: configuration overrides the node was opened with
    overrides: tuple[tuple[str, Any], ...] = ()
    load_entry_points: bool = True
    #: the deployed resource bytes, for a circuit derived from them (``CircuitSpec.uses_code``)
    code: bytes | None = None


_cache: dict[tuple, tuple[Any, Any]] = {}
_cache_lock = threading.Lock()
#: how many provers this worker process has built (tests check the cache with it)
stats = {"provers_built": 0, "tasks": 0}


def _prover_and_circuit(task: ProofTask):
    key = (task.home, task.keystore_dir, task.scheme, task.circuit, tuple(type(p).__qualname__ for p in task.plugin_objects))
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        from pathlib import Path

        from ispc_core.config import load_config
        from ispc_core.errors import NotProvided
        from ispc_core.plugins import PluginManager
        from ispc_core.specs import ProverServices

        config = load_config(task.home, dict(task.overrides))
        pm = PluginManager(
            extra_plugins=task.plugin_objects,
            load_entry_points=task.load_entry_points,
            load=config.plugins.load or None,
            disable=config.plugins.disable or None,
        )
        try:
            spec = pm.get("ispc_provers", task.scheme)
            circuit = pm.get("ispc_circuits", task.circuit)
        except NotProvided as exc:
            raise JobResourceMissing(f"on the worker: {exc}") from None
        keystore = Path(task.keystore_dir)
        if not keystore.is_dir():
            raise JobResourceMissing(f"the worker cannot read the key store {keystore} (share the node home's zkkeys/)")
        prover = spec.factory(ProverServices(home=Path(task.home), config=config, keystore_dir=keystore))
        stats["provers_built"] += 1
        _cache[key] = (prover, circuit)
        return prover, circuit


def _is_unsatisfied(exc: BaseException) -> bool:
    try:
        from ispc_core.zk.errors import ConstraintUnsatisfied, WitnessError
    except ImportError:  # pragma: no cover
        return isinstance(exc, WitnessUnsatisfied)
    return isinstance(exc, (WitnessUnsatisfied, ConstraintUnsatisfied, WitnessError))


def run_proof_task(task: ProofTask):
    """Prove one job: build the circuit instance from the sealed execution and prove it.

    Returns ``(artifact, prove_ms)``. Raises :class:`WitnessUnsatisfied` when
    the witness does not satisfy the circuit, :class:`JobResourceMissing` when
    the prover, circuit or key store is missing here, and a
    :class:`ProofJobError` (with the original type and message) for anything else.
    """
    stats["tasks"] += 1
    prover, circuit = _prover_and_circuit(task)
    sealed = codec.decode_sealed(task.sealed, what=f"proof job {task.job_id}")
    t0 = time.perf_counter()
    try:
        extra = {"code": task.code} if circuit.uses_code else {}
        instance = circuit.instance(sealed, task.curve, **extra)
        artifact = prover.prove(instance, task.curve)
    except (ProofJobError, CorruptData):
        raise  # a damaged key file: typed, deterministic (retrying cannot mend it)
    except Exception as exc:  # noqa: BLE001 - normalised into picklable typed errors
        if _is_unsatisfied(exc):
            raise WitnessUnsatisfied(f"the witness does not satisfy circuit {task.circuit!r}: {exc}") from None
        raise ProofJobError(f"prover {task.scheme!r} failed: {type(exc).__name__}: {exc}") from None
    prove_ms = int((time.perf_counter() - t0) * 1000)
    if task.expected_vk_hash and artifact.verification_key_hash != task.expected_vk_hash:
        raise JobResourceMissing(
            f"the worker proved with verifying key {artifact.verification_key_hash.hex()[:16]}…, expected "
            f"{task.expected_vk_hash.hex()[:16]}… (its key store differs from the node's)"
        )
    return artifact, prove_ms
