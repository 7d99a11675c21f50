"""The verifier: valid transactions pass without re-execution; every tampering is invalid with a reason."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "proofjobs"))

from ispc_core.context import CallRequest  # noqa: E402
from ispc_core.proto import transaction_pb2 as pb  # noqa: E402
from ispc_core.verify import erh_binding, verify_transaction  # noqa: E402
from ispc_testdoubles import KeyedInstance, program  # noqa: E402

PAY = program({"pay": [["tx.transfer", "$0", "$1"], ["event.emit", "paid", "hex:01"]]})


@pytest.fixture
def proven(proving_manager):
    rid = proving_manager.deploy(PAY, kind="test").resource_id
    res = proving_manager.call(CallRequest(rid, "pay", (proving_manager.address("bob"), 250), caller="alice"))
    return proving_manager, res


def _copy(tx):
    out = pb.Transaction()
    out.CopyFrom(tx)
    return out


def _bad(report, name="proof[0]"):
    """The detail of the failed check ``name`` (tampering a proof also breaks the signatures over the tx id)."""
    assert not report.valid
    (check,) = [c for c in report.checks if c.name == name]
    assert not check.ok
    return check.detail


def _zk(tx):
    return next(o.state.zk_proof for o in tx.outputs if o.HasField("state"))


def test_a_proven_transaction_is_valid_without_running_the_program(proven):
    m, res = proven
    engine = m.core.engine_for("test")
    runs = []
    original = engine.execute
    engine.execute = lambda call: runs.append(call) or original(call)
    report = verify_transaction(m, res.transaction)
    assert report.valid, report.reason
    assert {c.name for c in report.checks} >= {"structure", "signatures", "ledger", "proof[0]"}
    assert "bound (top248)" in report.checks[-1].detail
    assert runs == []  # never re-executed
    m.mine()
    assert verify_transaction(m, res.transaction).valid  # confirmed: still valid


def test_a_tampered_proof_is_invalid(proven):
    m, res = proven
    tx = _copy(res.transaction)
    zk = _zk(tx)
    zk.proof = bytes([zk.proof[0] ^ 1]) + zk.proof[1:]
    assert "does not verify" in _bad(verify_transaction(m, tx, check_ledger=False))


def test_a_wrong_public_input_is_invalid(proven):
    m, res = proven
    tx = _copy(res.transaction)
    zk = _zk(tx)
    zk.public_inputs[0] = (int.from_bytes(zk.public_inputs[0], "big") + 1).to_bytes(32, "big")
    assert "does not verify" in _bad(verify_transaction(m, tx, check_ledger=False))


def test_a_valid_proof_of_other_public_inputs_is_not_bound_to_the_execution(proven):
    m, res = proven
    prover = m.core.prover("testproof")
    other = prover.prove(KeyedInstance("test_circuit", "v1", (12345, 678)), "bn254")
    tx = _copy(res.transaction)
    zk = _zk(tx)
    del zk.public_inputs[:]
    zk.public_inputs.extend([x.to_bytes(32, "big") for x in other.public_inputs])
    zk.proof = other.proof
    assert "encodes its execution result hash" in _bad(verify_transaction(m, tx, check_ledger=False))


def test_an_unknown_verification_key_hash_is_invalid(proven):
    m, res = proven
    tx = _copy(res.transaction)
    _zk(tx).verification_key_hash = b"\x01" * 32
    assert "verification key" in _bad(verify_transaction(m, tx, check_ledger=False))


def test_a_verifier_with_another_key_store_rejects(proven, tmp_path):
    from ispc_core.coordinator import Manager
    from ispc_testdoubles import TestEnginePlugin, TestProverPlugin

    m, res = proven
    overrides = {"proof.mode": "sync", "proof.scheme": "testproof", "proof.circuit": "test_circuit"}
    with Manager.open(tmp_path / "other", overrides=overrides, plugins=[TestEnginePlugin(), TestProverPlugin()]) as v:
        report = verify_transaction(v, res.transaction, check_ledger=False)
        assert not report.valid and "verification key" in report.reason


def test_a_tampered_signature_and_a_missing_proof_are_invalid(proven):
    m, res = proven
    tx = _copy(res.transaction)
    sig = tx.inputs[0].unlocking_proof.signature
    tx.inputs[0].unlocking_proof.signature = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
    assert verify_transaction(m, tx, check_ledger=False).reason.startswith("signatures")
    tx = _copy(res.transaction)
    _zk(tx).Clear()
    assert "carries no zk proof" in _bad(verify_transaction(m, tx, check_ledger=False))


def test_ledger_rules_are_checked(proven):
    m, res = proven
    tx = _copy(res.transaction)
    tx.nonce += 1  # a different transaction spending the same (now pending) output
    report = verify_transaction(m, tx)
    assert not report.valid and any(c.name == "ledger" and not c.ok for c in report.checks)


def test_erh_binding_encodings():
    h = b"\xff" * 32  # above the bn254 scalar field, so "exact" and "mod_r" differ
    n = int.from_bytes(h, "big")
    assert erh_binding(h, (n,), "bn254") == "exact"
    assert erh_binding(h, (1, n >> 8), "bn254") == "top248"
    assert erh_binding(h, (n % 21888242871839275222246405745257275088548364400416034343698204186575808495617,), "bn254") == "mod_r"
    assert erh_binding(h, (n + 1,), "bn254") is None


def test_reexecution_of_an_async_call_matches(tmp_path):
    from pj_helpers import open_async

    with open_async(tmp_path / "h") as m:
        rid = m.deploy(PAY, kind="test").resource_id
        job = m.proof_jobs.wait(m.call(CallRequest(rid, "pay", (m.address("bob"), 9), caller="alice")).proof_job_id, timeout=10)
        tx = m.node.mempool.get(job.tx_id)
        report = verify_transaction(m, tx, reexecute=True)
        assert report.valid, report.reason
        assert any(c.name == "reexecution" and c.ok for c in report.checks)


def test_cli_verify_and_tx_export(tmp_path, monkeypatch):
    from ispc_core.cli import main

    home = tmp_path / "h"
    runner = CliRunner()
    monkeypatch.setenv("ISPC_PROOF_MODE", "off")
    assert runner.invoke(main, ["--home", str(home), "init"]).exit_code == 0
    dep = runner.invoke(main, ["--home", str(home), "deploy", str(Path(__file__).parents[1] / "contracts" / "token.wasm")])
    if dep.exit_code != 0:
        pytest.fail(f"deploying the token contract failed (is ispc-wasm installed?): {dep.output}")
    rid = dep.output.strip()
    bob = runner.invoke(main, ["--home", str(home), "balance", "bob", "--json"]).output
    import json

    bob_addr = json.loads(bob)["address"]
    call = runner.invoke(main, ["--home", str(home), "call", rid, "transfer", "5", "--caller", "alice", "--data", bob_addr, "--json"])
    assert call.exit_code == 0, call.output
    tx_id = json.loads(call.output)["tx_id"]
    ok = runner.invoke(main, ["--home", str(home), "verify", tx_id, "--json"])
    assert ok.exit_code == 0 and json.loads(ok.output)["valid"] is True
    out = tmp_path / "tx.bin"
    assert runner.invoke(main, ["--home", str(home), "tx", "export", tx_id, "-o", str(out)]).exit_code == 0
    assert runner.invoke(main, ["--home", str(home), "verify", str(out), "--no-ledger"]).exit_code == 0
    tx = pb.Transaction.FromString(out.read_bytes())
    tx.inputs[0].unlocking_proof.signature = b"\x00" * 64
    out.write_bytes(tx.SerializeToString())
    bad = runner.invoke(main, ["--home", str(home), "verify", str(out), "--no-ledger"])
    assert bad.exit_code == 1 and "INVALID" in bad.output
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xff\xff\xff not a transaction")
    assert runner.invoke(main, ["--home", str(home), "verify", str(garbage)]).exit_code == 2
    assert runner.invoke(main, ["--home", str(home), "verify", "00" * 32]).exit_code == 2
