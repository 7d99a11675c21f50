"""Many transactions at once: ``Verifier.verify_many`` / ``ispc verify A B …`` / ``Manager.submit_transactions``
batch the Groth16 pairings (one multi-pairing per key) and give the verdicts of one-by-one verification."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.errors import RequestError
from ispc_core.node import txcodec
from ispc_core.verification import Verifier
from ispc_core.zk.curves import get_backend
from ispc_groth16.data_structures import Proof

from adversarial import forger


def _resign(net, tx):
    return forger.sign(tx, caller_key=net.alice, executor_key=net.executor, input_key=net.alice)


def _with_proof(net, tx, edit):
    """A copy of ``tx`` whose proof is changed by ``edit(zk)``, re-signed by a forger holding alice's and A's keys."""
    tx = forger.copy(tx)
    zk = forger.the_proof(tx).__class__()
    zk.CopyFrom(forger.the_proof(tx))
    edit(zk)
    forger.attach(tx, zk)
    return _resign(net, tx)


def _bad_a(zk):
    g1 = get_backend("bn254").g1
    p = Proof.from_bytes("bn254", zk.proof)
    zk.proof = Proof("bn254", g1.add(p.a, g1.generator()), p.b, p.c).to_bytes()  # a valid point, a wrong proof


def _bad_c(zk):
    p = Proof.from_bytes("bn254", zk.proof)
    zk.proof = Proof("bn254", p.a, p.b, get_backend("bn254").g1.neg(p.c)).to_bytes()


def _bad_input(zk):
    zk.public_inputs[2] = (int.from_bytes(zk.public_inputs[2], "big") ^ 1).to_bytes(32, "big")


def _mix(net):
    """Honest proven transactions made on A at B's tip, and forgeries of them (each invalid for one reason)."""
    pay = net.call("token", "transfer", 5, input_data=net.bob).transaction
    inc = net.call("counter", "increment", 1).transaction
    bad_sig = forger.copy(pay)
    bad_sig.inputs[0].unlocking_proof.signature = b"\x00" * 64
    garbled = _with_proof(net, pay, lambda zk: setattr(zk, "proof", zk.proof[:40] + bytes([zk.proof[40] ^ 1]) + zk.proof[41:]))
    return [
        pay,
        _with_proof(net, pay, _bad_a),      # only the pairing refuses it
        inc,
        _with_proof(net, inc, _bad_c),      # only the pairing refuses it
        _with_proof(net, pay, _bad_input),  # refused before the pairing (public input not recomputed)
        bad_sig,                            # refused before the proof
        garbled,                            # malformed or not verifying
        _with_proof(net, inc, lambda zk: setattr(zk, "proof", forger.the_proof(pay).proof)),  # another tx's proof
    ]


def _spy_batches(net, monkeypatch):
    prover = Verifier(net.B).prover_for("groth16", "bn254")
    batches, singles = [], []
    real_batch, real_verify = prover.verify_batch, prover.verify
    monkeypatch.setattr(prover, "verify_batch", lambda arts: batches.append(len(arts)) or real_batch(arts))
    monkeypatch.setattr(prover, "verify", lambda art: singles.append(art) or real_verify(art))
    return batches, singles


def test_verify_many_gives_the_one_by_one_verdicts(net, monkeypatch):
    txs = _mix(net)
    v = Verifier(net.B)
    one_by_one = [v.verify(tx) for tx in txs]
    assert [r.valid for r in one_by_one] == [True, False, True, False, False, False, False, False]
    assert [r.failed.name for r in one_by_one if not r.valid] == ["proof", "proof", "proof", "signatures", "proof", "proof"]
    batches, singles = _spy_batches(net, monkeypatch)
    many = v.verify_many(txs)
    assert [r.to_json() for r in many] == [r.to_json() for r in one_by_one]
    # one batch: the 6 proofs that reached the pairing (all but the bad input and the bad signature); the
    # bisection finds the 3 wrong ones that decode (the garbled one never enters the batch), and each of the 4
    # refused is verified alone once more (prover.verify) for its report's reason
    assert batches == [6]
    assert len(singles) == 4
    assert v.verify_many([]) == []
    assert [r.to_json() for r in v.verify_many(txs[:1])] == [one_by_one[0].to_json()]


