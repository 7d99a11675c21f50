"""Execution: correct results, every kind of bad input, limits, caching, determinism."""

from __future__ import annotations

import threading
import time

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, numpy_helper

from ispc_core.errors import (
    ConcurrencyLimitExceeded,
    DeadlineExceeded,
    InvalidArguments,
    OversizedInput,
    UnknownFunction,
)
from ispc_core.specs import Limits

from ispc_onnx import tensorcodec


def _reference_mlp(code: bytes, x: np.ndarray) -> np.ndarray:
    model = onnx.load_model_from_string(code)
    w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return np.maximum(x @ w["W"] + w["b"], 0)


def test_mlp_matches_numpy_and_is_traced(harness, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code)
    result, ctx = harness.call(rid, {"x": mlp_x})
    ((name, y),) = result.values
    assert name == "y" and y.shape == (1, 8) and y.dtype == np.float32
    np.testing.assert_allclose(y, _reference_mlp(mlp_code, mlp_x), rtol=1e-5, atol=1e-6)
    # the outputs went through result.set into the trace, canonically encoded
    assert len(ctx.trace) == 1
    assert ctx.draft.return_data == tensorcodec.encode_tensors([("y", y)])
    inputs, outputs = tensorcodec.decode_io(result.output_data)
    assert inputs[0][0] == "x" and np.array_equal(inputs[0][1], mlp_x)
    assert outputs[0][0] == "y" and np.array_equal(outputs[0][1], y)
    assert result.metadata["model_id"] == rid.hex()
    assert result.metadata["opset"] == "17"
    assert result.metadata["input_shapes"] == '{"x": [1, 16]}'
    assert result.metadata["output_shapes"] == '{"y": [1, 8]}'


def test_dynamic_batch_and_nested_lists(harness, mlp_code):
    rid, _ = harness.deploy(mlp_code)
    x = np.arange(48, dtype=np.float32).reshape(3, 16) / 50
    result, _ = harness.call(rid, {"x": x.tolist()})
    assert result.values[0][1].shape == (3, 8)
    np.testing.assert_allclose(result.values[0][1], _reference_mlp(mlp_code, x), rtol=1e-5, atol=1e-6)


def test_positional_args(harness, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code)
    by_name, _ = harness.call(rid, {"x": mlp_x})
    by_position, _ = harness.call(rid, args=(mlp_x,))
    assert by_name.output_data == by_position.output_data


def test_cnn_and_int8_models_run(harness, cnn_code, int8_code, mlp_code, mlp_x):
    rid, _ = harness.deploy(cnn_code)
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 1, 8, 8)
    result, _ = harness.call(rid, {"image": image})
    assert result.values[0][0] == "logits" and result.values[0][1].shape == (1, 10)
    rid_q, info_q = harness.deploy(int8_code)
    assert "MatMulInteger" in info_q.metadata["operators"]
    quantized, _ = harness.call(rid_q, {"x": mlp_x})
    np.testing.assert_allclose(quantized.values[0][1], _reference_mlp(mlp_code, mlp_x), atol=0.1)


