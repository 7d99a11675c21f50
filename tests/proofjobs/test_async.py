"""Async proof mode: jobs are persisted, proven, finished and submitted; failures are typed and clean."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ispc_core.context import CallRequest  # noqa: E402
from ispc_core.errors import InsufficientFunds  # noqa: E402
from ispc_core.node import txcodec  # noqa: E402
from ispc_core.proofjobs import PendingStateWrite, ProofJobStore, metrics, prometheus_text, reset_metrics  # noqa: E402
from ispc_core.verify import verify_transaction  # noqa: E402
from pj_helpers import PAY, Listener, deploy_pay, open_async  # noqa: E402


def _pay(m, rid, caller="alice", amount=250):
    return m.call(CallRequest(rid, "pay", (m.address("bob"), amount), caller=caller))


def test_call_returns_at_once_and_the_tx_reaches_the_mempool_only_with_its_proof(tmp_path):
    listener = Listener()
    with open_async(tmp_path / "h", delay=0.4, extra=[listener]) as m:
        rid = deploy_pay(m)
        res = _pay(m, rid)  # returns before the proof (0.4 s) ends: the job is still queued or running below
        assert res.tx_id is None and res.proof is None and res.proof_job_id
        assert len(m.node.mempool) == 0  # pending proof: never in the mempool
        job = m.proof_jobs.store.get(res.proof_job_id)
        assert job.state in ("queued", "running") and job.outpoints and job.caller_key == "alice"
        # the reserved outpoint is not spent by a new call
        with pytest.raises(InsufficientFunds):
            _pay(m, rid)
        job = m.proof_jobs.wait(res.proof_job_id, timeout=10)
        assert job.state == "done" and job.attempts == 1 and job.tx_id and job.outpoints == ()
        tx = m.node.mempool.get(job.tx_id)
        assert tx is not None and txcodec.tx_id(tx) == job.tx_id
        states = [o.state for o in tx.outputs if o.HasField("state")]
        assert states and all(s.zk_proof.proof and s.zk_proof.proving_scheme == "slowproof" for s in states)
        assert all(len(i.unlocking_proof.signature) == 64 for i in tx.inputs)
        assert verify_transaction(m, tx).valid
        (ev_job, artifact, error) = listener.events[-1]
        assert ev_job.job_id == job.job_id and ev_job.state == "done" and artifact is not None and error is None
        assert m.node.mine().tx_count == 1


def test_witness_that_does_not_satisfy_the_circuit_fails_at_once_and_discards_the_tx(tmp_path):
    listener = Listener()
    with open_async(tmp_path / "h", mode="unsat", extra=[listener]) as m:
        rid = deploy_pay(m)
        job = m.proof_jobs.wait(_pay(m, rid).proof_job_id, timeout=10)
        assert job.state == "failed" and job.attempts == 1  # deterministic: no retry
        assert job.error_code == "witness_unsatisfied" and "does not satisfy" in job.cause
        assert len(m.node.mempool) == 0 and m.proof_jobs.reserved_outpoints() == set()
        assert type(listener.events[-1][2]).__name__ == "WitnessUnsatisfied"
        # the released outpoint can be spent again
        assert _pay(m, rid).proof_job_id


def test_transient_failures_are_retried_with_backoff(tmp_path):
    reset_metrics()
    with open_async(tmp_path / "h", mode="flaky:2", settings={"max_attempts": 3}) as m:
        rid = deploy_pay(m)
        job = m.proof_jobs.wait(_pay(m, rid).proof_job_id, timeout=10)
        assert job.state == "done" and job.attempts == 3
        assert m.node.mempool.get(job.tx_id) is not None
    snap = metrics()
    assert snap["counters"]["retries"] == 2 and snap["counters"]["jobs_done"] == 1
    assert snap["durations"]["call_to_proof_seconds"]["count"] == 1
    text = prometheus_text()
    assert "ispc_proof_retries_total 2" in text and 'ispc_proof_call_to_proof_seconds{quantile="0.50"}' in text


def test_a_job_that_keeps_failing_transiently_gives_up_with_its_cause(tmp_path):
    with open_async(tmp_path / "h", mode="flaky:9", settings={"max_attempts": 2}) as m:
        rid = deploy_pay(m)
        job = m.proof_jobs.wait(_pay(m, rid).proof_job_id, timeout=10)
        assert job.state == "failed" and job.attempts == 2
        assert job.cause.startswith("gave up after 2 attempt(s)") and "flaky backend" in job.cause
        assert len(m.node.mempool) == 0


def test_per_job_timeout(tmp_path):
    with open_async(tmp_path / "h", delay=1.5, settings={"timeout_s": 0.2, "max_attempts": 2}) as m:
        rid = deploy_pay(m)
        job = m.proof_jobs.wait(_pay(m, rid).proof_job_id, timeout=10)
        assert job.state == "failed" and job.error_code == "proof_timeout" and job.attempts == 2
        assert len(m.node.mempool) == 0


def test_a_lost_worker_process_is_retried_on_a_fresh_pool(tmp_path):
    with open_async(tmp_path / "h", mode="die-once", executor="processes://1") as m:
        rid = deploy_pay(m)
        job = m.proof_jobs.wait(_pay(m, rid).proof_job_id, timeout=30)
        assert job.state == "done" and job.attempts == 2
        assert m.node.mempool.get(job.tx_id) is not None


def test_a_state_with_a_pending_proof_cannot_be_written_again(tmp_path):
    with open_async(tmp_path / "h", delay=0.5) as m:
        rid = deploy_pay(m)
        first = m.call(CallRequest(rid, "count", (b"\x01",), caller="alice"))
        with pytest.raises(PendingStateWrite, match=first.proof_job_id):
            m.call(CallRequest(rid, "count", (b"\x02",), caller="alice"))
        m.proof_jobs.wait(first.proof_job_id, timeout=10)
        second = m.call(CallRequest(rid, "count", (b"\x02",), caller="alice"))
        assert m.proof_jobs.wait(second.proof_job_id, timeout=10).state == "done"


def _enqueue_then_close(home, **kw):
    m = open_async(home, delay=30, **kw)  # never finishes before close
    rid = deploy_pay(m)
    job_id = _pay(m, rid).proof_job_id
    m.close()
    return job_id


def test_a_corrupted_job_row_fails_with_a_typed_cause_and_nothing_is_submitted(tmp_path):
    home = tmp_path / "h"
    job_id = _enqueue_then_close(home)
    with sqlite3.connect(home / "proofjobs.sqlite") as c:
        c.execute("UPDATE jobs SET sealed = X'00ff' WHERE id = ?", (job_id,))
    with open_async(home) as m:
        job = m.proof_jobs.wait(job_id, timeout=10)
        assert job.state == "failed" and job.error_code == "corrupt_job" and "sha256" in job.cause
        assert len(m.node.mempool) == 0 and m.proof_jobs.reserved_outpoints() == set()


def test_a_vanished_caller_key_fails_the_job(tmp_path):
    home = tmp_path / "h"
    m = open_async(home, delay=30)
    m.node.keys.create("dave")  # not in genesis, so the next open does not recreate it
    rid = deploy_pay(m)
    job_id = m.call(CallRequest(rid, "count", (b"\x01",), caller="dave")).proof_job_id
    m.close()
    (home / "keys" / "dave.key").unlink()
    with open_async(home) as m:
        job = m.proof_jobs.wait(job_id, timeout=10)
        assert job.state == "failed" and job.error_code == "job_resource_missing" and "dave" in job.cause
        assert len(m.node.mempool) == 0


def test_an_unreachable_executor_is_named_in_the_cause(tmp_path):
    with open_async(tmp_path / "h", executor="dask://127.0.0.1:9", settings={"max_attempts": 1}, dask={"connect_timeout_s": 0.5}) as m:
        rid = deploy_pay(m)
        job = m.proof_jobs.wait(_pay(m, rid).proof_job_id, timeout=30)
        assert job.state == "failed" and job.error_code == "executor_unreachable"
        assert "127.0.0.1:9" in job.cause
        assert len(m.node.mempool) == 0


def test_resuming_after_submission_never_submits_twice(tmp_path):
    home = tmp_path / "h"
    with open_async(home) as m:
        rid = deploy_pay(m)
        job = m.proof_jobs.wait(_pay(m, rid).proof_job_id, timeout=10)
        assert job.state == "done"
    # simulate a crash between "submitted" and "marked done": the row says running, owned by a dead process
    with sqlite3.connect(home / "proofjobs.sqlite") as c:
        c.execute("UPDATE jobs SET state='running', owner='999999999', attempts=1 WHERE id=?", (job.job_id,))
    listener = Listener()
    with open_async(home, extra=[listener]) as m:
        again = m.proof_jobs.wait(job.job_id, timeout=10)
        assert again.state == "done" and again.tx_id == job.tx_id
        assert [tid for tid, _ in m.node.mempool.list()] == [job.tx_id]
        deadline = time.monotonic() + 10  # the hook fires right after the job is marked done, on the runner's thread
        while not listener.events and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.events and listener.events[-1][2] is None


def test_jobs_persist_and_store_lists_them(tmp_path):
    home = tmp_path / "h"
    job_id = _enqueue_then_close(home)
    store = ProofJobStore(home)
    try:
        (job,) = store.list()
        assert job.job_id == job_id and job.state == "queued" and job.attempts == 0  # a clean close does not count
        assert store.payload(job_id)["request"].function == "pay"
    finally:
        store.close()


def test_sync_mode_creates_no_job_store(tmp_path, proving_manager):
    rid = proving_manager.deploy(PAY, kind="test").resource_id
    res = _pay(proving_manager, rid)
    assert res.tx_id and res.proof_job_id is None
    assert not ProofJobStore.exists(proving_manager.config.home)
