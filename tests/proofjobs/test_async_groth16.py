"""Async mode with the real Groth16 prover in a worker process: the call returns before the
proof exists, nothing reaches the mempool until it does, and the finished transaction verifies."""

from __future__ import annotations

from pathlib import Path

from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.verify import verify_transaction

TOKEN = Path(__file__).resolve().parents[2] / "contracts" / "token.wasm"


def test_async_groth16_token_transfer(tmp_path):
    overrides = {"proof.mode": "async", "proof.scheme": "groth16", "proof.executor": "processes://1"}
    with Manager.open(tmp_path / "h", overrides=overrides) as m:
        token = m.deploy(TOKEN).resource_id
        res = m.call(CallRequest(token, "transfer", (42,), caller="alice", input_data=m.address("bob")))
        assert res.tx_id is None and res.proof_job_id
        job = m.proof_jobs.wait(res.proof_job_id, timeout=120)
        assert job.state == "done", job.cause
        tx = m.node.mempool.get(job.tx_id)
        assert tx is not None
        states = [o.state for o in tx.outputs if o.HasField("state")]
        assert states and all(s.zk_proof.proving_scheme == "groth16" for s in states)
        assert states[0].execution_result_hash == res.execution_result_hash
        report = verify_transaction(m, tx)
        assert report.valid, report.reason
        m.mine()
        assert m.balance("bob") == 42


def test_a_truncated_proving_key_fails_the_job_at_once_naming_the_file(tmp_path):
    overrides = {"proof.mode": "async", "proof.scheme": "groth16", "proof.executor": "processes://1"}
    home = tmp_path / "h"
    with Manager.open(home, overrides=overrides) as m:
        token = m.deploy(TOKEN).resource_id
        res = m.call(CallRequest(token, "transfer", (1,), caller="alice", input_data=m.address("bob")))
        assert m.proof_jobs.wait(res.proof_job_id, timeout=120).state == "done"
        m.mine()
    zkeys = list((home / "zkkeys" / "groth16").glob("*/*/proving_key.zkey"))
    assert zkeys
    for z in zkeys:
        z.write_bytes(z.read_bytes()[: z.stat().st_size // 2])
    with Manager.open(home, overrides=overrides) as m:  # a fresh worker: it has to load the key
        res = m.call(CallRequest(token, "transfer", (2,), caller="alice", input_data=m.address("bob")))
        job = m.proof_jobs.wait(res.proof_job_id, timeout=120)
        assert job.state == "failed" and job.attempts == 1, job  # deterministic: not retried
        assert job.error_code == "key_file_corrupt" and "proving_key.zkey is corrupt" in job.cause, job.cause
