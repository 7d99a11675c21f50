"""ArgMax, Sigmoid, Tanh, Softmax: outputs match onnxruntime within the compiler's error bound (ArgMax
exactly, on separated inputs), no wire can be forged, ArgMax's index and tie rule cannot be changed,
and the approximation tables' measured error holds on every grid point."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ispc_zkml import compile_model
from ispc_zkml.activations import EXP, SIGMOID, TANH, table
from ispc_zkml.testing import make_model, ort_run, unique_witness_violations


n = helper.make_node
X23 = np.array([[0.5, -0.75, 0.25], [-0.1, 0.9, -0.6]], dtype=np.float32)
SCALE = 8


def violations(cm, feeds, delta: int, wires=None) -> list[str]:
    """:func:`ispc_zkml.testing.unique_witness_violations` with ``delta`` first."""
    return unique_witness_violations(cm, feeds, wires=wires, delta=delta)


def _int_model(nodes, inputs, outputs, opset=17) -> bytes:
    """A model with float inputs and int64 outputs (ArgMax)."""
    g = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info(k, TensorProto.INT64, v) for k, v in outputs.items()],
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m.SerializeToString()


W34 = (np.random.default_rng(3).standard_normal((3, 4)) * 0.8).astype(np.float32)
CASES = {
    "Sigmoid": (make_model([n("Sigmoid", ["x"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}), {"x": X23 * 6}, 6.0),
    "Sigmoid-after-MatMul": (make_model([n("MatMul", ["x", "W"], ["m"]), n("Sigmoid", ["m"], ["y"])], {"x": [2, 3]}, {"y": [2, 4]}, {"W": W34}), {"x": X23}, 1.0),
    "Tanh": (make_model([n("Tanh", ["x"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}), {"x": X23 * 3}, 3.0),
    "Tanh-clipped": (make_model([n("Tanh", ["x"], ["y"])], {"x": [1, 3]}, {"y": [1, 3]}), {"x": np.array([[9.5, -12.0, 0.0]], np.float32)}, 12.0),
    "Softmax": (make_model([n("Softmax", ["x"], ["y"], axis=1)], {"x": [2, 3]}, {"y": [2, 3]}), {"x": X23 * 4}, 4.0),
    "Softmax-axis0": (make_model([n("Softmax", ["x"], ["y"], axis=0)], {"x": [2, 3]}, {"y": [2, 3]}), {"x": X23 * 4}, 4.0),
    "Softmax-wide-range": (make_model([n("Softmax", ["x"], ["y"])], {"x": [1, 4]}, {"y": [1, 4]}), {"x": np.array([[9.0, -9.0, 8.5, 0.0]], np.float32)}, 10.0),
    "Softmax-opset11": (make_model([n("Softmax", ["x"], ["y"], axis=1)], {"x": [1, 2, 2]}, {"y": [1, 2, 2]}, opset=11), {"x": X23[:, :2].reshape(1, 2, 2) * 3}, 3.0),
    "ArgMax": (_int_model([n("ArgMax", ["x"], ["y"], axis=1, keepdims=0)], {"x": [2, 3]}, {"y": [2]}), {"x": X23}, 1.0),
    "ArgMax-keepdims-axis0": (_int_model([n("ArgMax", ["x"], ["y"], axis=0)], {"x": [2, 3]}, {"y": [1, 3]}), {"x": X23}, 1.0),
}


def _argmax_matmul() -> bytes:
    g = helper.make_graph(
        [n("MatMul", ["x", "W"], ["m"]), n("ArgMax", ["m"], ["y"], axis=-1)], "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])], [helper.make_tensor_value_info("y", TensorProto.INT64, [2, 1])],
        initializer=[onnx.numpy_helper.from_array(W34, "W")],
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


CASES["ArgMax-after-MatMul"] = (_argmax_matmul(), {"x": X23}, 1.0)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    model, feeds, rng = CASES[request.param]
    return request.param, model, compile_model(model, scale=SCALE, input_range=rng), feeds


def test_outputs_match_onnxruntime_within_the_error_bound(case):
    name, model, cm, feeds = case
    got = cm.dequantize(cm.instance(feeds).outputs)
    want = ort_run(model, feeds)
    for k, ref in want.items():
        g = got[k]
        assert g.shape == ref.shape, (g.shape, ref.shape)
        if name.startswith("ArgMax"):  # separated inputs: the index is exact
            assert g.dtype == np.int64 and np.array_equal(g, ref), (g, ref)
            continue
        slack = 1e-6 * (1 + np.abs(ref))
        assert np.all(np.abs(g - ref) <= cm.error_bound[k] + slack), (name, g, ref, cm.error_bound[k])


def test_no_wire_can_change_with_the_constraints_still_holding(case):
    name, model, cm, feeds = case
    for delta in (1, -1):
        assert violations(cm, feeds, delta) == [], name


def test_the_layer_report_adds_up(case):
    name, model, cm, feeds = case
    assert sum(l.constraints for l in cm.layers) == cm.constraint_count


def test_argmax_is_an_integer_output_at_scale_0():
    model, feeds, _ = CASES["ArgMax"]
    cm = compile_model(model, scale=SCALE)
    assert cm.output_scales == {"y": 0}
    inst = cm.instance(feeds)
    assert [int(v) for v in inst.outputs["y"]] == [0, 1]
    # the public output is the index itself
    assert list(inst.public_inputs[-2:]) == [0, 1]


@pytest.mark.parametrize("last", [0, 1])
def test_argmax_ties_follow_onnx_and_no_other_index_satisfies(last):
    model = _int_model([n("ArgMax", ["x"], ["y"], axis=1, keepdims=0, select_last_index=last, name="am")], {"x": [1, 4]}, {"y": [1]})
    cm = compile_model(model, scale=SCALE)
    feeds = {"x": np.array([[0.25, 0.75, -0.5, 0.75]], np.float32)}
    want = ort_run(model, feeds)["y"]
    inst = cm.instance(feeds)
    assert int(inst.outputs["y"][0]) == int(want[0]) == (3 if last else 1)
    # a forger claiming any other index: pin the index and every one-hot bit follows; nothing satisfies
    wire = cm.wire("am[0].index")
    for other in (0, 1, 2, 3):
        if other != int(want[0]):
            assert not cm.r1cs.is_satisfied(cm.witness(feeds, pins={wire: other}))
    # nor the other tied index with its one-hot bits set consistently by hand
    other = 1 if last else 3
    pins = {wire: other} | {cm.wire(f"am[0].onehot[{j}]"): int(j == other) for j in range(4)}
    assert not cm.r1cs.is_satisfied(cm.witness(feeds, pins=pins))


@pytest.mark.parametrize("ap", [SIGMOID, TANH, EXP], ids=lambda a: a.name)
def test_the_measured_error_holds_between_and_beyond_the_grid(ap):
    """The table's bound against a fresh evaluation: random grid points and points past the clip."""
    s = 10
    tab = table(ap, s)
    assert tab.eps < 2.0 ** -(s + 1) * 1.1  # the approximation is below the rounding at this scale
    rng = np.random.default_rng(1)
    xs = rng.integers(tab.base, tab.top + 1, 200)
    for X in xs:
        j, u = (int(X) - tab.base) >> tab.t, (int(X) - tab.base) & ((1 << tab.t) - 1)
        c = tab.coef[j]
        acc = c[-1]
        for d in range(ap.degree - 1, -1, -1):
            acc = acc * u + (c[d] << (tab.t * (ap.degree - d)))
        y = (acc + (1 << (tab.k - 1))) >> tab.k
        assert abs(y / 2.0**s - float(ap.fn(np.float64(X / 2.0**s)))) <= tab.eps


def test_sigmoid_of_large_inputs_saturates_within_the_bound():
    model = make_model([n("Sigmoid", ["x"], ["y"])], {"x": [1, 4]}, {"y": [1, 4]})
    cm = compile_model(model, scale=12, input_range=40.0)
    feeds = {"x": np.array([[39.0, -39.0, 16.5, -0.001]], np.float32)}
    got = cm.run(feeds)["y"]
    want = ort_run(model, feeds)["y"]
    assert np.all(np.abs(got - want) <= cm.error_bound["y"] + 1e-6)
    assert float(cm.error_bound["y"].max()) < 5e-3  # 40 in → 0.25·2^-13 propagated + the table's 1.3e-4
