"""Generate the two MNIST-size example models for zkML and their inputs (no downloads, no training).

Run from anywhere::

    python plugins/ispc-onnx/examples/generate_zkml.py

Writes next to this script:

* ``mnist_mlp.onnx`` — x: float32[1,784] -> Gemm(784->56) -> Relu -> MatMul(56x10) + Add(bias)
  -> logits: float32[1,10] (the 784-56-10 MLP of the zkML benchmarks);
* ``lenet5.onnx`` — image: float32[1,1,28,28] -> Conv(6 filters 5x5, pads 2, as LeNet-5 on a
  28x28 MNIST image) -> Relu -> AveragePool(2x2) -> Conv(16 filters 5x5, no pads) -> Relu
  -> AveragePool(2x2) -> Flatten(400) -> Gemm(120) -> Relu -> Gemm(84) -> Relu -> Gemm(10) -> logits;
  average pooling as in LeNet-5's subsampling layers;
* ``mnist_mlp_input.json``, ``lenet5_input.json`` — one synthetic 28x28 digit (a "7" drawn with two
  strokes and blurred, pixels in [0, 1]) in the typed input format of :mod:`ispc_onnx.inputs`.

The weights are random, not trained: He-normal (standard deviation ``sqrt(2 / fan_in)``), biases
``N(0, 0.01^2)``, from a fixed seed, so running the script again gives the same files byte for byte
(``plugins/ispc-zkml/tests/test_examples.py`` checks that). Needs only ``onnx`` and ``numpy``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
OPSET = 17
IR_VERSION = 8  # accepted by every onnxruntime >= 1.14
SEED = 20261203


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ispc-onnx-examples", producer_version="1"
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def _he(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def _bias(rng: np.random.Generator, n: int) -> np.ndarray:
    return (rng.standard_normal(n) * 0.01).astype(np.float32)


def make_mnist_mlp(rng: np.random.Generator) -> onnx.ModelProto:
    """784 -> 56 (Gemm, ReLU) -> 10 (MatMul + Add)."""
    w1, b1 = _he(rng, (56, 784), 784), _bias(rng, 56)
    w2, b2 = _he(rng, (56, 10), 56), _bias(rng, 10)
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu1"),
        helper.make_node("MatMul", ["r", "W2"], ["z"], name="fc2"),
        helper.make_node("Add", ["z", "b2"], ["logits"], name="bias2"),
    ]
    graph = helper.make_graph(
        nodes,
        "mnist_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 784])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(a, n) for n, a in (("W1", w1), ("b1", b1), ("W2", w2), ("b2", b2))],
    )
    return _model(graph)


def make_lenet5(rng: np.random.Generator) -> onnx.ModelProto:
    """LeNet-5 on 1x1x28x28: conv 5x5x6 (pads 2), pool, conv 5x5x16, pool, 400 -> 120 -> 84 -> 10."""
    k1, kb1 = _he(rng, (6, 1, 5, 5), 25), _bias(rng, 6)
    k2, kb2 = _he(rng, (16, 6, 5, 5), 150), _bias(rng, 16)
    w3, b3 = _he(rng, (120, 400), 400), _bias(rng, 120)
    w4, b4 = _he(rng, (84, 120), 120), _bias(rng, 84)
    w5, b5 = _he(rng, (10, 84), 84), _bias(rng, 10)
    n = helper.make_node
    nodes = [
        n("Conv", ["image", "K1", "Kb1"], ["c1"], name="conv1", kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
        n("Relu", ["c1"], ["r1"], name="relu1"),
        n("AveragePool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "K2", "Kb2"], ["c2"], name="conv2", kernel_shape=[5, 5]),
        n("Relu", ["c2"], ["r2"], name="relu2"),
        n("AveragePool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        n("Flatten", ["p2"], ["f"], name="flatten", axis=1),
        n("Gemm", ["f", "W3", "b3"], ["h3"], name="fc1", transB=1),
        n("Relu", ["h3"], ["r3"], name="relu3"),
        n("Gemm", ["r3", "W4", "b4"], ["h4"], name="fc2", transB=1),
        n("Relu", ["h4"], ["r4"], name="relu4"),
        n("Gemm", ["r4", "W5", "b5"], ["logits"], name="fc3", transB=1),
    ]
    inits = (("K1", k1), ("Kb1", kb1), ("K2", k2), ("Kb2", kb2), ("W3", w3), ("b3", b3), ("W4", w4), ("b4", b4), ("W5", w5), ("b5", b5))
    graph = helper.make_graph(
        nodes,
        "lenet5",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(a, name) for name, a in inits],
    )
    return _model(graph)


def make_digit() -> np.ndarray:
    """A 28x28 "7" in [0, 1]: a top bar and a diagonal stroke, blurred by a 3x3 box filter, 4 decimals."""
    img = np.zeros((28, 28))
    img[6:9, 7:22] = 1.0
    for t in np.linspace(0.0, 1.0, 60):
        r, c = int(round(8 + t * 14)), int(round(21 - t * 9))
        img[r - 1 : r + 2, c - 1 : c + 1] = 1.0
    padded = np.pad(img, 1)
    blurred = sum(padded[i : i + 28, j : j + 28] for i in range(3) for j in range(3)) / 9.0
    return np.round(np.clip(blurred, 0.0, 1.0), 4).astype(np.float32)


def _typed(name: str, array: np.ndarray) -> dict:
    return {name: {"dtype": str(array.dtype), "shape": list(array.shape), "data": array.reshape(-1).tolist()}}


def files() -> dict[str, bytes]:
    """Every file this script writes, by name (what the determinism test compares with the committed ones)."""
    rng = np.random.default_rng(SEED)
    mlp = make_mnist_mlp(rng)
    lenet = make_lenet5(rng)
    digit = make_digit()
    return {
        "mnist_mlp.onnx": mlp.SerializeToString(),
        "lenet5.onnx": lenet.SerializeToString(),
        "mnist_mlp_input.json": (json.dumps({"inputs": _typed("x", digit.reshape(1, 784))}) + "\n").encode(),
        "lenet5_input.json": (json.dumps({"inputs": _typed("image", digit.reshape(1, 1, 28, 28))}) + "\n").encode(),
    }


def main() -> None:
    """Write the models and input files next to this script."""
    for name, data in files().items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
