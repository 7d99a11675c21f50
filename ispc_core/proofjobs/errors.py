"""Typed errors of asynchronous proving.

Failures are split into two families, because the job runner treats them
differently:

* :class:`TransientProofError` — the *environment* failed (a worker process
  died, the executor could not be reached, the per-job timeout passed). The
  same job may well succeed on another attempt: it is retried with backoff.
* deterministic failures — the *job itself* cannot succeed
  (:class:`WitnessUnsatisfied`: the witness does not satisfy the circuit;
  :class:`CorruptJob`: the stored row cannot be decoded; :class:`JobResourceMissing`:
  something the job needs is gone). Retrying gives the same answer, so the job
  fails at once and its transaction is discarded.

Every class pickles with its message, so errors raised in worker processes or on
Dask workers arrive intact.
"""

from __future__ import annotations

from ispc_core.errors import CorruptData, ProofError, RequestError


class ProofJobError(ProofError):
    """Base class of proof-job failures."""

    code = "proof_job"


class TransientProofError(ProofJobError):
    """A failure of the environment, not of the job: retried with backoff."""

    code = "proof_transient"


class ProofTimeout(TransientProofError):
    """An attempt ran longer than the job's timeout (``[plugin.proofjobs] timeout_s``)."""

    code = "proof_timeout"


class WorkerLost(TransientProofError):
    """The worker running an attempt died (a broken process pool, a killed Dask worker)."""

    code = "worker_lost"


class ExecutorUnreachable(TransientProofError):
    """The configured proof executor cannot be reached; the message names its address."""

    code = "executor_unreachable"


class WitnessUnsatisfied(ProofJobError):
    """The witness does not satisfy the circuit: deterministic, never retried.

    Provers should raise this (or :class:`ispc_core.zk.errors.ConstraintUnsatisfied`,
    which the runner maps onto it) when the instance they are given is not
    satisfiable.
    """

    code = "witness_unsatisfied"


class CorruptJob(CorruptData):
    """A stored proof-job row failed its integrity check or cannot be decoded."""

    code = "corrupt_job"


class JobResourceMissing(ProofJobError):
    """Something a job needs has vanished (the caller's key, the circuit, the prover)."""

    code = "job_resource_missing"


class UnknownJob(RequestError):
    """No proof job with this id exists in the node home."""

    code = "unknown_job"


class PendingStateWrite(RequestError):
    """The call writes a state whose previous write still waits for its proof.

    A state's next version names the hash of the previous one, and that hash
    covers the proof, so the next write can only be built once the proof is
    attached. Wait for the job (``ispc proofs wait ID``) and call again.
    """

    code = "pending_state_write"


#: error codes treated as deterministic (never retried)
DETERMINISTIC = (WitnessUnsatisfied, CorruptJob, JobResourceMissing)
