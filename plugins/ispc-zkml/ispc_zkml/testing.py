"""Helpers for tests of circuits made by the compiler: tiny models, the float reference, the forger.

``onnxruntime`` (the reference) is imported only by :func:`ort_run`; it is a
test dependency, not a dependency of the compiler.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["make_model", "ort_run", "forge", "unique_witness_violations"]


def make_model(nodes, inputs: Mapping[str, list], outputs: Mapping[str, list | None], inits: Mapping[str, np.ndarray] | None = None, opset: int = 17) -> bytes:
    """A checked ONNX model with float32 inputs and outputs, as bytes."""
    graph = helper.make_graph(
        list(nodes),
        "t",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    if any(s is None for s in outputs.values()):  # output shapes from onnx's shape inference
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def ort_run(model: bytes, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The float reference: onnxruntime on one thread."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    return dict(zip(names, s.run(names, {k: np.asarray(v, dtype=np.float32) for k, v in feeds.items()})))


def forge(cm, inputs, pins: Mapping[int, int]) -> list[int]:
    """A forger's witness: ``pins`` (builder wire → value) forced, every other wire recomputed by the hints."""
    return cm.witness(inputs, pins=pins)


def unique_witness_violations(cm, inputs, wires=None, delta: int = 1) -> list[str]:
    """Names of the wires that can be changed by ``delta`` (everything downstream recomputed) while the
    constraints still hold — empty for a sound circuit, whose witness is unique given its public inputs.

    A change the hints refuse (a range check driven out of its range: no bits exist for the value,
    :class:`~ispc_core.zk.errors.WitnessError`) counts as unsatisfiable, as it is."""
    from ispc_core.zk.errors import WitnessError

    honest = cm.witness(inputs)
    cm.r1cs.check(honest)
    values = list(cm._cb._values)
    names = cm.wire_names()
    kinds = cm._cb._kind
    r = cm.r1cs.field.modulus
    bad = []
    for w in wires if wires is not None else range(1, len(names)):
        if kinds[w] == "pub" and names[w].startswith("mid_"):
            continue  # the model id is a public input; changing it is a verification test
        if kinds[w] == "pub" and w in _input_wire_set(cm):
            continue  # so are the inputs
        try:
            wit = cm.witness(inputs, pins={w: (values[w] + delta) % r})
        except WitnessError:
            continue
        if cm.r1cs.is_satisfied(wit):
            bad.append(names[w])
    return bad


def _input_wire_set(cm) -> set[int]:
    return {int(w) for ws in cm._input_wires.values() for w in ws.reshape(-1)}


# ---------------------------------------------------------------------------------------
# a forger of transactions (the node-level tests)
# ---------------------------------------------------------------------------------------
def copy_tx(tx):
    """A copy of a transaction to edit."""
    out = type(tx)()
    out.CopyFrom(tx)
    return out


def as_attacker(tx, curve: str = "bn254"):
    """Make an edited transaction the attacker's own call — its caller and receipt — recompute every
    hash as a verifier does, and sign it with a fresh key as caller and executor, so that only the
    journal or the proof check can refuse it. Returns ``tx``, changed in place."""
    from ispc_core.journal import rehash_execution, request_hash_of
    from ispc_core.node import txcodec
    from ispc_core.node.keys import NodeKey
    from ispc_core.seal import receipt_state_id

    attacker = NodeKey.generate("attacker")
    tx.caller = attacker.address
    for out in tx.outputs:
        if out.HasField("state") and out.state.metadata.get("receipt") == "1":
            out.state.state_id = receipt_state_id(request_hash_of(tx))
    rehash_execution(tx, curve)
    return txcodec.sign_execution(tx, attacker, attacker)


def refused(node, tx, check: str) -> str:
    """Submit ``tx`` to ``node`` (a Manager), expect ``TransactionRejected`` by ``check``, and check that
    neither the mempool nor the ledger changed; returns the message."""
    import pytest

    from ispc_core.errors import TransactionRejected

    before = [i for i, _ in node.node.mempool.list()], node.node.ledger.snapshot()
    with pytest.raises(TransactionRejected) as info:
        node.submit_transaction(tx)
    assert info.value.reason == check, str(info.value)
    assert ([i for i, _ in node.node.mempool.list()], node.node.ledger.snapshot()) == before  # nothing written
    return str(info.value)
