"""Deploy-time validation: malformed models, unsupported operators, metadata, the plugin hook."""

from __future__ import annotations

import json

import pytest
from onnx import TensorProto, helper

from ispc_core.errors import DeployError
from ispc_core.specs import EngineSpec

from ispc_onnx.engine import OnnxEngine


def test_plugin_offers_the_onnx_engine():
    from ispc_onnx import plugin

    (spec,) = plugin.ispc_engines()
    assert isinstance(spec, EngineSpec)
    assert (spec.name, spec.kinds, spec.suffixes) == ("onnx", ("onnx",), (".onnx",))
    assert isinstance(spec.factory(None), OnnxEngine)


def test_entry_point_is_declared():
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="ispc")}
    assert names.get("onnx") == "ispc_onnx.plugin"


def test_metadata_records_opset_and_signature(harness, mlp_code, cnn_code):
    _, info = harness.deploy(mlp_code)
    assert info.kind == "onnx"
    assert [f.name for f in info.exports] == ["run"]
    assert info.exports[0].params == ("x:float32[batch,16]",)
    assert info.metadata["opset"] == "17"
    assert json.loads(info.metadata["inputs"]) == [{"name": "x", "dtype": "float32", "shape": ["batch", 16]}]
    assert json.loads(info.metadata["outputs"]) == [{"name": "y", "dtype": "float32", "shape": ["batch", 8]}]
    assert all(isinstance(v, str) for v in info.metadata.values())
    _, info = harness.deploy(cnn_code)
    assert json.loads(info.metadata["inputs"])[0]["shape"] == [1, 1, 8, 8]
    assert "Conv" in json.loads(info.metadata["operators"])


@pytest.mark.parametrize("code", [b"", b"not a model at all", b"\x08\x07" + b"\xff" * 40])
def test_malformed_bytes_are_refused(harness, code):
    with pytest.raises(DeployError, match="not an ONNX model"):
        harness.deploy(code)


def test_checker_failure_is_refused(harness, build):
    # the node reads a tensor nobody produces
    code = build.make_model(
        [helper.make_node("Relu", ["nowhere"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    with pytest.raises(DeployError, match="checker"):
        harness.deploy(code)


def test_operator_unsupported_by_cpu_provider_is_named(harness, build):
    # Tan is a valid ONNX operator, but onnxruntime's CPU provider has no float64 kernel for it
    code = build.make_model(
        [helper.make_node("Tan", ["x"], ["y"], name="tangent")],
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [2])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [2])],
    )
    with pytest.raises(DeployError, match=r"operator Tan .*'tangent'.*CPU provider"):
        harness.deploy(code)


def test_custom_domain_operator_is_named(harness, build):
    code = build.make_model(
        [helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        extra_opsets=[("com.example", 1)],
    )
    with pytest.raises(DeployError, match="com.example:Frobnicate"):
        harness.deploy(code)


def test_unsupported_input_type_is_refused(harness, build):
    code = build.identity_model(TensorProto.STRING, [2])
    with pytest.raises(DeployError, match="input 'x' has element type STRING"):
        harness.deploy(code)


def test_model_over_max_model_bytes_is_refused(mlp_code):
    engine = OnnxEngine(max_model_bytes=len(mlp_code) - 1)
    with pytest.raises(DeployError, match="exceeds max_model_bytes"):
        engine.validate(mlp_code, ())


def test_factory_reads_configuration_defensively(mlp_code):
    class Cfg:
        def get(self, key):
            return {"onnx.cache_sessions": 3, "limits.max_model_bytes": 100}.get(key)

    engine = OnnxEngine.from_services(type("S", (), {"config": Cfg()})())
    assert engine.cache.max_sessions == 3 and engine.max_model_bytes == 100
    engine = OnnxEngine.from_services(type("S", (), {"config": {"onnx": {"cache_bytes": 5}}})())
    assert engine.cache.max_bytes == 5