def test_verify_many_without_pairings_and_without_verify_batch(net, monkeypatch):
    txs = _mix(net)
    v = Verifier(net.B)
    expected = [r.to_json() for r in (v.verify(tx, check_ledger=False) for tx in txs)]
    prover = v.prover_for("groth16", "bn254")
    monkeypatch.delattr(type(prover), "verify_batch")  # a prover without batches: one by one
    assert [r.to_json() for r in v.verify_many(txs, check_ledger=False)] == expected


def test_submit_transactions_batches_then_admits_in_order(net, monkeypatch):
    txs = _mix(net)
    before = net.state()
    batches, singles = _spy_batches(net, monkeypatch)
    out = net.B.submit_transactions([txcodec.encode(txs[0]), *txs[1:], b"\xff not a transaction"])
    assert [a.ok for a in out] == [True, False, True, False, False, False, False, False, False]
    assert [a.tx_id for a in out[:-1]] == [txcodec.tx_id(tx) for tx in txs] and out[-1].tx_id == b""
    assert [getattr(a.error, "reason", None) for a in out] == [
        None, "proof", None, "proof", "proof", "signatures", "proof", "proof", None]
    assert "does not verify" in str(out[1].error) and "does not verify" in str(out[3].error)
    assert "public input 2 is not the value recomputed" in str(out[4].error)
    assert isinstance(out[-1].error, RequestError)
    assert batches == [7]  # every carried proof that decodes from bytes to an artifact, in one call
    # the admitted ones are pending; the block has exactly them
    assert [tid for tid, _ in net.B.node.mempool.list()] == [out[0].tx_id, out[2].tx_id]
    assert before["mempool"] == []
    block = net.B.mine()
    assert block is not None and list(block.tx_ids) == [out[0].tx_id, out[2].tx_id]


def test_cli_verify_several(net):
    txs = _mix(net)
    files = []
    for i, tx in enumerate(txs):
        f = net.home_b.parent / f"tx{i}.bin"
        f.write_bytes(txcodec.encode(tx))
        files.append(str(f))
    ids = [net.B.submit_transaction(txs[0]).hex(), net.B.submit_transaction(txs[2]).hex()]  # pending on B
    net.B.close()
    net.A.close()
    runner = CliRunner()
    home = ["--home", str(net.home_b)]
    res = runner.invoke(main, [*home, "verify", "--json", *files])
    assert res.exit_code == 1, res.output
    reports = json.loads(res.output)
    assert [r["valid"] for r in reports] == [True, False, True, False, False, False, False, False]
    assert [r["tx_id"] for r in reports] == [txcodec.tx_id(tx).hex() for tx in txs]
    text = runner.invoke(main, [*home, "verify", *files]).output.splitlines()
    assert len(text) == len(txs)
    assert text[0].startswith(f"{txcodec.tx_id(txs[0]).hex()} VALID circuit contract_execution.v1/")
    assert "INVALID" in text[1] and "reason: proof:" in text[1] and "does not verify" in text[1]
    ok = runner.invoke(main, [*home, "verify", files[0], files[2]])
    assert ok.exit_code == 0 and len(ok.output.splitlines()) == 2
    by_id = runner.invoke(main, [*home, "verify", "--json", *ids])
    assert by_id.exit_code == 0 and [r["tx_id"] for r in json.loads(by_id.output)] == ids
    single = runner.invoke(main, [*home, "verify", "--json", files[0]])  # one argument: one object, as before
    assert single.exit_code == 0 and json.loads(single.output)["valid"] is True
    assert runner.invoke(main, [*home, "verify", files[0], str(net.home_b / "nope.bin")]).exit_code == 2
