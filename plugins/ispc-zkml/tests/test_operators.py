"""Every operator: the circuit's outputs match onnxruntime within the compiler's error bound, and the
forger's tests hold — no single wire (an output, a quotient, a remainder bit, a sign bit, a product) can
be changed, with everything downstream recomputed, while the constraints still hold.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from ispc_zkml import compile_model
from ispc_zkml.testing import make_model, ort_run, unique_witness_violations

RNG = np.random.default_rng(7)
W34 = (RNG.standard_normal((3, 4)) * 0.5).astype(np.float32)
W43 = (RNG.standard_normal((4, 3)) * 0.5).astype(np.float32)
B4 = (RNG.standard_normal(4) * 0.1).astype(np.float32)
C6 = (RNG.standard_normal((2, 3)) * 0.3).astype(np.float32)
X23 = np.array([[0.5, -0.75, 0.25], [-0.1, 0.9, -0.6]], dtype=np.float32)
Y32 = np.array([[0.3, -0.2], [0.7, 0.1], [-0.5, 0.8]], dtype=np.float32)
n = helper.make_node
const = lambda name, v: n("Constant", [], [name], value=helper.make_tensor(name, 7, [len(v)], v))  # noqa: E731 (int64)

# id -> (nodes, inputs {name: shape}, outputs {name: shape}, initializers, feeds)
CASES = {
    "Gemm": ([n("Gemm", ["x", "W", "b"], ["y"], alpha=0.5, beta=2.0, transB=1)], {"x": [2, 3]}, {"y": [2, 4]}, {"W": W43, "b": B4}, {"x": X23}),
    "MatMul-const": ([n("MatMul", ["x", "W"], ["y"])], {"x": [2, 3]}, {"y": [2, 4]}, {"W": W34}, {"x": X23}),
    "MatMul-activations": ([n("MatMul", ["x", "z"], ["y"])], {"x": [2, 3], "z": [3, 2]}, {"y": [2, 2]}, {}, {"x": X23, "z": Y32}),
    "Add-const": ([n("Add", ["x", "c"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {"c": C6}, {"x": X23}),
    "Add-activations": ([n("Add", ["x", "z"], ["y"])], {"x": [2, 3], "z": [2, 3]}, {"y": [2, 3]}, {}, {"x": X23, "z": Y32.T.copy()}),
    "Sub-const-first": ([n("Sub", ["c", "x"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {"c": C6}, {"x": X23}),
    "Mul-const": ([n("Mul", ["x", "c"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {"c": C6}, {"x": X23}),
    "Mul-int": ([n("Mul", ["x", "c"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {"c": np.array(3.0, np.float32)}, {"x": X23}),
    "Mul-activations": ([n("Mul", ["x", "z"], ["y"])], {"x": [2, 3], "z": [2, 3]}, {"y": [2, 3]}, {}, {"x": X23, "z": Y32.T.copy()}),
    "Div-const": ([n("Div", ["x", "c"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {"c": np.array(3.0, np.float32)}, {"x": X23}),
    "Relu": ([n("Relu", ["x"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {}, {"x": X23}),
    "Relu-after-MatMul": ([n("MatMul", ["x", "W"], ["m"]), n("Relu", ["m"], ["y"])], {"x": [2, 3]}, {"y": [2, 4]}, {"W": W34}, {"x": X23}),
    "LeakyRelu": ([n("MatMul", ["x", "W"], ["m"]), n("LeakyRelu", ["m"], ["y"], alpha=0.1)], {"x": [2, 3]}, {"y": [2, 4]}, {"W": W34}, {"x": X23}),
    "Clip": ([n("Clip", ["x", "lo", "hi"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {"lo": np.array(-0.5, np.float32), "hi": np.array(0.3, np.float32)}, {"x": X23}),
    "Flatten": ([n("Flatten", ["x"], ["y"], axis=1)], {"x": [1, 2, 3]}, {"y": [1, 6]}, {}, {"x": X23.reshape(1, 2, 3)}),
    "Reshape": ([const("s", [3, -1]), n("Reshape", ["x", "s"], ["y"])], {"x": [2, 3]}, {"y": [3, 2]}, {}, {"x": X23}),
    "Identity": ([n("Identity", ["x"], ["y"])], {"x": [2, 3]}, {"y": [2, 3]}, {}, {"x": X23}),
    "Transpose": ([n("Transpose", ["x"], ["y"], perm=[1, 0])], {"x": [2, 3]}, {"y": [3, 2]}, {}, {"x": X23}),
    "Squeeze": ([const("a", [0]), n("Squeeze", ["x", "a"], ["y"])], {"x": [1, 2, 3]}, {"y": [2, 3]}, {}, {"x": X23.reshape(1, 2, 3)}),
    "Unsqueeze": ([const("a", [0, 3]), n("Unsqueeze", ["x", "a"], ["y"])], {"x": [2, 3]}, {"y": [1, 2, 3, 1]}, {}, {"x": X23}),
    "Concat": ([n("Concat", ["x", "c"], ["y"], axis=0)], {"x": [2, 3]}, {"y": [4, 3]}, {"c": C6}, {"x": X23}),
    "Shape-Reshape": ([n("Shape", ["x"], ["s"]), n("Reshape", ["m", "s"], ["y"]), ], {"x": [2, 3], "m": [3, 2]}, {"y": [2, 3]}, {}, {"x": X23, "m": Y32}),
}
IMG = RNG.uniform(-1, 1, (1, 2, 4, 4)).astype(np.float32)
IMG3 = IMG[:, :, :3, :3].copy()
K = (RNG.standard_normal((4, 1, 3, 3)) * 0.4).astype(np.float32)  # 4 filters, 2 groups of 1 channel
KB = (RNG.standard_normal(4) * 0.1).astype(np.float32)
BN = [RNG.uniform(0.5, 1.5, 2).astype(np.float32), (RNG.standard_normal(2) * 0.1).astype(np.float32), (RNG.standard_normal(2) * 0.1).astype(np.float32), RNG.uniform(0.5, 2, 2).astype(np.float32)]
CASES.update({
    "Conv": ([n("Conv", ["x", "K", "KB"], ["y"], kernel_shape=[3, 3], pads=[1, 0, 1, 2], strides=[2, 1], dilations=[1, 2], group=2)], {"x": [1, 2, 4, 4]}, {"y": None}, {"K": K, "KB": KB}, {"x": IMG}),
    "Conv-same": ([n("Conv", ["x", "K2"], ["y"], kernel_shape=[2, 2], auto_pad="SAME_UPPER")], {"x": [1, 2, 3, 3]}, {"y": None}, {"K2": K[:, :, :2, :2].repeat(2, axis=1)[:2]}, {"x": IMG3}),
    "MaxPool": ([n("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1])], {"x": [1, 2, 3, 3]}, {"y": None}, {}, {"x": IMG[:, :, :3, :3].copy()}),
    "AveragePool": ([n("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], {"x": [1, 2, 4, 4]}, {"y": None}, {}, {"x": IMG}),
    "AveragePool-include-pad": ([n("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)], {"x": [1, 2, 3, 3]}, {"y": None}, {}, {"x": IMG3}),
    "GlobalAveragePool": ([n("GlobalAveragePool", ["x"], ["y"])], {"x": [1, 2, 3, 3]}, {"y": None}, {}, {"x": IMG3}),
    "BatchNormalization": ([n("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], epsilon=1e-3)], {"x": [1, 2, 3, 3]}, {"y": None}, dict(zip("gbmv", BN)), {"x": IMG3}),
})
SCALE = 8


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    nodes, ins, outs, inits, feeds = CASES[request.param]
    model = make_model(nodes, ins, outs, inits)
    cm = compile_model(model, scale=SCALE)
    return request.param, model, cm, feeds


def test_outputs_match_onnxruntime_within_the_error_bound(case):
    name, model, cm, feeds = case
    inst = cm.instance(feeds)
    got = cm.dequantize(inst.outputs)
    want = ort_run(model, feeds)
    for k, ref in want.items():
        g = np.asarray(got[k], dtype=np.float64)
        assert g.shape == ref.shape, (g.shape, ref.shape)
        slack = 1e-6 * (1 + np.abs(ref))  # float32 rounding of the reference
        assert np.all(np.abs(g - ref) <= cm.error_bound[k] + slack), (name, g, ref, cm.error_bound[k])


def test_no_wire_can_change_with_the_constraints_still_holding(case):
    """For each internal wire and each output: +1 (and -1) with the rest recomputed has no satisfying witness."""
    name, model, cm, feeds = case
    for delta in (1, -1):
        assert unique_witness_violations(cm, feeds, delta=delta) == [], name


def test_an_output_one_unit_off_fails_the_constraints(case):
    name, model, cm, feeds = case
    honest = cm.witness(feeds)
    pub = honest[1 : 1 + cm.r1cs.n_public]
    out_pos = 1 + len(pub) - 1  # the last output element, in circom order
    bad = list(honest)
    bad[out_pos] = (bad[out_pos] + 1) % cm.r1cs.field.modulus
    assert not cm.r1cs.is_satisfied(bad)


def test_the_layer_report_adds_up(case):
    name, model, cm, feeds = case
    assert sum(l.constraints for l in cm.layers) == cm.constraint_count
    assert cm.layers[0].node == "(inputs)" and cm.layers[-1].node == "(outputs)"