def test_unknown_function(harness, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(UnknownFunction, match="'run'"):
        harness.call(rid, {"x": mlp_x}, function="predict")


def test_missing_input_is_named(harness, mlp_code):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(InvalidArguments, match=r"missing input\(s\) 'x' \(float32\[batch,16\]\)"):
        harness.call(rid, {})


def test_extra_input_is_named(harness, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(InvalidArguments, match=r"unknown input\(s\) 'z'"):
        harness.call(rid, {"x": mlp_x, "z": mlp_x})


def test_wrong_positional_count(harness, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(InvalidArguments, match=r"takes 1 input\(s\) \(x:float32\[batch,16\]\), got 2"):
        harness.call(rid, args=(mlp_x, mlp_x))


def test_wrong_dtype_array(harness, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(InvalidArguments, match=r"input 'x': expected element type float32 .*got a float64 array"):
        harness.call(rid, {"x": mlp_x.astype(np.float64)})


def test_wrong_rank(harness, mlp_code):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(InvalidArguments, match=r"input 'x': expected rank 2 \(float32\[batch,16\]\), got rank 1"):
        harness.call(rid, {"x": np.zeros(16, np.float32)})


def test_wrong_static_dimension(harness, mlp_code):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(InvalidArguments, match=r"input 'x': dimension 1 must be 16 .*got shape \[1, 15\]"):
        harness.call(rid, {"x": np.zeros((1, 15), np.float32)})


def test_ragged_and_non_numeric_lists(harness, mlp_code):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(InvalidArguments, match="input 'x'"):
        harness.call(rid, {"x": [[1.0] * 16, [1.0] * 15]})
    with pytest.raises(InvalidArguments, match="input 'x'"):
        harness.call(rid, {"x": "hello"})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_inputs_are_refused_by_default(harness, mlp_code, bad):
    rid, _ = harness.deploy(mlp_code)
    x = np.zeros((1, 16), np.float32)
    x[0, 5] = bad
    with pytest.raises(InvalidArguments, match=r"input 'x': element \[0, 5\] is .*NaN and infinity are not accepted"):
        harness.call(rid, {"x": x})


def test_nonfinite_inputs_allowed_by_config(harness, mlp_code):
    rid, _ = harness.deploy(mlp_code)
    x = np.zeros((1, 16), np.float32)
    x[0, 0] = np.nan
    result, _ = harness.call(rid, {"x": x}, config={"onnx": {"allow_nonfinite": True}})
    assert result.values[0][1].shape == (1, 8)
    result, _ = harness.call(rid, {"x": x}, config={"onnx.allow_nonfinite": "true"})
    assert result.values[0][1].shape == (1, 8)


def test_oversized_input(harness, mlp_code):
    rid, _ = harness.deploy(mlp_code)
    x = np.zeros((64, 16), np.float32)  # 4096 bytes
    with pytest.raises(OversizedInput, match=r"input 'x' of 4096 bytes.*max_input_bytes = 4000"):
        harness.call(rid, {"x": x}, limits=Limits(max_input_bytes=4000))


def test_model_over_call_limit_is_refused(harness, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code)
    with pytest.raises(OversizedInput, match="max_model_bytes"):
        harness.call(rid, {"x": mlp_x}, limits=Limits(max_model_bytes=100))


@pytest.mark.parametrize(
    "dtype,np_dtype",
    [
        (TensorProto.FLOAT16, np.float16), (TensorProto.DOUBLE, np.float64), (TensorProto.INT8, np.int8),
        (TensorProto.INT16, np.int16), (TensorProto.INT32, np.int32), (TensorProto.INT64, np.int64),
        (TensorProto.UINT8, np.uint8), (TensorProto.BOOL, np.bool_),
    ],
)
def test_every_supported_dtype_round_trips(harness, build, dtype, np_dtype):
    rid, _ = harness.deploy(build.identity_model(dtype, [2, 3]))
    x = (np.arange(6).reshape(2, 3) % 2).astype(np_dtype)
    result, _ = harness.call(rid, {"x": x})
    assert result.values[0][1].dtype == np_dtype and np.array_equal(result.values[0][1], x)
    listed, _ = harness.call(rid, {"x": x.tolist()})
    assert listed.output_data == result.output_data


def test_list_values_must_fit_the_dtype(harness, build):
    rid, _ = harness.deploy(build.identity_model(TensorProto.INT8, [2]))
    with pytest.raises(InvalidArguments, match=r"input 'x': values must lie in \[-128, 127\]"):
        harness.call(rid, {"x": [1, 300]})
    with pytest.raises(InvalidArguments, match="expected integers of type int8"):
        harness.call(rid, {"x": [1.5, 2.0]})
    rid_b, _ = harness.deploy(build.identity_model(TensorProto.BOOL, [2]))
    with pytest.raises(InvalidArguments, match="expected bool values"):
        harness.call(rid_b, {"x": [1, 0]})


def test_symbolic_dimensions_must_agree(harness, build):
    from onnx import helper

    code = build.make_model(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n"]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])],
    )
    rid, _ = harness.deploy(code)
    ok, _ = harness.call(rid, {"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert ok.values[0][1].tolist() == [4.0, 6.0]
    with pytest.raises(InvalidArguments, match=r"input 'b': dimension 0 \('n'\) is 3, but input 'a' already fixed 'n' = 2"):
        harness.call(rid, {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]})


def test_determinism_byte_identical_output_data(harness_factory, mlp_code, cnn_code, int8_code, mlp_x):
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 1, 8, 8)
    cases = [(mlp_code, {"x": mlp_x}), (cnn_code, {"image": image}), (int8_code, {"x": mlp_x})]
    first = harness_factory()
    second = harness_factory()  # a separate engine: fresh sessions
    for code, inputs in cases:
        rid, _ = first.deploy(code)
        second.deploy(code)
        runs = [first.call(rid, inputs) for _ in range(3)] + [second.call(rid, inputs)]
        assert len({r.output_data for r, _ in runs}) == 1
        assert len({ctx.trace.commitment() for _, ctx in runs}) == 1


def test_deadline_terminates_a_long_inference(harness, build):
    code = build.slow_model()
    rid, _ = harness.deploy(code)
    # deploy cached the session under the sha256 id: the deadline hits the inference, not the session build
    x = np.ones((512, 512), np.float32)
    limits = Limits(wall_time_ms=200, max_input_bytes=4 << 20)
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="200 ms exceeded: the inference was terminated") as info:
        harness.call(rid, {"x": x}, limits=limits)
    elapsed = time.monotonic() - start
    assert info.value.allowed == 200
    # the full chain takes seconds; being stopped means returning soon after the deadline
    print(f"terminated after {elapsed * 1000:.0f} ms")
    assert elapsed < 1.5
    assert harness.engine.running == 0
    assert harness.engine.pool.started == 1  # terminated by the worker's watchdog, not killed


def test_concurrency_limit(harness, build, mlp_code, mlp_x):
    slow = build.slow_model()
    slow_rid, _ = harness.deploy(slow)
    rid, _ = harness.deploy(mlp_code)
    limits = Limits(wall_time_ms=600, max_input_bytes=4 << 20, max_concurrent=1)
    errors = []

    def long_call():
        try:
            harness.call(slow_rid, {"x": np.ones((512, 512), np.float32)}, limits=limits)
        except DeadlineExceeded as exc:
            errors.append(exc)

    worker = threading.Thread(target=long_call)
    worker.start()
    deadline = time.monotonic() + 5
    while harness.engine.running == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        with pytest.raises(ConcurrencyLimitExceeded, match="max_concurrent = 1"):
            harness.call(rid, {"x": mlp_x}, limits=limits)
    finally:
        worker.join()
    assert len(errors) == 1  # the slow one was stopped by its own deadline
    assert harness.engine.running == 0
    result, _ = harness.call(rid, {"x": mlp_x}, limits=limits)  # the slot is free again
    assert result.values


def test_session_cache_lru_eviction_by_count(harness_factory, mlp_code, cnn_code, int8_code, mlp_x):
    h = harness_factory(cache_sessions=2)
    image = np.zeros((1, 1, 8, 8), np.float32)
    mlp, _ = h.deploy(mlp_code, rid=b"mlp")
    cnn, _ = h.deploy(cnn_code, rid=b"cnn")
    q, _ = h.deploy(int8_code, rid=b"q")
    h.engine.cache.clear()
    h.call(mlp, {"x": mlp_x})
    h.call(cnn, {"image": image})
    h.call(mlp, {"x": mlp_x})  # mlp is now the most recently used
    assert h.engine.cache.keys() == [cnn, mlp]
    h.call(q, {"x": mlp_x})  # evicts cnn, the least recently used
    assert h.engine.cache.keys() == [mlp, q]
    assert h.engine.cache.evictions >= 1
    h.call(cnn, {"image": image})  # rebuilt on demand, evicting mlp
    assert h.engine.cache.keys() == [q, cnn]


def test_session_cache_lru_eviction_by_bytes(harness_factory, mlp_code, cnn_code, int8_code, mlp_x):
    budget = len(cnn_code) + len(int8_code)
    assert len(mlp_code) + len(cnn_code) + len(int8_code) > budget
    h = harness_factory(cache_sessions=10, cache_bytes=budget)
    mlp, _ = h.deploy(mlp_code, rid=b"mlp")
    cnn, _ = h.deploy(cnn_code, rid=b"cnn")
    q, _ = h.deploy(int8_code, rid=b"q")
    h.engine.cache.clear()
    h.call(mlp, {"x": mlp_x})
    h.call(cnn, {"image": np.zeros((1, 1, 8, 8), np.float32)})
    h.call(q, {"x": mlp_x})
    assert h.engine.cache.keys() == [cnn, q]
    assert h.engine.cache.total_bytes <= budget
    # a model larger than the whole budget runs but is never cached
    tiny = harness_factory(cache_bytes=len(mlp_code) - 1)
    rid, _ = tiny.deploy(mlp_code, rid=b"mlp")
    assert tiny.call(rid, {"x": mlp_x})[0].values
    assert tiny.engine.cache.keys() == []


def test_session_cache_reuses_sessions(harness, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code, rid=b"mlp")
    harness.call(rid, {"x": mlp_x})
    harness.call(rid, {"x": mlp_x})
    assert b"mlp" in harness.engine.cache.keys()
    assert harness.engine.cache.hits >= 1


def test_deploy_warms_the_cache_under_the_sha256_resource_id(harness, mlp_code, mlp_x):
    import hashlib

    rid, _ = harness.deploy(mlp_code)  # the harness names resources like the node: sha256(code)
    assert rid == hashlib.sha256(mlp_code).digest() and harness.engine.cache.keys() == [rid]
    misses = harness.engine.cache.misses
    harness.call(rid, {"x": mlp_x})
    assert harness.engine.cache.misses == misses  # the first call found the session


def test_preload_builds_the_session(harness_factory, mlp_code):
    h = harness_factory()
    h.engine.preload(b"elsewhere", mlp_code)
    assert b"elsewhere" in h.engine.cache.keys()


def test_session_options_are_deterministic():
    from ispc_onnx.runtime import session_options

    so = session_options()
    assert so.intra_op_num_threads == 1 and so.inter_op_num_threads == 1
    assert so.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC


def test_runtime_failure_is_an_execution_error(harness, build):
    from onnx import helper

    from ispc_core.errors import ExecutionError

    # Reshape to a shape the input's size cannot fill: only detectable while running
    code = build.make_model(
        [helper.make_node("Reshape", ["x", "s"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"]),
         helper.make_tensor_value_info("s", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])],
    )
    rid, _ = harness.deploy(code)
    with pytest.raises(ExecutionError, match="the model failed while running"):
        harness.call(rid, {"x": [1.0, 2.0, 3.0], "s": [2, 2]})
    assert harness.engine.running == 0
