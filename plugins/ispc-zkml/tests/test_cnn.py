"""The example CNN of ispc-onnx (Conv 3×3 pad 1 → ReLU → MaxPool 2×2 → Flatten → Gemm): matches
onnxruntime within the error bound; its pooling selections, quotients and outputs are determined by
the public inputs. (It is ~15k constraints: proving it is left to the benchmark, not the tests.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ispc_zkml import compile_model
from ispc_zkml.testing import ort_run, unique_witness_violations


def _example(name):
    from pathlib import Path

    ex = Path(__file__).resolve().parents[2] / "ispc-onnx" / "examples"
    return ex / name


@pytest.fixture(scope="module")
def compiled():
    model = _example("cnn.onnx").read_bytes()
    d = json.loads(_example("cnn_input.json").read_text())["inputs"]["image"]
    x = np.array(d["data"], dtype=np.float32).reshape(d["shape"])
    return model, compile_model(model), x


def test_cnn_matches_onnxruntime_and_reports_its_layers(compiled):
    model, cm, x = compiled
    got = cm.run({"image": x})["logits"]
    ref = ort_run(model, {"image": x})["logits"]
    assert np.all(np.abs(got - ref) <= cm.error_bound["logits"] + 1e-6)
    by = {l.node: l for l in cm.layers}
    assert by["conv"].constraints == 0 and by["dense"].constraints == 0 and by["flatten"].constraints == 0
    assert by["relu"].constraints > 0 and by["pool"].constraints > 0
    assert sum(l.constraints for l in cm.layers) == cm.constraint_count


def test_cnn_pooling_and_outputs_cannot_be_forged(compiled):
    model, cm, x = compiled
    names = cm.wire_names()
    picked = [i for i, n in enumerate(names) if n.startswith("pool[0, 1, 2, 3]") and n.endswith(".sel")]
    picked += [i for i, n in enumerate(names) if n in ("logits[0, 3]", "logits[0, 3].q", "logits[0, 9]", "logits[0, 9].q")]
    picked += [i for i, n in enumerate(names) if n.startswith("relu[0, 2, 3, 4]") and n.endswith((".q", ".y"))]
    assert len(picked) == 3 + 4 + 2
    assert unique_witness_violations(cm, {"image": x}, wires=picked) == []
