"""The verifier: valid transactions pass without re-execution; every tampering is invalid with a reason."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ispc_core import errors

sys.path.insert(0, str(Path(__file__).parent / "proofjobs"))

from ispc_core.context import CallRequest  # noqa: E402
from ispc_core.node import txcodec  # noqa: E402
from ispc_core.proto import transaction_pb2 as pb  # noqa: E402
from ispc_core.verify import verify_transaction  # noqa: E402
from ispc_testdoubles import TEST_CIRCUIT, KeyedInstance, program, test_public_inputs  # noqa: E402

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


def _resign(m, tx, caller="alice"):
    """Sign ``tx`` again as its caller and its executor did: a forger holding both keys, so only the
    tampered part (not the signatures over the id) can fail."""
    return txcodec.sign_execution(tx, m.node.keys.get(caller), m.node.node_key)


def _bad(report, name="proof"):
    """The detail of the failed check ``name``, which must be the first (and so the only) failure."""
    assert not report.valid
    failed = report.failed
    assert failed is not None and failed.name == name, report.checks
    assert report.reason.startswith(name + ":")
    return failed.detail


def _zk(tx):
    return next(o.state.zk_proof for o in tx.outputs if o.HasField("state"))


def _set_proof(tx, artifact):
    """Put ``artifact`` (a ProofArtifact) into every state output of ``tx``."""
    for out in tx.outputs:
        if out.HasField("state"):
            zk = out.state.zk_proof
            del zk.public_inputs[:]
            zk.public_inputs.extend([x.to_bytes(32, "big") for x in artifact.public_inputs])
            zk.proof = artifact.proof
    return tx


def test_a_proven_transaction_is_valid_without_running_the_program(proven):
    m, res = proven
    engine = m.core.engine_for("test")
    runs = []
    original = engine.execute
    engine.execute = lambda call: runs.append(call) or original(call)
    report = verify_transaction(m, res.transaction)
    assert report.valid, report.reason
    assert [c.name for c in report.checks] == ["structure", "signatures", "resource", "journal", "proof", "ledger"]
    assert all(c.ok for c in report.checks)
    proof = report.checks[4].detail
    assert TEST_CIRCUIT in proof and "every public input recomputed" in proof
    assert "binding-only" in proof
    # the report says which circuit, and that it binds the computation without proving it
    assert report.circuit == TEST_CIRCUIT and report.proves_computation is False
    data = report.to_json()
    assert (data["circuit"], data["proves_computation"], data["valid"]) == (TEST_CIRCUIT, False, True)
    assert "binding-only" in data["trust"] and "fabricate" in data["trust"]
    assert [c["name"] for c in data["checks"]] == [c.name for c in report.checks]
    assert runs == []  # never re-executed
    m.mine()
    confirmed = verify_transaction(m, res.transaction)  # confirmed: still valid
    assert confirmed.valid and "confirmed at height 1" in confirmed.checks[-1].detail


def test_the_public_inputs_are_exactly_those_recomputed_from_the_transaction(proven):
    m, res = proven
    tx = res.transaction
    assert tuple(int.from_bytes(x, "big") for x in _zk(tx).public_inputs) == test_public_inputs(tx, "bn254")


@pytest.mark.parametrize("index", [0, 1])
def test_each_tampered_public_input_is_rejected_even_with_a_valid_proof_of_it(proven, index):
    m, res = proven
    prover = m.core.prover("testproof")
    honest = tuple(int.from_bytes(x, "big") for x in _zk(res.transaction).public_inputs)
    for tampered_value in (honest[index] + 1, honest[index] >> 8, 0):
        inputs = list(honest)
        inputs[index] = tampered_value
        forged = prover.prove(KeyedInstance(TEST_CIRCUIT, "v1", tuple(inputs)), "bn254")
        assert prover.verify(forged)  # the proof itself holds, for the tampered statement
        tx = _resign(m, _set_proof(_copy(res.transaction), forged))
        detail = _bad(verify_transaction(m, tx, check_ledger=False))
        assert f"public input {index} is not the value recomputed from the transaction" in detail


def test_no_public_input_merely_equal_to_the_result_hash_is_accepted(proven):
    """Matching "some public input equals R" is gone: the order and number are the circuit's, exactly."""
    m, res = proven
    prover = m.core.prover("testproof")
    r, t = (int.from_bytes(x, "big") for x in _zk(res.transaction).public_inputs)
    cases = {
        (t, r): "public input 0 is not the value recomputed",  # R is there, in the wrong place
        (12345, r): "public input 0 is not the value recomputed",
        (r, t, r): "3 public inputs; test_circuit.v1 has 2",
        (r,): "1 public inputs; test_circuit.v1 has 2",
    }
    for inputs, fragment in cases.items():
        forged = prover.prove(KeyedInstance(TEST_CIRCUIT, "v1", inputs), "bn254")
        tx = _resign(m, _set_proof(_copy(res.transaction), forged))
        assert fragment in _bad(verify_transaction(m, tx, check_ledger=False))


def test_a_tampered_proof_is_invalid(proven):
    m, res = proven
    tx = _copy(res.transaction)
    for out in tx.outputs:
        if out.HasField("state"):
            zk = out.state.zk_proof
            zk.proof = bytes([zk.proof[0] ^ 1]) + zk.proof[1:]
    # the id covers the proof: as it travels, the signatures no longer hold...
    assert _bad(verify_transaction(m, tx, check_ledger=False), "signatures")
    # ...and re-signed by a forger, the proof check itself refuses it
    assert "does not verify" in _bad(verify_transaction(m, _resign(m, tx), check_ledger=False))


