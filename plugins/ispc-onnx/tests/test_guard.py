"""No model can kill the node: inferences and session builds run in guarded workers.

onnxruntime 1.32 ends its process with SIGFPE on integer ``Div`` of INT_MIN by
-1 (int32, int64), whether the divisor is an input, computed inside the graph,
or folded from constants while the session is built. The other integer faults
below are refused by onnxruntime itself or wrap; each case checks the error
type and that the engine keeps serving afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from onnx import TensorProto as T, helper, numpy_helper

from ispc_core.errors import DeadlineExceeded, DeployError, ExecutionError, ModelCrashed
from ispc_core.specs import Limits

INT_TYPES = [(T.INT32, np.int32), (T.INT64, np.int64)]


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def binary(build, op, elem, shape_a=(1,), shape_b=(1,), **attrs):
    return build.make_model(
        [helper.make_node(op, ["a", "b"], ["y"], **attrs)],
        [vi("a", elem, list(shape_a)), vi("b", elem, list(shape_b))],
        [vi("y", elem, list(np.broadcast_shapes(shape_a, shape_b)))],
    )


def assert_still_serving(harness, build):
    rid, _ = harness.deploy(build.identity_model(T.FLOAT, [2]))
    result, _ = harness.call(rid, {"x": np.array([1.5, -2.0], np.float32)})
    assert result.values[0][1].tolist() == [1.5, -2.0]


@pytest.mark.parametrize("elem,dt", INT_TYPES)
@pytest.mark.parametrize("shapes", [((1,), (1,)), ((5,), ()), ((2, 5), (5,)), ((17,), (17,))])
def test_div_of_int_min_by_minus_one_is_a_typed_error(harness, build, elem, dt, shapes):
    rid, _ = harness.deploy(binary(build, "Div", elem, *shapes))
    a = np.full(shapes[0], np.iinfo(dt).min, dt)
    b = np.full(shapes[1], -1, dt)
    with pytest.raises(ModelCrashed, match="SIGFPE") as info:
        harness.call(rid, {"a": a, "b": b})
    assert info.value.signal_name == "SIGFPE"
    assert "the node is unaffected" in str(info.value)
    assert harness.engine.running == 0
    assert_still_serving(harness, build)
    # the same model still answers ordinary inputs
    ok, _ = harness.call(rid, {"a": np.full(shapes[0], 9, dt), "b": np.full(shapes[1], 2, dt)})
    assert set(ok.values[0][1].ravel().tolist()) == {4}


def test_a_divisor_computed_inside_the_graph_cannot_bypass_the_guard(harness, build):
    # y = x / ((x - x) - 1): no input or initializer is -1, the graph makes it
    code = build.make_model(
        [helper.make_node("Sub", ["x", "x"], ["zero"]),
         helper.make_node("Sub", ["zero", "one"], ["minus_one"]),
         helper.make_node("Div", ["x", "minus_one"], ["y"])],
        [vi("x", T.INT32, [1])],
        [vi("y", T.INT32, [1])],
        initializers=[numpy_helper.from_array(np.array([1], np.int32), "one")],
    )
    rid, _ = harness.deploy(code)
    with pytest.raises(ModelCrashed, match="SIGFPE"):
        harness.call(rid, {"x": np.array([np.iinfo(np.int32).min], np.int32)})
    assert harness.call(rid, {"x": np.array([6], np.int32)})[0].values[0][1].tolist() == [-6]


@pytest.mark.parametrize("elem,dt", INT_TYPES)
def test_constant_folding_crash_at_deploy_is_a_deploy_error(harness, build, elem, dt):
    # Div of two initializers is folded while the session is built: the crash happens at deploy
    code = build.make_model(
        [helper.make_node("Div", ["a", "b"], ["c"]), helper.make_node("Add", ["c", "x"], ["y"])],
        [vi("x", elem, [1])],
        [vi("y", elem, [1])],
        initializers=[numpy_helper.from_array(np.array([np.iinfo(dt).min], dt), "a"),
                      numpy_helper.from_array(np.array([-1], dt), "b")],
    )
    with pytest.raises(DeployError, match="crashed while loading the model.*SIGFPE"):
        harness.deploy(code)
    assert harness.engine.cache.keys() == []
    assert_still_serving(harness, build)


@pytest.mark.parametrize("op,attrs", [("Div", {}), ("Mod", {}), ("Mod", {"fmod": 1})])
@pytest.mark.parametrize("elem,dt", [*INT_TYPES, (T.INT8, np.int8), (T.UINT8, np.uint8)])
def test_integer_division_and_modulo_by_zero_are_execution_errors(harness, build, op, attrs, elem, dt):
    rid, _ = harness.deploy(binary(build, op, elem, **attrs))
    started = harness.engine.pool.started
    with pytest.raises(ExecutionError, match="the model failed while running: .*by zero") as info:
        harness.call(rid, {"a": np.array([7], dt), "b": np.array([0], dt)})
    assert not isinstance(info.value, ModelCrashed)
    assert harness.engine.pool.started == started  # onnxruntime refused it; the worker lives on


@pytest.mark.parametrize("elem,dt", INT_TYPES)
def test_other_integer_edge_cases_wrap_or_are_refused(harness, build, elem, dt):
    lo = np.iinfo(dt).min
    # Mod of INT_MIN by -1 is 0 (no fault); Pow overflows by wrapping
    rid, _ = harness.deploy(binary(build, "Mod", elem))
    assert harness.call(rid, {"a": np.array([lo], dt), "b": np.array([-1], dt)})[0].values[0][1].tolist() == [0]
    rid, _ = harness.deploy(binary(build, "Pow", elem))
    harness.call(rid, {"a": np.array([3], dt), "b": np.array([np.iinfo(dt).max], dt)})
    rid, _ = harness.deploy(binary(build, "Mul", elem))
    assert harness.call(rid, {"a": np.array([lo], dt), "b": np.array([-1], dt)})[0].values[0][1].tolist() == [lo]
    # ReduceProd overflowing, and of an empty tensor
    rid, _ = harness.deploy(build.make_model(
        [helper.make_node("ReduceProd", ["a"], ["y"], keepdims=0)], [vi("a", elem, [None])], [vi("y", elem, [])]))
    harness.call(rid, {"a": np.full(70, 7, dt)})
    assert harness.call(rid, {"a": np.zeros(0, dt)})[0].values[0][1].tolist() == 1
    # Range with delta 0 is refused by onnxruntime
    rid, _ = harness.deploy(build.make_model(
        [helper.make_node("Range", ["s", "l", "d"], ["y"])],
        [vi("s", elem, []), vi("l", elem, []), vi("d", elem, [])], [vi("y", elem, [None])]))
    with pytest.raises(ExecutionError, match="delta"):
        harness.call(rid, {"s": np.array(0, dt), "l": np.array(5, dt), "d": np.array(0, dt)})
    assert harness.engine.pool.started == 1


def test_a_worker_killed_from_outside_is_a_typed_error_and_replaced(harness, build, mlp_code, mlp_x):
    rid, _ = harness.deploy(mlp_code)
    (pid,) = harness.engine.pool.pids()
    os.kill(pid, signal.SIGKILL)
    harness.engine.pool._all[0].proc.wait(timeout=60)  # gone (and its socket closed) before the call
    with pytest.raises(ModelCrashed, match="SIGKILL"):
        harness.call(rid, {"x": mlp_x})
    result, _ = harness.call(rid, {"x": mlp_x})  # a fresh worker rebuilds the session
    assert result.values[0][1].shape == (1, 8)
    assert harness.engine.pool.started == 2 and harness.engine.pool.pids() != [pid]


def test_an_operator_that_ignores_terminate_is_killed_at_the_deadline(harness, build):
    # one MatMul node of 3000x3000: onnxruntime checks the terminate flag only between nodes
    code = build.make_model(
        [helper.make_node("Expand", ["x", "shape"], ["big"]), helper.make_node("MatMul", ["big", "big"], ["m"]),
         helper.make_node("ReduceSum", ["m"], ["y"], keepdims=0)],
        [vi("x", T.FLOAT, [1, 1])],
        [vi("y", T.FLOAT, [])],
        initializers=[numpy_helper.from_array(np.array([3000, 3000], np.int64), "shape")],
    )
    rid, _ = harness.deploy(code)
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="did not stop and its worker was killed|was terminated") as info:
        harness.call(rid, {"x": np.ones((1, 1), np.float32)}, limits=Limits(wall_time_ms=100))
    elapsed = time.monotonic() - start
    print(f"stopped after {elapsed * 1000:.0f} ms: {info.value}")
    assert elapsed < 2.0
    assert_still_serving(harness, build)


def test_a_host_application_gets_a_typed_error_not_a_signal(tmp_path, build):
    """``Manager.call`` in a plain script (no ``__main__`` guard) survives the SIGFPE model."""
    model = tmp_path / "div.onnx"
    model.write_bytes(binary(build, "Div", T.INT64))
    script = tmp_path / "host_app.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from ispc_core.context import CallRequest
        from ispc_core.coordinator import Manager
        from ispc_core.errors import ModelCrashed
        with Manager.open({str(tmp_path / "home")!r}, overrides={{"proof.mode": "off", "chain.accept_unproven": True}}) as m:
            rid = m.deploy({str(model)!r}).resource_id
            inputs = {{"a": np.array([-2**63], np.int64), "b": np.array([-1], np.int64)}}
            for attempt in range(2):  # the second call gets a fresh worker and the same typed error
                try:
                    m.call(CallRequest(resource_id=rid, function="run", named_inputs=inputs))
                except ModelCrashed as exc:
                    print("typed:", type(exc).__name__, exc.code, exc.signal_name)
        print("alive")
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("typed: ModelCrashed model_crashed SIGFPE") == 2
    assert proc.stdout.endswith("alive\n")


I64_MIN = np.iinfo(np.int64).min


def _unary_case(build, op, inputs, output_elem, output_shape, **attrs):
    names = [name for name, *_ in inputs]
    return build.make_model(
        [helper.make_node(op, names, ["y"], **attrs)],
        [vi(name, elem, shape) for name, elem, shape, _ in inputs],
        [vi("y", output_elem, output_shape)],
    ), {name: value for name, _, _, value in inputs}


RUNTIME_FAULTS = {
    # operator fed values that fault in naive kernels: onnxruntime refuses each with a status
    "Tile negative repeats": ("Tile", [("x", T.FLOAT, [None], np.zeros(5, np.float32)),
                                       ("r", T.INT64, [1], np.array([-1]))], T.FLOAT, [None], {}),
    "TopK negative k": ("TopK", [("x", T.FLOAT, [None], np.zeros(3, np.float32)),
                                 ("k", T.INT64, [1], np.array([-1]))], T.FLOAT, None, {}),
    "Gather index INT64_MIN": ("Gather", [("x", T.FLOAT, [None], np.zeros(5, np.float32)),
                                          ("i", T.INT64, [1], np.array([I64_MIN]))], T.FLOAT, [1], {}),
    "OneHot depth INT64_MIN": ("OneHot", [("i", T.INT64, [None], np.array([I64_MIN])),
                                          ("d", T.INT64, [1], np.array([I64_MIN])),
                                          ("v", T.FLOAT, [2], np.array([0, 1], np.float32))], T.FLOAT, [None, None], {}),
    "ConstantOfShape negative": ("ConstantOfShape", [("s", T.INT64, [1], np.array([-3]))], T.FLOAT, None, {}),
}


@pytest.mark.parametrize("case", sorted(RUNTIME_FAULTS))
def test_other_runtime_faults_are_execution_errors(harness, build, case):
    op, inputs, out_elem, out_shape, attrs = RUNTIME_FAULTS[case]
    if op == "TopK":  # two outputs
        code = build.make_model(
            [helper.make_node("TopK", ["x", "k"], ["y", "idx"])],
            [vi(n, e, s) for n, e, s, _ in inputs],
            [vi("y", T.FLOAT, [None]), vi("idx", T.INT64, [None])],
        )
        feeds = {n: v for n, _, _, v in inputs}
    else:
        code, feeds = _unary_case(build, op, inputs, out_elem, out_shape or [None], **attrs)
    rid, _ = harness.deploy(code)
    with pytest.raises(ExecutionError, match="the model failed while running") as info:
        harness.call(rid, feeds)
    assert not isinstance(info.value, ModelCrashed)
    assert harness.engine.pool.started == 1


def test_waiting_for_a_busy_worker_is_bounded_by_the_deadline(harness_factory, build, mlp_code, mlp_x):
    import threading

    h = harness_factory(workers=1)
    slow, _ = h.deploy(build.slow_model())
    fast, _ = h.deploy(mlp_code)
    done = []
    busy = threading.Thread(target=lambda: done.append(pytest.raises(DeadlineExceeded, h.call, slow,
        {"x": np.ones((512, 512), np.float32)}, limits=Limits(wall_time_ms=1500, max_input_bytes=4 << 20))))
    busy.start()
    try:
        time.sleep(0.2)  # the only worker is now running the slow model
        with pytest.raises(DeadlineExceeded, match=r"no inference worker \(of 1\) became free"):
            h.call(fast, {"x": mlp_x}, limits=Limits(wall_time_ms=100))
    finally:
        busy.join()
    assert done and h.call(fast, {"x": mlp_x})[0].values  # free again afterwards
