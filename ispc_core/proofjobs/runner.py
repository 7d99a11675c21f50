"""The proof-job runner: one background thread per node that proves, finishes and submits.

:class:`ProofJobRunner` takes due jobs from the :class:`ProofJobStore`, sends
each attempt (a :class:`~ispc_core.proofjobs.task.ProofTask`) to the configured
proof executor, and when the proof comes back attaches it
(:meth:`CoordinatorCore.finish <ispc_core.coordinator.CoordinatorCore.finish>`),
records the transaction id, and submits
(:meth:`CoordinatorCore.submit <ispc_core.coordinator.CoordinatorCore.submit>`).

Retry policy: transient failures (a lost worker, a timeout, an unreachable
executor, an unexpected prover exception) are retried with exponential
backoff up to ``max_attempts``; deterministic ones (an unsatisfied witness, a
corrupted row, a vanished key or plugin, a rejected transaction) fail the job
at once. A failed job's transaction is discarded and its outpoints released;
the ``ispc_proof_finished`` hook fires for every job that ends.

Workers of a local process pool die with the node process, even when it is
killed with SIGKILL (:mod:`ispc_core.proofjobs.workerguard`: ``PR_SET_PDEATHSIG``
on Linux plus a parent watchdog thread in every worker).

Settings (``[plugin.proofjobs]`` in ``ispc.toml``): ``max_attempts`` (3),
``timeout_s`` (600), ``backoff_s`` (0.5, doubled per attempt),
``backoff_max_s`` (30), ``max_inflight`` (2 × the executor's workers, at least 2).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import uuid
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ispc_core.errors import IspcError, NotProvided, TransactionRejected, UnknownKey
from ispc_core.node import txcodec
from ispc_core.proofjobs import telemetry as _metrics
from ispc_core.proofjobs.errors import (
    DETERMINISTIC,
    CorruptJob,
    ExecutorUnreachable,
    JobResourceMissing,
    PendingStateWrite,
    ProofJobError,
    ProofTimeout,
    TransientProofError,
    UnknownJob,
    WorkerLost,
)
from ispc_core.proofjobs.store import ProofJobStore
from ispc_core.proofjobs.task import ProofTask, run_proof_task
from ispc_core.proofjobs.workerguard import guard_pool

log = logging.getLogger("ispc.proofjobs")

DEFAULTS = {"max_attempts": 3, "timeout_s": 600.0, "backoff_s": 0.5, "backoff_max_s": 30.0, "max_inflight": 0}


def parse_executor(value: str, *, async_mode: bool = True) -> tuple[str, str]:
    """``"name"`` or ``"name://address"`` → ``(name, address)``.

    ``"processes"`` (the default) is the local process pool (``processes://N``
    sets N workers); ``"inline"`` (or ``"inline://thread"``) proves in a
    background thread of the node process; ``"dask://HOST:PORT"`` names a Dask
    scheduler.

    >>> parse_executor("dask://127.0.0.1:8786")
    ('dask', '127.0.0.1:8786')
    >>> parse_executor("inline")
    ('inline', 'thread')
    """
    name, sep, address = value.partition("://")
    name = name.strip() or "processes"
    if name == "inline":
        return "inline", "thread"
    return name, address.strip()


class _ThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """``inline://thread``: proofs run in background threads of the node process."""


