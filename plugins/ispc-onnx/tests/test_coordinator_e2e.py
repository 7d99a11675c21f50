"""End to end through the core's coordinator (proofs off): deploy, call, transaction, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ispc_core.context import CallRequest
from ispc_core.errors import DeadlineExceeded, InvalidArguments, OversizedInput
from ispc_core.journal import encode_arg

from ispc_onnx import tensorcodec

coordinator = pytest.importorskip("ispc_core.coordinator")


@pytest.fixture
def node(tmp_path):
    overrides = {"proof.mode": "off", "chain.accept_unproven": True, "limits.max_input_bytes": str(4 << 20), "limits.wall_time_ms": "2000"}
    with coordinator.Manager.open(tmp_path / "home", overrides=overrides) as manager:
        yield manager


def _state_outputs(tx):
    return [o.state for o in tx.outputs if o.HasField("state")]


def _snapshot(node):
    return len(node.node.mempool), node.balance("node")


def test_call_builds_a_transaction_bound_to_the_outputs(node, build, mlp_x):
    deployed = node.deploy(build.examples / "mlp.onnx")
    assert deployed.kind == "onnx" and deployed.exports == ("run",)
    result = node.call(CallRequest(resource_id=deployed.resource_id, function="run", named_inputs={"x": mlp_x}))
    ((name, y),) = result.values
    assert name == "y" and y.shape == (1, 8)
    # the outputs went through result.set: they are the return data, and in the trace
    assert result.return_data == tensorcodec.encode_tensors([("y", y)])
    (state,) = _state_outputs(result.transaction)
    assert state.execution_result_hash == result.execution_result_hash != b""
    assert result.transaction.execution.execution_result_hash == result.execution_result_hash
    # the signed call record names the model and carries the input; the journal the outputs it returned
    ex = result.transaction.execution
    assert ex.resource_id == deployed.resource_id and ex.function == "run"
    assert [(v.name, v.value) for v in ex.named_inputs] == [("x", encode_arg(mlp_x))]
    assert ex.return_values == [encode_arg(("y", y))]
    assert [e.function for e in ex.journal][-1] == "result.set" and ex.journal[-1].args
    assert tensorcodec.decode_tensors(ex.return_data)[0][1].shape == (1, 8)
    # no unsigned metadata (engine, shapes, usage) in the transaction: only the receipt marker
    assert dict(state.metadata) == {"receipt": "1"}
    pending = dict(node.node.mempool.list())  # the on-chain deploy and the call
    assert result.tx_id in pending and len(pending) == 2
    assert [o.resource.resource_id for tx in pending.values() for o in tx.outputs
            if o.WhichOneof("content") == "resource"] == [deployed.resource_id]


def test_result_hash_follows_the_values(node, build, mlp_x):
    rid = node.deploy(build.examples / "mlp.onnx").resource_id
    a = node.call(CallRequest(resource_id=rid, function="run", named_inputs={"x": mlp_x}, nonce=1))
    b = node.call(CallRequest(resource_id=rid, function="run", named_inputs={"x": mlp_x}, nonce=2))
    x2 = mlp_x.copy()
    x2[0, 0] += 0.25
    c = node.call(CallRequest(resource_id=rid, function="run", named_inputs={"x": x2}, nonce=3))
    assert a.return_data == b.return_data and a.trace_commitment == b.trace_commitment
    assert c.return_data != a.return_data and c.execution_result_hash != a.execution_result_hash


def test_input_file_through_the_loader(node, build):
    from ispc_onnx.inputs import load_inputs

    deployed = node.deploy(build.examples / "cnn.onnx")
    info = node.core.resource(deployed.resource_id)[2]
    inputs = load_inputs(build.examples / "cnn_input.json", info)
    result = node.call(CallRequest(resource_id=deployed.resource_id, function="run", named_inputs=inputs))
    assert result.values[0][1].shape == (1, 10)


@pytest.mark.parametrize(
    "named,error",
    [
        ({}, InvalidArguments),
        ({"x": np.zeros((1, 15), np.float32)}, InvalidArguments),
        ({"x": np.full((1, 16), np.nan, np.float32)}, InvalidArguments),
        ({"x": np.zeros((1, 16), np.float64)}, InvalidArguments),
        ({"x": np.zeros((1 << 17, 16), np.float32)}, OversizedInput),
    ],
)
def test_errors_write_nothing(node, build, named, error):
    rid = node.deploy(build.examples / "mlp.onnx").resource_id
    before = _snapshot(node)
    with pytest.raises(error):
        node.call(CallRequest(resource_id=rid, function="run", named_inputs=named))
    assert _snapshot(node) == before
    assert node.core.active_contexts == set()


def test_deadline_through_the_coordinator_writes_nothing(tmp_path, build):
    overrides = {"proof.mode": "off", "chain.accept_unproven": True, "limits.max_input_bytes": str(4 << 20), "limits.wall_time_ms": "300"}
    with coordinator.Manager.open(tmp_path / "slow", overrides=overrides) as node:
        rid = node.deploy(build.slow_model(), kind="onnx").resource_id
        before = _snapshot(node)
        with pytest.raises(DeadlineExceeded):
            node.call(CallRequest(resource_id=rid, function="run", named_inputs={"x": np.ones((512, 512), np.float32)}))
        assert _snapshot(node) == before


def test_nonfinite_policy_from_node_configuration(tmp_path, build):
    overrides = {"proof.mode": "off", "chain.accept_unproven": True, "plugin.onnx.allow_nonfinite": "true"}
    with coordinator.Manager.open(tmp_path / "lenient", overrides=overrides) as node:
        rid = node.deploy(build.examples / "mlp.onnx").resource_id
        x = np.zeros((1, 16), np.float32)
        x[0, 3] = np.inf
        result = node.call(CallRequest(resource_id=rid, function="run", named_inputs={"x": x}))
        assert result.values[0][1].shape == (1, 8)
