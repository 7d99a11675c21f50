"""``proofjobs.sqlite``: the durable queue of asynchronous proof jobs.

One row per job holds everything needed to finish its transaction after a
restart: the sealed execution (tagged JSON plus its sha256), the caller's key
*name* (never the key), the prover, curve and circuit, the original request,
and — once reached — the proof artifact, the signed transaction and its id.
The outpoints a job's transaction spends are reserved in their own table so
new calls do not select them; the reservation is dropped when the job ends.

Every state change is one SQLite transaction (WAL, ``synchronous=FULL``), so a
process killed at any instant leaves each job in a state it can resume from:

====================  ====================================================
row                   on restart
====================  ====================================================
queued                proven as usual
running, no artifact  interrupted mid-proof: queued again
running, artifact     proven, not yet submitted: finished and submitted
running, tx_id set    submission may have happened: the ledger and mempool
                      are checked for ``tx_id`` before anything is resent
done / failed         left alone
====================  ====================================================
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Iterable

from ispc_core.node.sqlite import ensure_schema, open_database
from ispc_core.proofjobs import codec
from ispc_core.proofjobs.errors import CorruptJob, UnknownJob
from ispc_core.proofjobs.model import ProofJob

FILENAME = "proofjobs.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs(
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL CHECK(state IN ('queued','running','done','failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    timeout_s REAL NOT NULL,
    scheme TEXT NOT NULL, curve TEXT NOT NULL, circuit TEXT NOT NULL,
    caller_key TEXT NOT NULL,
    resource_id BLOB NOT NULL, function TEXT NOT NULL,
    execution_result_hash BLOB NOT NULL,
    sealed BLOB NOT NULL, sealed_sha256 BLOB NOT NULL,
    request BLOB,
    artifact BLOB,
    signed_tx BLOB,
    tx_id BLOB,
    owner TEXT,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL, next_attempt_at REAL,
    prove_ms INTEGER,
    cause TEXT NOT NULL DEFAULT '', error_code TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, next_attempt_at);
CREATE TABLE IF NOT EXISTS reservations(outpoint TEXT PRIMARY KEY, job_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job_states(state_id BLOB NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY(state_id, job_id));
"""

_COLUMNS = (
    "id, state, attempts, max_attempts, scheme, curve, circuit, caller_key, resource_id, function, "
    "execution_result_hash, created_at, started_at, finished_at, next_attempt_at, tx_id, cause, error_code, prove_ms"
)


def owner_token() -> str:
    """Who holds a running job: ``"<pid>"`` of this process."""
    return str(os.getpid())


def _owner_alive(owner: str | None) -> bool:
    if not owner:
        return False
    try:
        pid = int(owner)
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped) is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