def test_a_tampered_journal_is_rejected_before_the_proof(proven):
    m, res = proven
    tx = _copy(res.transaction)
    entry = tx.execution.journal[0]
    assert entry.function == "tx.transfer"
    entry.args[1] = entry.args[1][:1] + (1_000_000).to_bytes(8, "little")  # the transfer's amount: 1,000,000
    detail = _bad(verify_transaction(m, _resign(m, tx), check_ledger=False), "journal")
    assert "the journal explains" in detail


def test_an_unknown_verification_key_hash_is_invalid(proven):
    m, res = proven
    tx = _copy(res.transaction)
    for out in tx.outputs:
        if out.HasField("state"):
            out.state.zk_proof.verification_key_hash = b"\x01" * 32
    assert "unknown verification key" in _bad(verify_transaction(m, _resign(m, tx), check_ledger=False))


def test_a_proof_under_a_circuit_the_chain_does_not_pin_is_invalid(proven):
    m, res = proven
    tx = _copy(res.transaction)
    for out in tx.outputs:
        if out.HasField("state"):
            out.state.zk_proof.circuit_id = "toy_circuit.v1"
    detail = _bad(verify_transaction(m, _resign(m, tx), check_ledger=False))
    assert "is not pinned for resource kind 'test'" in detail


def test_a_verifier_with_another_key_store_rejects(proven, tmp_path):
    from ispc_core.coordinator import Manager
    from ispc_testdoubles import TestEnginePlugin, TestProverPlugin

    m, res = proven
    deploy = next(tx for _, tx in m.node.mempool.list() if not tx.HasField("execution"))
    overrides = {**m.chain_overrides(), "proof.mode": "sync", "proof.scheme": "testproof", "proof.circuit": "test_circuit"}
    with Manager.open(tmp_path / "other", overrides=overrides, plugins=[TestEnginePlugin(), TestProverPlugin()]) as v:
        v.submit_transaction(deploy)  # the same chain, with the resource deployed
        report = verify_transaction(v, res.transaction, check_ledger=False)
        assert [c.name for c in report.checks if c.ok] == ["structure", "signatures", "resource", "journal"]
        assert "unknown verification key" in _bad(report)
        # the node's gate refuses it the same way, and writes nothing
        with pytest.raises(errors.TransactionRejected) as info:
            v.submit_transaction(res.transaction)
        assert info.value.reason == "proof" and len(v.node.mempool) == 1


def test_a_tampered_signature_and_a_missing_proof_are_invalid(proven):
    m, res = proven
    tx = _copy(res.transaction)
    sig = tx.inputs[0].unlocking_proof.signature
    tx.inputs[0].unlocking_proof.signature = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
    assert verify_transaction(m, tx, check_ledger=False).reason.startswith("signatures")
    tx = _copy(res.transaction)
    for out in tx.outputs:
        if out.HasField("state"):
            out.state.ClearField("zk_proof")
    detail = _bad(verify_transaction(m, _resign(m, tx), check_ledger=False))
    assert "carries no proof" in detail and "accepts no unproven executions" in detail


def test_ledger_rules_are_checked(proven):
    m, res = proven
    tx = res.transaction
    # the execution's input gets spent by another (plain) transaction that is mined first
    m.node.mempool.remove([res.tx_id])
    alice = m.node.keys.get("alice")
    utxo = m.node.ledger.get_utxo(tx.inputs[0].outpoint)
    spend = pb.Transaction(version=1, chain_id=tx.chain_id, caller=alice.address, nonce=99)
    spend.inputs.add(outpoint=utxo.outpoint)
    spend.outputs.append(txcodec.native_output(alice.address, utxo.amount))
    txcodec.sign_inputs(spend, lambda i, inp: alice)
    m.node.submit(spend)
    m.mine()
    report = verify_transaction(m, tx)
    assert [c.name for c in report.checks if c.ok] == ["structure", "signatures", "resource", "journal", "proof"]
    assert "unknown or spent outpoint" in _bad(report, "ledger")
    assert verify_transaction(m, tx, check_ledger=False).valid


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
    monkeypatch.setenv("ISPC_CHAIN_ACCEPT_UNPROVEN", "true")  # a development chain: unproven executions are admitted
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
    assert ok.exit_code == 0
    report = json.loads(ok.output)
    assert report["valid"] is True and report["tx_id"] == tx_id
    # no proof: the report says so (no circuit, nothing proven) and names every check with its verdict
    assert (report["circuit"], report["proves_computation"]) == ("", False) and "no proof" in report["trust"]
    assert [(c["name"], c["ok"]) for c in report["checks"]] == [
        (name, True) for name in ("structure", "signatures", "resource", "journal", "proof", "ledger")
    ]
    text = runner.invoke(main, ["--home", str(home), "verify", tx_id]).output
    assert f"{tx_id} VALID" in text and "circuit (none): no proof" in text and "ok  proof: no proof" in text
    out = tmp_path / "tx.bin"
    assert runner.invoke(main, ["--home", str(home), "tx", "export", tx_id, "-o", str(out)]).exit_code == 0
    assert runner.invoke(main, ["--home", str(home), "verify", str(out), "--no-ledger"]).exit_code == 0
    tx = pb.Transaction.FromString(out.read_bytes())
    tx.inputs[0].unlocking_proof.signature = b"\x00" * 64
    out.write_bytes(tx.SerializeToString())
    bad = runner.invoke(main, ["--home", str(home), "verify", str(out), "--no-ledger"])
    assert bad.exit_code == 1 and "INVALID" in bad.output and "BAD signatures" in bad.output
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\xff\xff\xff not a transaction")
    assert runner.invoke(main, ["--home", str(home), "verify", str(garbage)]).exit_code == 2
    assert runner.invoke(main, ["--home", str(home), "verify", "00" * 32]).exit_code == 2
