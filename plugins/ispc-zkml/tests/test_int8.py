"""The int8 path: every operator matches onnxruntime within the compiler's error bound (integers exactly,
on inputs of the 2^-s grid away from rounding ties), the tie rule is ONNX's (halves to even) and proven,
no wire can be forged, and examples/mlp_int8.onnx compiles, proves and verifies with Groth16 on bn254."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ispc_core.zk.errors import ConstraintUnsatisfied
from ispc_zkml import UnsupportedOperator, compile_model
from ispc_zkml.testing import ort_run, unique_witness_violations

n = helper.make_node
EXAMPLES = Path(__file__).resolve().parents[2] / "ispc-onnx" / "examples"
RNG = np.random.default_rng(11)
SCALE = 8


def violations(cm, feeds, delta: int, wires=None) -> list[str]:
    """:func:`ispc_zkml.testing.unique_witness_violations` with ``delta`` first."""
    return unique_witness_violations(cm, feeds, wires=wires, delta=delta)


def model(nodes, inputs, outputs, inits=None, opset=17) -> bytes:
    """Float inputs; outputs ``{name: (elem_type, shape)}``."""
    g = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info(k, t, s) for k, (t, s) in outputs.items()],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m.SerializeToString()


F, U8, I8 = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT8
f32 = lambda v: np.array(v, np.float32)  # noqa: E731
X = (np.round(RNG.uniform(-1, 1, (2, 4)) * 2**SCALE) / 2**SCALE).astype(np.float32)  # on the grid: exact inputs
W = RNG.integers(-100, 100, (4, 3)).astype(np.int8)
K = RNG.integers(-60, 60, (2, 1, 2, 2)).astype(np.int8)
IMG = (np.round(RNG.uniform(-1, 1, (1, 1, 2, 2)) * 2**SCALE) / 2**SCALE).astype(np.float32)
X1 = X[:1]
Q = [n("QuantizeLinear", ["x", "xs", "xz"], ["xq"])]
QI = {"xs": f32(0.0125), "xz": np.array(128, np.uint8)}

CASES = {
    "QuantizeLinear-uint8": (model(Q, {"x": [2, 4]}, {"xq": (U8, [2, 4])}, QI), {"x": X}),
    "QuantizeLinear-int8-saturating": (
        model([n("QuantizeLinear", ["x", "s", "z"], ["q"])], {"x": [1, 4]}, {"q": (I8, [1, 4])}, {"s": f32(0.004), "z": np.array(-3, np.int8)}), {"x": X1}),
    "QuantizeLinear-per-axis": (
        model([n("QuantizeLinear", ["x", "s", "z"], ["q"], axis=1)], {"x": [2, 4]}, {"q": (I8, [2, 4])},
              {"s": f32([0.01, 0.02, 0.005, 0.03]), "z": np.array([0, 1, -2, 3], np.int8)}), {"x": X}),
    "Quantize-Dequantize": (
        model(Q + [n("DequantizeLinear", ["xq", "xs", "xz"], ["y"])], {"x": [1, 4]}, {"y": (F, [1, 4])}, QI), {"x": X1}),
    "QLinearMatMul": (
        model(Q + [n("QLinearMatMul", ["xq", "xs", "xz", "W", "ws", "wz", "ys", "yz"], ["yq"]), n("DequantizeLinear", ["yq", "ys", "yz"], ["y"])],
              {"x": [1, 4]}, {"y": (F, [1, 3])}, QI | {"W": W, "ws": f32(0.01), "wz": np.array(0, np.int8), "ys": f32(0.05), "yz": np.array(120, np.uint8)}), {"x": X1}),
    "QLinearConv": (
        model([n("QuantizeLinear", ["x", "xs", "xz"], ["xq"]), n("QLinearConv", ["xq", "xs", "xz", "K", "ks", "kz", "ys", "yz", "B"], ["yq"], pads=[0, 1, 0, 0]),
               n("DequantizeLinear", ["yq", "ys", "yz"], ["y"])],
              {"x": [1, 1, 2, 2]}, {"y": (F, [1, 2, 1, 2])},
              QI | {"K": K, "ks": f32([0.02, 0.01]), "kz": np.array([0, 0], np.int8), "ys": f32(0.03), "yz": np.array(100, np.uint8), "B": np.array([300, -200], np.int32)}), {"x": IMG}),
    "DynamicQuantize-MatMulInteger": (
        model([n("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]), n("MatMulInteger", ["q", "W", "z"], ["acc"]), n("Cast", ["acc"], ["accf"], to=1),
               n("Mul", ["s", "ws"], ["m"]), n("Mul", ["accf", "m"], ["y"])],
              {"x": [1, 4]}, {"y": (F, [1, 3])}, {"W": W, "ws": f32(0.01)}), {"x": X1}),
    "DynamicQuantize-outputs": (
        model([n("DynamicQuantizeLinear", ["x"], ["q", "s", "z"])], {"x": [1, 4]}, {"q": (U8, [1, 4]), "s": (F, []), "z": (U8, [])}), {"x": X[:1]}),
    "DynamicQuantize-Dequantize": (
        model([n("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]), n("DequantizeLinear", ["q", "s", "z"], ["y"])], {"x": [1, 4]}, {"y": (F, [1, 4])}), {"x": X1}),
    "ConvInteger": (
        model([n("QuantizeLinear", ["x", "xs", "xz"], ["xq"]), n("ConvInteger", ["xq", "K", "xz"], ["acc"]), n("Cast", ["acc"], ["y"], to=1)],
              {"x": [1, 1, 2, 2]}, {"y": (F, [1, 2, 1, 1])}, QI | {"K": K}), {"x": IMG}),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    m, feeds = CASES[request.param]
    return request.param, m, compile_model(m, scale=SCALE), feeds


def test_outputs_match_onnxruntime_within_the_error_bound(case):
    name, m, cm, feeds = case
    got = cm.dequantize(cm.instance(feeds).outputs)
    want = ort_run(m, feeds)
    for k, ref in want.items():
        g = got[k]
        assert g.shape == ref.shape, (k, g.shape, ref.shape)
        if name == "DynamicQuantize-outputs" and k == "s":
            continue  # the scale is the circuit's, at 2^-s; compared through the dequantized values below
        if ref.dtype.kind in "iu":  # exact inputs: the integers are onnxruntime's
            assert cm.output_scales[k] == 0 and np.array_equal(g, ref.astype(np.int64)), (name, k, g, ref)
        slack = 1e-6 * (1 + np.abs(ref))
        assert np.all(np.abs(g - ref) <= cm.error_bound[k] + slack), (name, k, g, ref, cm.error_bound[k])


def test_no_wire_can_change_with_the_constraints_still_holding(case):
    name, m, cm, feeds = case
    for delta in (1, -1):
        assert violations(cm, feeds, delta) == [], name


def test_the_layer_report_adds_up(case):
    name, m, cm, feeds = case
    assert sum(l.constraints for l in cm.layers) == cm.constraint_count


def test_quantize_rounds_halves_to_even_as_onnx_and_the_tie_is_proven():
    m = model([n("QuantizeLinear", ["x", "s", "z"], ["q"], name="ql")], {"x": [1, 6]}, {"q": (I8, [1, 6])}, {"s": f32(1 / 16), "z": np.array(0, np.int8)})
    cm = compile_model(m, scale=SCALE, input_range=2.0)
    feeds = {"x": f32([[0.5, 1.5, 2.5, -0.5, -1.5, -2.5]]) / 16}
    want = ort_run(m, feeds)["q"]
    inst = cm.instance(feeds)
    assert list(want[0]) == [0, 2, 2, 0, -2, -2]
    assert np.array_equal(inst.outputs["q"].astype(np.int64), want.astype(np.int64))
    # a forger rounding a half the other way: the quotient or the tie bit changed, the rest recomputed
    wires = [cm.wire(f"ql[0, {j}].{w}") for j in range(6) for w in ("q", "tie", "odd_tie")]
    for d in (1, -1):
        assert violations(cm, feeds, d, wires=wires) == []


def test_dynamic_quantize_of_an_all_zero_input():
    m, _ = CASES["DynamicQuantize-MatMulInteger"]
    cm = compile_model(m, scale=SCALE)
    feeds = {"x": np.zeros((1, 4), np.float32)}
    assert np.all(cm.run(feeds)["y"] == 0) and np.all(ort_run(m, feeds)["y"] == 0)
    assert violations(cm, feeds, 1) == []


def test_refused_int8_variants_name_the_reason():
    dyn_scale = model([n("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]), n("QuantizeLinear", ["x", "s", "z"], ["y"], name="requant")],
                      {"x": [1, 4]}, {"y": (U8, [1, 4])})  # fmt: skip
    with pytest.raises(UnsupportedOperator, match="y_scale computed at run time"):
        compile_model(dyn_scale, scale=SCALE)
    trunc = model([n("Cast", ["x"], ["y"], to=TensorProto.INT32, name="trunc")], {"x": [1, 4]}, {"y": (TensorProto.INT32, [1, 4])})
    with pytest.raises(UnsupportedOperator, match="'trunc'.*fixed-point value to INT32"):
        compile_model(trunc, scale=SCALE)


# ---------------------------------------------------------------------------------------
# examples/mlp_int8.onnx
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def int8():
    m = (EXAMPLES / "mlp_int8.onnx").read_bytes()
    d = json.loads((EXAMPLES / "mlp_int8_input.json").read_text())["inputs"]["x"]
    return m, compile_model(m), np.array(d["data"], dtype=np.float32).reshape(d["shape"])


def test_mlp_int8_matches_onnxruntime_within_the_bound(int8):
    m, cm, x = int8
    assert cm.scale == 16
    for feeds in ({"x": x}, {"x": np.ones_like(x)}, {"x": -np.ones_like(x)}, {"x": np.zeros_like(x)}, {"x": np.where(np.arange(16) % 2, 1.0, -1.0).astype(np.float32).reshape(1, 16)}):
        got, ref = cm.run(feeds)["y"], ort_run(m, feeds)["y"]
        assert np.all(np.abs(got - ref) <= cm.error_bound["y"] + 1e-6 * (1 + np.abs(ref))), (feeds, got, ref)
    got, ref = cm.run({"x": x})["y"], ort_run(m, {"x": x})["y"]
    assert np.abs(got - ref).max() < 2e-5  # observed: no rounding of the int8 path flips on this input
    by = {l.op_type: l for l in cm.layers}
    assert by["MatMulInteger"].constraints == 0 and by["Cast"].constraints == 0


def test_mlp_int8_quantization_cannot_be_forged(int8):
    m, cm, x = int8
    names = cm.wire_names()
    picked = [i for i, nm in enumerate(names) if nm in ("x_QuantizeLinear.zero_point.q", "x_QuantizeLinear.scale.q", "x_QuantizeLinear.all_zero")]
    picked += [i for i, nm in enumerate(names) if nm.startswith(("x_QuantizeLinear[0, 3]", "x_QuantizeLinear.max5", "x_QuantizeLinear.min7")) and nm.endswith((".q", ".tie", ".sel", ".dq"))]
    picked += [i for i, nm in enumerate(names) if nm in ("y[0, 0]", "y[0, 3]")]
    assert len(picked) >= 10
    for d in (1, -1):
        assert violations(cm, {"x": x}, d, wires=picked) == []


def test_mlp_int8_proves_and_verifies_with_groth16(int8, tmp_path):
    from ispc_groth16.plugin import Groth16Prover

    m, cm, x = int8
    prover = Groth16Prover(tmp_path / "keys")
    inst = cm.instance({"x": x})
    art = prover.prove(inst, "bn254")
    assert prover.verify(art)
    assert cm.public_inputs(cm.quantize_inputs({"x": x}), inst.outputs) == tuple(art.public_inputs)
    # a forged output is refused by the prover
    bad = list(inst.witness)
    bad[1 + cm.r1cs.n_public - 1] = (bad[1 + cm.r1cs.n_public - 1] + 1) % cm.r1cs.field.modulus
    with pytest.raises(ConstraintUnsatisfied):
        cm.r1cs.check(bad)