class ProofJobStore:
    """Proof jobs of one node home, in ``<home>/proofjobs.sqlite``; safe across threads."""

    def __init__(self, home: Path):
        self.path = Path(home) / FILENAME
        self._lock = threading.RLock()
        # job rows must survive power loss too; an existing store is checked, not replaced (see open_database)
        self._conn = open_database(self.path, synchronous="FULL", create=True)
        try:
            with self._lock:
                ensure_schema(self._conn, _SCHEMA)
        except BaseException:
            self._conn.close()
            raise

    @staticmethod
    def exists(home: Path) -> bool:
        """Whether a node home has a proof-job store at all (sync nodes never create one)."""
        return (Path(home) / FILENAME).exists()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()

    def _tx(self):
        store = self

        class _T:
            def __enter__(self):
                store._lock.acquire()
                store._conn.execute("BEGIN IMMEDIATE")
                return store._conn

            def __exit__(self, exc_type, exc, tb):
                try:
                    store._conn.execute("ROLLBACK" if exc_type else "COMMIT")
                finally:
                    store._lock.release()

        return _T()

    # -- writing ----------------------------------------------------------------------
    def add(
        self,
        *,
        job_id: str,
        sealed,
        request,
        caller_key: str,
        scheme: str,
        curve: str,
        circuit: str,
        max_attempts: int,
        timeout_s: float,
    ) -> None:
        """Persist a new queued job and reserve the outpoints its transaction spends (one transaction)."""
        sealed_bytes = codec.encode_sealed(sealed)
        try:
            request_bytes = codec.encode_request(request) if request is not None else None
        except TypeError:
            request_bytes = None  # arguments with no stored form: re-execution audits are unavailable
        state_ids = [o.state.state_id for o in sealed.transaction.outputs if o.HasField("state")]
        now = time.time()
        with self._tx() as c:
            seq = c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
            c.execute(
                "INSERT INTO jobs(id, seq, state, max_attempts, timeout_s, scheme, curve, circuit, caller_key, "
                "resource_id, function, execution_result_hash, sealed, sealed_sha256, request, created_at, next_attempt_at) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id, seq, max_attempts, timeout_s, scheme, curve, circuit, caller_key,
                    sealed.resource_id, sealed.function, sealed.execution_result_hash,
                    sealed_bytes, codec.digest(sealed_bytes), request_bytes, now, now,
                ),
            )
            c.executemany("INSERT INTO reservations(outpoint, job_id) VALUES (?, ?)", [(o, job_id) for o in sealed.spent])
            c.executemany("INSERT OR IGNORE INTO job_states(state_id, job_id) VALUES (?, ?)", [(s, job_id) for s in state_ids])

    def claim(self, job_id: str) -> bool:
        """Move a queued job to ``running`` for this process (one more attempt); False if someone else did."""
        with self._tx() as c:
            cur = c.execute(
                "UPDATE jobs SET state='running', attempts=attempts+1, owner=?, started_at=COALESCE(started_at, ?) "
                "WHERE id=? AND state='queued'",
                (owner_token(), time.time(), job_id),
            )
            return cur.rowcount == 1

    def requeue(self, job_id: str, *, delay_s: float, cause: str, error_code: str) -> None:
        """A transient failure: back to ``queued``, due after ``delay_s``, with the cause kept."""
        with self._tx() as c:
            c.execute(
                "UPDATE jobs SET state='queued', owner=NULL, next_attempt_at=?, cause=?, error_code=? WHERE id=? AND state='running'",
                (time.time() + delay_s, cause, error_code, job_id),
            )

    def release(self, job_id: str) -> None:
        """Give a running job back to the queue without counting the attempt (a clean node shutdown)."""
        with self._tx() as c:
            c.execute(
                "UPDATE jobs SET state='queued', owner=NULL, attempts=MAX(attempts-1, 0), next_attempt_at=? "
                "WHERE id=? AND state='running' AND artifact IS NULL",
                (time.time(), job_id),
            )

    def set_artifact(self, job_id: str, artifact, prove_ms: int) -> None:
        """Record the finished proof (so a crash after it never proves again)."""
        with self._tx() as c:
            c.execute("UPDATE jobs SET artifact=?, prove_ms=? WHERE id=?", (codec.encode_artifact(artifact), prove_ms, job_id))

    def set_signed(self, job_id: str, tx_id: bytes, signed_tx: bytes) -> None:
        """Record the finished transaction and its id *before* it is submitted."""
        with self._tx() as c:
            c.execute("UPDATE jobs SET tx_id=?, signed_tx=? WHERE id=?", (tx_id, signed_tx, job_id))

    def mark_done(self, job_id: str) -> None:
        """The transaction is in the mempool (or the ledger): done; reservations released."""
        with self._tx() as c:
            c.execute(
                "UPDATE jobs SET state='done', owner=NULL, finished_at=?, cause='', error_code='' WHERE id=?",
                (time.time(), job_id),
            )
            c.execute("DELETE FROM reservations WHERE job_id=?", (job_id,))
            c.execute("DELETE FROM job_states WHERE job_id=?", (job_id,))

    def mark_failed(self, job_id: str, *, cause: str, error_code: str) -> None:
        """Permanent failure: the transaction is discarded, reservations released, cause kept."""
        with self._tx() as c:
            c.execute(
                "UPDATE jobs SET state='failed', owner=NULL, finished_at=?, cause=?, error_code=?, signed_tx=NULL WHERE id=?",
                (time.time(), cause, error_code, job_id),
            )
            c.execute("DELETE FROM reservations WHERE job_id=?", (job_id,))
            c.execute("DELETE FROM job_states WHERE job_id=?", (job_id,))

    def recover(self) -> list[str]:
        """Requeue jobs left ``running`` by a process that is gone; return their ids."""
        with self._tx() as c:
            rows = c.execute("SELECT id, owner, artifact FROM jobs WHERE state='running'").fetchall()
            out = []
            for job_id, owner, artifact in rows:
                if owner == owner_token() or _owner_alive(owner):
                    continue
                cause = "interrupted: the node stopped while this job ran"
                c.execute(
                    "UPDATE jobs SET state='queued', owner=NULL, next_attempt_at=?, cause=?, error_code='interrupted' WHERE id=?",
                    (time.time(), cause, job_id),
                )
                out.append(job_id)
            return out

    # -- reading ----------------------------------------------------------------------
    def _job(self, row) -> ProofJob:
        (job_id, state, attempts, max_attempts, scheme, curve, circuit, caller_key, rid, function, erh,
         created, started, finished, next_at, tx_id, cause, code, prove_ms) = row
        with self._lock:
            outs = tuple(r[0] for r in self._conn.execute("SELECT outpoint FROM reservations WHERE job_id=? ORDER BY outpoint", (job_id,)))
        return ProofJob(
            job_id=job_id, state=state, attempts=attempts, max_attempts=max_attempts, scheme=scheme, curve=curve,
            circuit=circuit, caller_key=caller_key, resource_id=bytes(rid), function=function,
            execution_result_hash=bytes(erh), created_at=created, started_at=started, finished_at=finished,
            next_attempt_at=next_at, tx_id=bytes(tx_id) if tx_id is not None else None, cause=cause or "",
            error_code=code or "", prove_ms=prove_ms, outpoints=outs,
        )

    def get(self, job_id: str) -> ProofJob:
        """One job; :class:`UnknownJob` if absent. A unique id prefix is accepted."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id LIKE ? ORDER BY seq LIMIT 2", (f"{job_id}%",)).fetchall()
        if not job_id or not rows:
            raise UnknownJob(f"no proof job {job_id!r} in this node home")
        if len(rows) > 1:
            raise UnknownJob(f"proof job id prefix {job_id!r} is ambiguous")
        return self._job(rows[0])

    def list(self, states: Iterable[str] | None = None, limit: int | None = None) -> list[ProofJob]:
        """Jobs in creation order, optionally only those in ``states`` and only the newest ``limit``."""
        sql = f"SELECT {_COLUMNS} FROM jobs"
        args: list = []
        if states:
            states = list(states)
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
            args += states
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
        if limit:
            rows = rows[-int(limit):]
        return [self._job(r) for r in rows]

    def due(self, now: float, limit: int) -> list[str]:
        """Ids of queued jobs whose next attempt is due, oldest first."""
        with self._lock:
            return [r[0] for r in self._conn.execute(
                "SELECT id FROM jobs WHERE state='queued' AND COALESCE(next_attempt_at, 0) <= ? ORDER BY seq LIMIT ?",
                (now, limit),
            )]

    def next_due_at(self) -> float | None:
        """When the earliest queued job becomes due (None if none is queued)."""
        with self._lock:
            row = self._conn.execute("SELECT MIN(COALESCE(next_attempt_at, 0)) FROM jobs WHERE state='queued'").fetchone()
        return row[0]

    def payload(self, job_id: str) -> dict:
        """What a job needs to run and finish: sealed execution, request, artifact, signed tx (integrity-checked)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT sealed, sealed_sha256, request, artifact, signed_tx, timeout_s FROM jobs WHERE id=?", (job_id,)
            ).fetchone()
        if row is None:
            raise UnknownJob(f"no proof job {job_id!r} in this node home")
        sealed, sha, request, artifact, signed, timeout_s = row
        what = f"proof job {job_id}"
        if sealed is None or sha is None or codec.digest(bytes(sealed)) != bytes(sha):
            raise CorruptJob(f"{what}: the stored sealed execution does not match its sha256 (the row is corrupted)")
        return {
            "sealed_bytes": bytes(sealed),
            "sealed": codec.decode_sealed(bytes(sealed), what=what),
            "request": codec.decode_request(bytes(request), what=what) if request is not None else None,
            "artifact": codec.decode_artifact(bytes(artifact), what=what) if artifact is not None else None,
            "signed_tx": bytes(signed) if signed is not None else None,
            "timeout_s": timeout_s,
        }

    def find_by_tx(self, tx_id: bytes) -> str | None:
        """The job that produced transaction ``tx_id``, if any."""
        with self._lock:
            row = self._conn.execute("SELECT id FROM jobs WHERE tx_id=?", (bytes(tx_id),)).fetchone()
        return row[0] if row else None

    def reserved_outpoints(self) -> set[str]:
        """Outpoint keys reserved by unfinished jobs."""
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT outpoint FROM reservations")}

    def pending_state_writer(self, state_id: bytes) -> str | None:
        """The unfinished job that writes ``state_id``, if any."""
        with self._lock:
            row = self._conn.execute("SELECT job_id FROM job_states WHERE state_id=? LIMIT 1", (bytes(state_id),)).fetchone()
        return row[0] if row else None

    def counts(self) -> dict[str, int]:
        """Number of jobs in each state."""
        out = {s: 0 for s in ("queued", "running", "done", "failed")}
        with self._lock:
            for state, n in self._conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
                out[state] = n
        return out

    def unfinished(self) -> int:
        """Number of queued or running jobs."""
        c = self.counts()
        return c["queued"] + c["running"]
