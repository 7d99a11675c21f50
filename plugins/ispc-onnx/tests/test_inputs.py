"""The input-file loader used by ``ispc call MODEL --input FILE.json``."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from ispc_core.errors import InvalidArguments, RequestError

from ispc_onnx.inputs import load_inputs


@pytest.fixture
def mlp_info(harness, mlp_code):
    return harness.deploy(mlp_code)[1]


def test_example_files_load_and_run(harness, build):
    for model, inp in [("mlp", "mlp_input"), ("cnn", "cnn_input"), ("mlp_int8", "mlp_int8_input"),
                       ("mlp", "mlp_input_plain")]:
        code = (build.examples / f"{model}.onnx").read_bytes()
        rid, info = harness.deploy(code)
        inputs = load_inputs(build.examples / f"{inp}.json", info)
        assert all(isinstance(v, np.ndarray) for v in inputs.values())
        result, _ = harness.call(rid, inputs)
        assert result.values


def test_typed_and_plain_forms_agree(mlp_info):
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 16)
    forms = [
        {"inputs": {"x": {"dtype": "float32", "shape": [1, 16], "data": x.reshape(-1).tolist()}}},
        {"inputs": {"x": {"dtype": "float32", "shape": [1, 16], "data": x.tolist()}}},
        {"inputs": {"x": {"dtype": "float32", "shape": [1, 16],
                          "data_b64": base64.b64encode(x.astype("<f4").tobytes()).decode()}}},
        {"inputs": {"x": x.tolist()}},
        {"inputs": [x.tolist()]},
        {"x": x.tolist()},
        x.tolist(),
    ]
    for doc in forms:
        loaded = load_inputs(doc, mlp_info)
        assert list(loaded) == ["x"] and loaded["x"].dtype == np.float32
        assert np.array_equal(loaded["x"], x), doc


def test_reads_files(tmp_path, mlp_info):
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"inputs": {"x": [[0.5] * 16]}}))
    assert load_inputs(path, mlp_info)["x"].shape == (1, 16)
    assert load_inputs(str(path), mlp_info.metadata)["x"].shape == (1, 16)
    with pytest.raises(RequestError, match="cannot read input file missing.json"):
        load_inputs(tmp_path / "missing.json", mlp_info)
    path.write_text("{not json")
    with pytest.raises(InvalidArguments, match="not valid JSON"):
        load_inputs(path, mlp_info)


def test_bad_entries_are_named(mlp_info):
    with pytest.raises(InvalidArguments, match=r"input 'x': the file says dtype float64, the model expects float32\[batch,16\]"):
        load_inputs({"inputs": {"x": {"dtype": "float64", "data": [[0.0] * 16]}}}, mlp_info)
    with pytest.raises(InvalidArguments, match=r"input 'x': shape \[1, 16\] holds 16 elements, data has 15"):
        load_inputs({"inputs": {"x": {"dtype": "float32", "shape": [1, 16], "data": [0.0] * 15}}}, mlp_info)
    with pytest.raises(InvalidArguments, match="input 'x': unknown field"):
        load_inputs({"inputs": {"x": {"dtype": "float32", "values": []}}}, mlp_info)
    with pytest.raises(InvalidArguments, match="input 'x': not a rectangular"):
        load_inputs({"inputs": {"x": [[1.0, 2.0], [1.0]]}}, mlp_info)
    with pytest.raises(InvalidArguments, match="unknown top-level"):
        load_inputs({"inputs": {}, "extra": 1}, mlp_info)
    with pytest.raises(InvalidArguments, match="needs integer data"):
        load_inputs({"inputs": {"k": {"dtype": "int64", "data": [1.5]}}}, None)


def test_without_signature_types_come_from_the_file():
    loaded = load_inputs({"inputs": {"k": {"dtype": "int8", "shape": [2], "data": [1, -2]}}})
    assert loaded["k"].dtype == np.int8 and loaded["k"].tolist() == [1, -2]
    with pytest.raises(InvalidArguments, match="positional inputs need the model signature"):
        load_inputs([1, 2])
