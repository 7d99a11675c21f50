"""An ONNX inference proven with Groth16 on node A is accepted by node B on the same chain that shares only
the key store and the chain configuration (deploy, then call, through ``Manager.submit_transaction``), and
mined there; a transaction whose model output is changed by one bit is refused, naming the failed check:
the journal check when only the output changed, the proof when the journal and commitments were rewritten
to match and the transaction signed again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.errors import TransactionRejected
from ispc_core.inputs import load_json_inputs
from ispc_core.journal import rehash_execution
from ispc_core.node import txcodec
from ispc_core.node.keys import KeyStore
from ispc_core.verify import verify_transaction

EXAMPLES = Path(__file__).resolve().parents[2] / "plugins" / "ispc-onnx" / "examples"
GROTH16 = {"proof.mode": "sync", "proof.scheme": "groth16", "proof.curve": "bn254"}


def flip_last_output_bit(tx):
    """The transaction with one bit of the last output element flipped, in the return data only."""
    changed = type(tx)()
    changed.CopyFrom(tx)
    data = bytearray(changed.execution.return_data)
    data[-1] ^= 1  # one bit of one output element
    changed.execution.return_data = bytes(data)
    return changed


def forge_consistently(tx, home: Path, curve: str):
    """The one-bit output change carried through the journal's result.set and the return values, the commitments
    recomputed, and signed again by the caller and the executing node (both keys of ``home``)."""
    t = flip_last_output_bit(tx)
    ex = t.execution
    (entry,) = [e for e in ex.journal if e.function == "result.set"]
    assert entry.args[0].endswith(tx.execution.return_data)  # its argument is the encoded outputs
    arg = bytearray(entry.args[0])
    arg[-1] ^= 1
    entry.args[0] = bytes(arg)
    value = bytearray(ex.return_values[-1])  # ends with the last output tensor's bytes
    value[-1] ^= 1
    ex.return_values[-1] = bytes(value)
    rehash_execution(t, curve)
    keys = KeyStore(home / "keys")
    return txcodec.sign_execution(t, keys.by_address(bytes(t.caller)), keys.get("node"))


def refused(node, tx, check: str) -> str:
    before = [tx_id for tx_id, _ in node.node.mempool.list()], node.node.ledger.snapshot()
    with pytest.raises(TransactionRejected) as info:
        node.submit_transaction(tx)
    assert info.value.reason == check, str(info.value)
    assert ([tx_id for tx_id, _ in node.node.mempool.list()], node.node.ledger.snapshot()) == before
    return str(info.value)


def test_onnx_inference_proof_binds_the_output(tmp_path):
    with Manager.open(tmp_path / "a", overrides=GROTH16) as a:
        model = a.deploy(EXAMPLES / "mlp.onnx").resource_id
        inputs = load_json_inputs(str(EXAMPLES / "mlp_input.json"))
        res = a.call(CallRequest(model, "run", caller="alice", named_inputs=inputs))
        tx = res.transaction
        assert res.proof.proving_scheme == "groth16"
        assert tx.execution.return_data  # the encoded output tensors
        assert a.node.mempool.get(res.tx_id) is not None
        (deploy, _), (call_id, _) = a.node.mempool.list()
        assert call_id == res.tx_id
        deploy = a.node.mempool.get(deploy)
        chain = a.chain_overrides()

    (tmp_path / "b").mkdir()
    shutil.copytree(tmp_path / "a" / "zkkeys", tmp_path / "b" / "zkkeys")
    with Manager.open(tmp_path / "b", overrides={**chain, **GROTH16}) as b:
        b.submit_transaction(deploy)
        report = verify_transaction(b, tx)
        assert report.valid, report.reason
        assert report.circuit.startswith("onnx_inference.v1/" + model.hex()) and report.proves_computation

        changed = flip_last_output_bit(tx)
        report = verify_transaction(b, changed, check_ledger=False)
        assert not report.valid and report.failed.name == "signatures"  # the caller signed the output
        # only the output changed, signed again: the return data is not what the journal's result.set says
        resigned = flip_last_output_bit(tx)
        keys = KeyStore(tmp_path / "a" / "keys")
        txcodec.sign_caller(resigned, keys.by_address(bytes(resigned.caller)))
        txcodec.attest(resigned, keys.get("node"))
        refused(b, resigned, "journal")
        # journal and commitments rewritten to match, signed again: the proof's statement is not this one
        assert "public input" in refused(b, forge_consistently(tx, tmp_path / "a", "bn254"), "proof")

        assert b.submit_transaction(tx) == res.tx_id
        assert b.mine().tx_count == 2  # the deploy and the inference
        assert b.node.ledger.get_tx(res.tx_id) is not None
