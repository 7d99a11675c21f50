"""An ONNX inference proven with Groth16 verifies on a node that shares only the key store,
and the proof stops verifying when the model's output in the transaction is changed."""

from __future__ import annotations

import shutil
from pathlib import Path

from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.inputs import load_json_inputs
from ispc_core.verify import verify_transaction

EXAMPLES = Path(__file__).resolve().parents[2] / "plugins" / "ispc-onnx" / "examples"
GROTH16 = {"proof.mode": "sync", "proof.scheme": "groth16", "proof.curve": "bn254"}


def test_onnx_inference_proof_binds_the_output(tmp_path):
    with Manager.open(tmp_path / "a", overrides=GROTH16) as a:
        model = a.deploy(EXAMPLES / "mlp.onnx").resource_id
        inputs = load_json_inputs(str(EXAMPLES / "mlp_input.json"))
        res = a.call(CallRequest(model, "run", caller="alice", named_inputs=inputs))
        tx = res.transaction
        assert res.proof.proving_scheme == "groth16"
        assert tx.execution.return_data  # the encoded output tensors
        assert a.node.mempool.get(res.tx_id) is not None

    (tmp_path / "b").mkdir()
    shutil.copytree(tmp_path / "a" / "zkkeys", tmp_path / "b" / "zkkeys")
    with Manager.open(tmp_path / "b", overrides=GROTH16) as b:
        report = verify_transaction(b, tx, check_ledger=False)
        assert report.valid, report.reason

        changed = type(tx)()
        changed.CopyFrom(tx)
        data = bytearray(changed.execution.return_data)
        data[-1] ^= 1  # one bit of one output element
        changed.execution.return_data = bytes(data)
        report = verify_transaction(b, changed, check_ledger=False)
        assert not report.valid
        assert "execution result hash" in report.reason or "does not verify" in report.reason
