"""Generate the example ONNX models and their input files (no downloads).

Run from anywhere::

    python plugins/ispc-onnx/examples/generate.py

Writes next to this script:

* ``mlp.onnx`` — x: float32[batch,16] -> MatMul(16x8) + bias -> Relu -> y: float32[batch,8]
* ``cnn.onnx`` — image: float32[1,1,8,8] -> Conv(4 filters 3x3, pad 1) -> Relu
  -> MaxPool(2x2) -> Flatten -> Gemm(64->10) -> logits: float32[1,10]
* ``mlp_int8.onnx`` — ``mlp.onnx`` with int8 weights (onnxruntime
  ``quantize_dynamic``, QInt8): MatMulInteger on dynamically quantized activations
* ``mlp_input.json``, ``cnn_input.json``, ``mlp_int8_input.json`` — inputs in the
  typed format of :mod:`ispc_onnx.inputs`; ``mlp_input_plain.json`` — the same
  MLP input as plain nested lists.

Weights come from a fixed seed, so running the script again gives the same
float models byte for byte.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
OPSET = 17
IR_VERSION = 8  # accepted by every onnxruntime >= 1.14


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ispc-onnx-examples", producer_version="1"
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def make_mlp(rng: np.random.Generator) -> onnx.ModelProto:
    """A 16 -> 8 dense layer with ReLU and a dynamic batch dimension."""
    w = (rng.standard_normal((16, 8)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(8) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"], name="dense"),
        helper.make_node("Add", ["xw", "b"], ["z"], name="bias"),
        helper.make_node("Relu", ["z"], ["y"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    return _model(graph)


def make_cnn(rng: np.random.Generator) -> onnx.ModelProto:
    """Conv -> ReLU -> MaxPool -> Gemm on a 1x1x8x8 image."""
    k = (rng.standard_normal((4, 1, 3, 3)) * 0.3).astype(np.float32)
    kb = (rng.standard_normal(4) * 0.1).astype(np.float32)
    w = (rng.standard_normal((10, 64)) * 0.2).astype(np.float32)
    wb = (rng.standard_normal(10) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "K", "Kb"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "Wd", "bd"], ["logits"], name="dense", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=[
            numpy_helper.from_array(k, "K"),
            numpy_helper.from_array(kb, "Kb"),
            numpy_helper.from_array(w, "Wd"),
            numpy_helper.from_array(wb, "bd"),
        ],
    )
    return _model(graph)


def make_mlp_int8(mlp_path: Path, out_path: Path) -> None:
    """Quantize the MLP's weights to int8 with onnxruntime's dynamic quantization."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        tmp_out = Path(tmp) / "q.onnx"
        quantize_dynamic(str(mlp_path), str(tmp_out), weight_type=QuantType.QInt8)
        model = onnx.load(str(tmp_out))
    model.producer_name, model.producer_version = "ispc-onnx-examples", "1"
    del model.metadata_props[:]
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(out_path))


def _typed(name: str, array: np.ndarray) -> dict:
    return {name: {"dtype": str(array.dtype), "shape": list(array.shape), "data": array.reshape(-1).tolist()}}


def main() -> None:
    """Write the models and input files next to this script."""
    rng = np.random.default_rng(20240601)
    mlp = make_mlp(rng)
    onnx.save(mlp, str(HERE / "mlp.onnx"))
    onnx.save(make_cnn(rng), str(HERE / "cnn.onnx"))
    make_mlp_int8(HERE / "mlp.onnx", HERE / "mlp_int8.onnx")

    x = np.round(rng.uniform(-1, 1, (1, 16)), 4).astype(np.float32)
    image = np.round(rng.uniform(0, 1, (1, 1, 8, 8)), 4).astype(np.float32)
    (HERE / "mlp_input.json").write_text(json.dumps({"inputs": _typed("x", x)}, indent=1) + "\n")
    (HERE / "mlp_int8_input.json").write_text(json.dumps({"inputs": _typed("x", x)}, indent=1) + "\n")
    (HERE / "mlp_input_plain.json").write_text(json.dumps({"inputs": {"x": x.tolist()}}) + "\n")
    (HERE / "cnn_input.json").write_text(json.dumps({"inputs": _typed("image", image)}, indent=1) + "\n")
    for p in sorted(HERE.glob("*.onnx")):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
