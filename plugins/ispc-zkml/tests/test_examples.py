"""The MNIST-size examples of ispc-onnx (``examples/generate_zkml.py``): the committed files are what the
generator makes, and the 784-56-10 MLP compiles and matches onnxruntime within its error bound. (LeNet-5
takes about a minute to compile; the benchmark in bench/zkml compiles and proves it.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from ispc_zkml import compile_model
from ispc_zkml.testing import ort_run

EXAMPLES = Path(__file__).resolve().parents[2] / "ispc-onnx" / "examples"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_zkml", EXAMPLES / "generate_zkml.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _input(name: str, key: str) -> np.ndarray:
    d = json.loads((EXAMPLES / f"{name}_input.json").read_text())["inputs"][key]
    return np.array(d["data"], dtype=np.float32).reshape(d["shape"])


def test_the_committed_examples_are_what_the_generator_makes():
    made = _generator().files()
    assert set(made) == {"mnist_mlp.onnx", "lenet5.onnx", "mnist_mlp_input.json", "lenet5_input.json"}
    for name, data in made.items():
        assert (EXAMPLES / name).read_bytes() == data, f"{name} differs: run plugins/ispc-onnx/examples/generate_zkml.py"
    np.testing.assert_array_equal(_input("mnist_mlp", "x").reshape(28, 28), _input("lenet5", "image").reshape(28, 28))


@pytest.mark.parametrize("input_check", ["circuit", "verifier"])
def test_the_mnist_mlp_compiles_and_matches_onnxruntime(input_check):
    data = (EXAMPLES / "mnist_mlp.onnx").read_bytes()
    cm = compile_model(data, input_check=input_check)
    assert cm.inputs == {"x": (1, 784)} and cm.outputs == {"logits": (1, 10)}
    assert cm.constraint_count < (20_000 if input_check == "circuit" else 3_000)
    x = _input("mnist_mlp", "x")
    got, ref = cm.run({"x": x})["logits"], ort_run(data, {"x": x})["logits"]
    assert np.all(np.abs(got - ref) <= cm.error_bound["logits"] + 1e-6 * (1 + np.abs(ref)))
