"""Compile-time behaviour: typed errors naming the node / input, constant folding, scale selection."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from ispc_core.zk.fixedpoint import FixedPointOverflow
from ispc_zkml import InputError, ModelError, ScaleOverflow, UnsupportedOperator, choose_scale, compile_model
from ispc_zkml.testing import make_model, ort_run

n = helper.make_node


def dense(w_scale: float = 0.5, k: int = 4, m: int = 3, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((k, m)) * w_scale).astype(np.float32)
    return make_model([n("MatMul", ["x", "W"], ["h"], name="mm"), n("Relu", ["h"], ["y"], name="act")], {"x": [1, k]}, {"y": [1, m]}, {"W": w})


def test_an_unsupported_operator_is_refused_at_compile_time_naming_node_and_operator():
    model = make_model([n("MatMul", ["x", "W"], ["h"], name="mm"), n("Erf", ["h"], ["y"], name="probs")], {"x": [1, 4]}, {"y": [1, 3]}, {"W": np.ones((4, 3), np.float32)})
    with pytest.raises(UnsupportedOperator) as e:
        compile_model(model)
    assert e.value.node == "probs" and e.value.op_type == "Erf"
    assert "'probs'" in str(e.value) and "Erf" in str(e.value) and e.value.code == "zkml_unsupported_operator"
    unnamed = make_model([n("Exp", ["x"], ["y"])], {"x": [1, 4]}, {"y": [1, 4]})
    with pytest.raises(UnsupportedOperator, match=r"node 'Exp#0': operator Exp"):
        compile_model(unnamed)
    with pytest.raises(UnsupportedOperator, match="division by a tensor"):
        compile_model(make_model([n("Div", ["x", "z"], ["y"], name="d")], {"x": [2], "z": [2]}, {"y": [2]}))


def test_constant_subgraphs_are_folded_whatever_their_operators():
    # Exp and Sqrt have no circuit, but on constants they are folded away
    nodes = [
        n("Exp", ["c"], ["e"]),
        n("Sqrt", ["e"], ["w"]),
        n("Mul", ["x", "w"], ["y"], name="scale"),
    ]
    c = np.array([0.1, -0.2, 0.3], np.float32)
    model = make_model(nodes, {"x": [1, 3]}, {"y": [1, 3]}, {"c": c})
    cm = compile_model(model, scale=10)
    assert cm.folded == 2
    x = np.array([[0.5, -0.5, 0.25]], np.float32)
    got, ref = cm.run({"x": x})["y"], ort_run(model, {"x": x})["y"]
    assert np.all(np.abs(got - ref) <= cm.error_bound["y"] + 1e-6)


def test_bad_models_are_typed_errors():
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        compile_model(b"not a model")
    graph = helper.make_graph([n("Identity", ["x"], ["y"])], "g", [helper.make_tensor_value_info("x", TensorProto.INT64, [2])], [helper.make_tensor_value_info("y", TensorProto.INT64, [2])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    with pytest.raises(ModelError, match="input 'x' has element type INT64"):
        compile_model(m)


def test_symbolic_dimensions_become_one_or_what_input_shapes_says(mlp_bytes, mlp_input):
    assert compile_model(mlp_bytes, scale=8).inputs == {"x": (1, 16)}
    cm = compile_model(mlp_bytes, scale=8, input_shapes={"x": [2, 16]})
    assert cm.inputs == {"x": (2, 16)} and cm.outputs == {"y": (2, 8)}
    two = np.concatenate([mlp_input, -mlp_input])
    ref = ort_run(mlp_bytes, {"x": two})["y"]
    assert np.all(np.abs(cm.run({"x": two})["y"] - ref) <= cm.error_bound["y"] + 1e-6)
    with pytest.raises(ModelError, match="shape inference failed"):
        compile_model(mlp_bytes, input_shapes={"x": [1, 15]})


def test_input_errors_name_the_input(mlp_bytes, mlp_input):
    cm = compile_model(mlp_bytes, scale=8)
    with pytest.raises(InputError, match="missing input 'x'"):
        cm.instance({})
    with pytest.raises(InputError, match="unknown input 'z'"):
        cm.instance({"x": mlp_input, "z": mlp_input})
    with pytest.raises(InputError, match=r"input 'x' has shape \[2, 16\]"):
        cm.instance({"x": np.zeros((2, 16), np.float32)})
    with pytest.raises(InputError, match="dtype"):
        cm.instance({"x": np.array(["a"] * 16).reshape(1, 16)})
    with pytest.raises(InputError, match="NaN"):
        cm.instance({"x": np.full((1, 16), np.nan, np.float32)})
    x = mlp_input.copy()
    x[0, 5] = 1.5
    with pytest.raises(InputError, match=r"input 'x'\[0, 5\] = 1.5 is outside the declared range \[-1.0, 1.0\]"):
        cm.instance({"x": x})
    assert cm.instance({"x": mlp_input.reshape(-1)}).outputs["y"].shape == (1, 8)  # a flat list is fine
    # bypassing the check: the circuit itself has no witness for an out-of-range input
    q = cm.quantize_inputs({"x": mlp_input})
    q["x"][0, 0] = 1 << 12
    with pytest.raises(FixedPointOverflow, match=r"x\[0, 0\]\.sign"):
        cm.instance(q, quantized=True)


def test_the_default_scale_follows_the_weights_and_the_input_range():
    assert choose_scale(dense(0.5)) == 16
    big = choose_scale(dense(3e4))  # large weights: a smaller scale keeps quotients within 32 bits
    assert big < 16
    cm = compile_model(dense(3e4))
    assert cm.scale == big and cm.max_quotient_bits <= 32 and f"/s{big}-" in cm.circuit_id
    assert compile_model(dense(0.5), input_range=1e5).scale < 16
    assert compile_model(dense(0.5), quotient_bits=12).max_quotient_bits <= 12
    with pytest.raises(ScaleOverflow, match="no scale"):
        compile_model(dense(3e4), quotient_bits=4)


def test_an_explicit_scale_is_used_and_recorded(mlp_bytes, mlp_input):
    cm8, cm12 = compile_model(mlp_bytes, scale=8), compile_model(mlp_bytes, scale=12)
    assert (cm8.scale, cm12.scale) == (8, 12) and cm8.circuit_id != cm12.circuit_id
    assert cm8.constraint_count < cm12.constraint_count
    assert cm8.error_bound["y"].max() > cm12.error_bound["y"].max()
    # the same model and scale for another input range or shape: another constraint system, another id
    assert compile_model(mlp_bytes, scale=8, input_range=2.0).circuit_id != cm8.circuit_id
    assert compile_model(mlp_bytes, scale=8, input_shapes={"x": [2, 16]}).circuit_id != cm8.circuit_id
    assert compile_model(mlp_bytes, scale=8).circuit_id == cm8.circuit_id and cm8.params["scale"] == 8
    with pytest.raises(ScaleOverflow, match="would wrap|does not fit|more than"):
        compile_model(mlp_bytes, scale=240)
    with pytest.raises(ScaleOverflow):
        compile_model(mlp_bytes, scale=0)


def test_a_tensor_read_twice_is_rescaled_once():
    w = np.eye(3, dtype=np.float32) * 0.5
    shared = make_model([n("MatMul", ["x", "W"], ["h"]), n("Relu", ["h"], ["a"]), n("LeakyRelu", ["h"], ["b"], alpha=0.2), n("Add", ["a", "b"], ["y"])], {"x": [1, 3]}, {"y": [1, 3]}, {"W": w})
    cm = compile_model(shared, scale=8)
    assert sum(1 for nm in cm.wire_names() if nm.endswith(".q") and nm.startswith("Relu")) == 3
    assert not any(nm.startswith("LeakyRelu#2[") and nm.endswith("].q") for nm in cm.wire_names())
    x = np.array([[0.5, -0.5, 0.9]], np.float32)
    assert np.all(np.abs(cm.run({"x": x})["y"] - ort_run(shared, {"x": x})["y"]) <= cm.error_bound["y"] + 1e-6)


def test_a_circuit_past_the_work_limit_is_refused_before_it_is_built_naming_the_node():
    from ispc_zkml import CircuitTooLarge

    W = np.ones((64, 64), np.float32) / 64
    model = make_model([n("MatMul", ["x", "W"], ["h"], name="dense"), n("Relu", ["h"], ["y"], name="act")], {"x": [1, 64]}, {"y": [1, 64]}, {"W": W})
    assert compile_model(model, max_work=64 + 64 * 64 + 64 * 49).constraint_count > 0  # exactly at the limit: built
    with pytest.raises(CircuitTooLarge) as e:
        compile_model(model, max_work=64 + 64 * 64 + 64 * 49 - 1)
    assert e.value.node == "act" and e.value.code == "zkml_circuit_too_large" and "past the limit" in str(e.value)
    with pytest.raises(CircuitTooLarge, match="the inputs alone"):
        compile_model(model, max_work=63)
