"""The proof-job record: what the store holds and what the ``ispc_proof_finished`` hook receives."""

from __future__ import annotations

import attrs

#: job states, in the order a job passes through them
STATES = ("queued", "running", "done", "failed")


@attrs.frozen
class ProofJob:
    """One asynchronous proof job, as read from ``proofjobs.sqlite``.

    Times are Unix seconds (``None`` until reached); ``tx_id`` is set just
    before the finished transaction is submitted (the id covers the proof, so it
    is unknown until then).
    """

    job_id: str
    state: str
    attempts: int
    max_attempts: int
    scheme: str
    curve: str
    circuit: str
    caller_key: str
    resource_id: bytes
    function: str
    execution_result_hash: bytes
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    next_attempt_at: float | None = None
    tx_id: bytes | None = None
    cause: str = ""
    error_code: str = ""
    prove_ms: int | None = None
    outpoints: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        """True once the job is ``done`` or ``failed``."""
        return self.state in ("done", "failed")

    def to_json(self) -> dict:
        """A JSON-ready dict (bytes as hex)."""
        out = {}
        for f in attrs.fields(ProofJob):
            v = getattr(self, f.name)
            out[f.name] = v.hex() if isinstance(v, bytes) else list(v) if isinstance(v, tuple) else v
        return out