class ProofJobRunner:
    """Runs the proof jobs of one node home (see the module docstring)."""

    def __init__(self, core, *, plugin_objects=(), overrides=None, load_entry_points: bool = True):
        self.core = core
        self.config = core.config
        self.store = ProofJobStore(core.config.home)
        settings = {**DEFAULTS, **dict(core.config.plugin_settings("proofjobs"))}
        self.max_attempts = max(1, int(settings["max_attempts"]))
        self.timeout_s = float(settings["timeout_s"])
        self.backoff_s = float(settings["backoff_s"])
        self.backoff_max_s = float(settings["backoff_max_s"])
        self._max_inflight_setting = int(settings["max_inflight"])
        self.executor_name, self.executor_address = parse_executor(core.config.proof.executor)
        self.plugin_objects = tuple(plugin_objects)
        self.overrides = tuple(sorted((overrides or {}).items()))
        self.load_entry_points = load_entry_points
        self._executor = None
        self._executor_error: Exception | None = None
        self._inflight: dict[str, tuple[Any, float, float]] = {}  # job -> (future, started, deadline)
        self._vk_hashes: dict[tuple[str, str, str], bytes] = {}
        self._reserved_cache: set[str] = self.store.reserved_outpoints()
        self._wake = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._finished = threading.Condition()
        _metrics.register_runner(self)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "ProofJobRunner":
        """Requeue jobs a dead process left running, then start the background thread."""
        if self._thread is None:
            resumed = self.store.recover()
            if resumed:
                log.info("resuming %d interrupted proof job(s): %s", len(resumed), ", ".join(resumed))
            self._thread = threading.Thread(target=self._loop, name="ispc-proofjobs", daemon=True)
            self._thread.start()
        return self

    def stop(self, *, wait_s: float = 0.0) -> None:
        """Stop the thread (unfinished jobs stay queued and resume on the next start) and close."""
        if wait_s:
            self.wait_all(timeout=wait_s)
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for job_id in list(self._inflight):
            try:
                self.store.release(job_id)
            except Exception:  # noqa: BLE001
                log.exception("could not release proof job %s", job_id)
        self._inflight.clear()
        if self._executor is not None:
            try:
                if isinstance(self._executor, concurrent.futures.ProcessPoolExecutor):
                    self._kill_pool(self._executor)
                self._executor.shutdown(wait=False, cancel_futures=True)
            except Exception:  # noqa: BLE001
                pass
        self.store.close()

    def inflight_count(self) -> int:
        """Attempts currently handed to the executor."""
        return len(self._inflight)

    # -- enqueue (called by the coordinator in async mode) --------------------------------
    def reserved_outpoints(self) -> set[str]:
        """Outpoints that unfinished jobs' transactions spend (new calls must not select them)."""
        return self._reserved_cache

    def pending_count(self) -> int:
        """Number of unfinished jobs."""
        return self.store.unfinished()

    def enqueue(self, sealed, request, caller_key: str) -> str:
        """Persist a job for a sealed execution and wake the runner; returns the job id.

        Raises :class:`PendingStateWrite` if a state it writes has an earlier
        write still waiting for its proof, and :class:`NotProvided` if no
        plugin provides the configured executor (the job could never run).
        Nothing is written in either case.
        """
        self.check_executor()
        for out in sealed.transaction.outputs:
            if out.HasField("state"):
                other = self.store.pending_state_writer(out.state.state_id)
                if other is not None:
                    raise PendingStateWrite(
                        f"state {out.state.state_id.hex()[:16]}… has a write whose proof is pending in job {other}; "
                        f"wait for it (ispc proofs wait {other}) and call again"
                    )
        job_id = uuid.uuid4().hex
        self.store.add(
            job_id=job_id, sealed=sealed, request=request, caller_key=caller_key,
            scheme=self.config.proof.scheme, curve=self.config.proof.curve, circuit=self.core.circuit_for(sealed.kind)[0],
            max_attempts=self.max_attempts, timeout_s=self.timeout_s,
        )
        self._reserved_cache = self._reserved_cache | set(sealed.spent)
        _metrics.inc("jobs_enqueued")
        with self._wake:
            self._wake.notify_all()
        return job_id

    # -- waiting ---------------------------------------------------------------------------
    def wait(self, job_id: str, timeout: float | None = None, on_progress=None):
        """Block until job ``job_id`` is done or failed; return its :class:`ProofJob`.

        ``on_progress(job)`` is called whenever the job's state or attempt
        changes. Raises :class:`TimeoutError` if ``timeout`` passes first.
        """
        end = None if timeout is None else time.monotonic() + timeout
        last = None
        while True:
            job = self.store.get(job_id)
            key = (job.state, job.attempts, job.cause)
            if on_progress is not None and key != last:
                on_progress(job)
            last = key
            if job.finished:
                return job
            remaining = None if end is None else end - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"proof job {job_id} is still {job.state} after {timeout} s")
            with self._finished:
                self._finished.wait(timeout=0.05 if remaining is None else min(0.05, remaining))

    def wait_all(self, timeout: float | None = None) -> None:
        """Block until no job is queued or running (``TimeoutError`` after ``timeout``)."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.store.unfinished():
            if end is not None and time.monotonic() > end:
                raise TimeoutError(f"{self.store.unfinished()} proof job(s) unfinished after {timeout} s")
            with self._finished:
                self._finished.wait(timeout=0.05)

    # -- executor --------------------------------------------------------------------------
    def check_executor(self) -> None:
        """Raise :class:`NotProvided` unless some plugin provides ``proof.executor`` (no executor is started)."""
        if self.executor_name == "inline" and self.executor_address == "thread":
            return
        try:
            self.core.plugins.get("ispc_proof_executors", self.executor_name)
        except NotProvided as exc:
            raise NotProvided(f"proof.executor = {self.config.proof.executor!r}: {exc}; no proof job was queued") from None

    def _get_executor(self):
        if self._executor is not None:
            return self._executor
        if self.executor_name == "inline" and self.executor_address == "thread":
            self._executor = _ThreadExecutor(max_workers=2, thread_name_prefix="ispc-prove")
            return self._executor
        try:
            spec = self.core.plugins.get("ispc_proof_executors", self.executor_name)
        except NotProvided as exc:
            raise JobResourceMissing(f"proof.executor = {self.config.proof.executor!r}: {exc}") from None
        try:
            self._executor = spec.factory(self.executor_address, self.config)
        except ExecutorUnreachable:
            raise
        except IspcError:
            raise
        except Exception as exc:  # noqa: BLE001
            where = f"{self.executor_name}://{self.executor_address}" if self.executor_address else self.executor_name
            raise ExecutorUnreachable(f"proof executor {where} could not be started or reached: {type(exc).__name__}: {exc}") from None
        guard_pool(self._executor)  # local workers die with the node, even when it is SIGKILLed
        return self._executor

    def _workers(self) -> int:
        ex = self._executor
        n = getattr(ex, "_max_workers", None) or getattr(ex, "workers", None)
        try:
            return max(1, int(n() if callable(n) else n))
        except (TypeError, ValueError):
            return 2

    def _max_inflight(self) -> int:
        if self._max_inflight_setting:
            return self._max_inflight_setting
        return max(2, 2 * self._workers())

    @staticmethod
    def _kill_pool(pool) -> None:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                proc.kill()
            except Exception:  # noqa: BLE001
                pass

    def _drop_executor(self) -> None:
        ex, self._executor = self._executor, None
        if ex is None:
            return
        try:
            if isinstance(ex, concurrent.futures.ProcessPoolExecutor):
                self._kill_pool(ex)
            ex.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001
            pass

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._wake:
                if self._stop:
                    return
            try:
                self._reap()
                self._dispatch()
            except Exception:  # noqa: BLE001 - the loop must survive anything
                log.exception("proof job runner iteration failed")
            with self._wake:
                if self._stop:
                    return
                self._wake.wait(timeout=0.02 if self._inflight else 0.2)

    def _dispatch(self) -> None:
        free = self._max_inflight() - len(self._inflight) if self._executor is not None else 2
        if free <= 0:
            return
        for job_id in self.store.due(time.time(), free):
            if job_id in self._inflight or not self.store.claim(job_id):
                continue
            _metrics.inc("attempts_started")
            try:
                self._start_attempt(job_id)
            except Exception as exc:  # noqa: BLE001
                self._failure(job_id, exc)

    def _start_attempt(self, job_id: str) -> None:
        job = self.store.get(job_id)
        payload = self.store.payload(job_id)  # CorruptJob if the row is damaged
        if payload["signed_tx"] is not None or payload["artifact"] is not None:
            # proven before a restart: never prove twice, go straight to finishing
            self._complete(job_id, payload["artifact"], job.prove_ms or 0, payload=payload)
            return
        if job.attempts > 1:
            _metrics.inc("retries")
        else:
            _metrics.observe("queue_wait_seconds", max(0.0, time.time() - job.created_at))
        circuit = self.core.plugins.named("ispc_circuits").get(job.circuit)
        code = self.core.resource_code(job.resource_id) if circuit is not None and circuit[1].uses_code else None
        task = ProofTask(
            job_id=job_id, attempt=job.attempts, home=str(self.config.home), code=code,
            keystore_dir=str(Path(self.config.home) / "zkkeys"), scheme=job.scheme, curve=job.curve,
            circuit=job.circuit, sealed=payload["sealed_bytes"],
            expected_vk_hash=self._vk_hashes.get((job.scheme, job.curve, job.circuit)),
            plugin_objects=self.plugin_objects, overrides=self.overrides, load_entry_points=self.load_entry_points,
        )
        (Path(self.config.home) / "zkkeys").mkdir(parents=True, exist_ok=True)
        executor = self._get_executor()
        try:
            future = executor.submit(run_proof_task, task)
        except BrokenProcessPool as exc:
            self._drop_executor()
            raise WorkerLost(f"the local process pool is broken: {exc}") from None
        except RuntimeError as exc:  # shut down underneath us
            self._drop_executor()
            raise WorkerLost(f"the proof executor is not accepting work: {exc}") from None
        now = time.monotonic()
        timeout = payload["timeout_s"] or self.timeout_s
        self._inflight[job_id] = (future, now, now + timeout)
        future.add_done_callback(lambda f: self._poke())

    def _poke(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def _reap(self) -> None:
        now = time.monotonic()
        for job_id, (future, started, deadline) in list(self._inflight.items()):
            if future.done():
                del self._inflight[job_id]
                try:
                    artifact, prove_ms = future.result()
                except BaseException as exc:  # noqa: BLE001
                    self._failure(job_id, exc)
                    continue
                self._complete(job_id, artifact, prove_ms)
            elif now > deadline:
                del self._inflight[job_id]
                future.cancel()
                _metrics.inc("timeouts")
                if isinstance(self._executor, concurrent.futures.ProcessPoolExecutor):
                    self._drop_executor()  # the only way to stop a running attempt in a process pool
                self._failure(job_id, ProofTimeout(f"the attempt ran longer than the job timeout of {deadline - started:.3g} s"))

    # -- outcomes -------------------------------------------------------------------------
    def _classify(self, exc: BaseException) -> tuple[bool, Exception]:
        """(retryable, typed error) for a failure."""
        if isinstance(exc, BrokenProcessPool):
            self._drop_executor()
            _metrics.inc("workers_lost")
            return True, WorkerLost(f"a proof worker process died: {exc}")
        if isinstance(exc, concurrent.futures.CancelledError):
            return True, WorkerLost("the attempt was cancelled by the executor")
        mod = type(exc).__module__ or ""
        if mod.startswith("distributed") or type(exc).__name__ in ("KilledWorker", "CommClosedError", "FutureCancelledError"):
            _metrics.inc("workers_lost")
            return True, WorkerLost(f"the Dask worker was lost: {type(exc).__name__}: {exc}")
        if isinstance(exc, DETERMINISTIC):
            return False, exc
        if isinstance(exc, TransientProofError):
            return True, exc
        if isinstance(exc, ProofJobError):
            return True, exc
        if isinstance(exc, IspcError):
            return False, exc
        if isinstance(exc, (TimeoutError, ConnectionError, OSError)):
            return True, TransientProofError(f"{type(exc).__name__}: {exc}")
        return True, ProofJobError(f"unexpected {type(exc).__name__}: {exc}")

    def _failure(self, job_id: str, exc: BaseException) -> None:
        retryable, err = self._classify(exc)
        try:
            job = self.store.get(job_id)
        except UnknownJob:
            return
        cause = f"{type(err).__name__}: {err}"
        code = getattr(err, "code", "error")
        if retryable and job.attempts < job.max_attempts:
            delay = min(self.backoff_max_s, self.backoff_s * (2 ** (job.attempts - 1)))
            log.warning("proof job %s attempt %d failed (%s); retrying in %.2f s", job_id, job.attempts, cause, delay)
            self.store.requeue(job_id, delay_s=delay, cause=cause, error_code=code)
            return
        if retryable:
            cause = f"gave up after {job.attempts} attempt(s): {cause}"
        log.warning("proof job %s failed: %s", job_id, cause)
        self.store.mark_failed(job_id, cause=cause, error_code=code)
        self._ended(job_id, None, err)

    def _complete(self, job_id: str, artifact, prove_ms: int, payload=None) -> None:
        """Attach the proof, record the tx id, submit (idempotently), mark done."""
        try:
            if payload is None:
                self.store.set_artifact(job_id, artifact, prove_ms)
                _metrics.observe("prove_seconds", prove_ms / 1000)
                payload = self.store.payload(job_id)
            job = self.store.get(job_id)
            self._vk_hashes[(job.scheme, job.curve, job.circuit)] = artifact.verification_key_hash
            if payload["signed_tx"] is not None:
                tx = txcodec.decode(payload["signed_tx"])
            else:
                try:
                    key = self.core.caller_key(job.caller_key)
                except UnknownKey as exc:
                    raise JobResourceMissing(f"the caller's key {job.caller_key!r} has vanished: {exc}") from None
                tx = self.core.finish(payload["sealed"], artifact, key)
                self.store.set_signed(job_id, txcodec.tx_id(tx), txcodec.encode(tx))
            tx_id = txcodec.tx_id(tx)
            node = self.core.node
            if not (node.ledger.has_tx(tx_id) or node.mempool.get(tx_id) is not None):
                try:
                    self.core.submit(tx)
                except TransactionRejected as exc:
                    if not (node.ledger.has_tx(tx_id) or node.mempool.get(tx_id) is not None):
                        raise
            self.store.mark_done(job_id)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, (TransactionRejected, CorruptJob, JobResourceMissing)):
                self.store.mark_failed(job_id, cause=f"{type(exc).__name__}: {exc}", error_code=getattr(exc, "code", "error"))
                self._refresh_reserved()
                self._ended(job_id, None, exc)
                return
            self._failure(job_id, exc)
            self._refresh_reserved()
            return
        self._refresh_reserved()
        done = self.store.get(job_id)
        _metrics.inc("jobs_done")
        _metrics.observe("call_to_proof_seconds", max(0.0, (done.finished_at or time.time()) - done.created_at))
        self._ended(job_id, artifact, None)

    def _refresh_reserved(self) -> None:
        self._reserved_cache = self.store.reserved_outpoints()

    def _ended(self, job_id: str, artifact, error) -> None:
        if error is not None:
            _metrics.inc("jobs_failed")
            self._refresh_reserved()
        try:
            job = self.store.get(job_id)
            self.core.plugins.pm.hook.ispc_proof_finished(job=job, artifact=artifact, error=error)
        except Exception:  # noqa: BLE001 - a listener's failure never affects the job
            log.exception("an ispc_proof_finished listener failed for job %s", job_id)
        with self._finished:
            self._finished.notify_all()
