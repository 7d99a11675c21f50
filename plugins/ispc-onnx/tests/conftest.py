"""Shared fixtures: example models, tiny generated models, and execution contexts.

Contexts are built directly (no coordinator): a ``result.set`` host function is
registered here that stores its bytes as the draft's return data, standing in
for the core's built-in until the two meet in the end-to-end tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ispc_core.context import CallRequest, DeterministicEnv, ExecutionContext
from ispc_core.hostabi import HostDispatcher
from ispc_core.specs import EngineCall, HostFunction, Limits, Param

from ispc_onnx.engine import OnnxEngine

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _result_set(call, data):
    call.context.draft.return_data = data


RESULT_SET = HostFunction(
    name="result.set", params=(Param("data", "bytes"),), returns=None, impl=_result_set, doc="test stand-in"
)


def make_model(nodes, inputs, outputs, initializers=(), opset=17, extra_opsets=()) -> bytes:
    """Serialize a small model built with onnx.helper."""
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset), *[helper.make_opsetid(d, v) for d, v in extra_opsets]]
    )
    model.ir_version = 8
    return model.SerializeToString()


def identity_model(dtype: int, shape) -> bytes:
    """y = Identity(x) for one element type and declared shape."""
    return make_model(
        [helper.make_node("Identity", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", dtype, shape)],
        [helper.make_tensor_value_info("y", dtype, shape)],
    )


def slow_model(n: int = 512, depth: int = 1000) -> bytes:
    """A chain of ``depth`` n x n MatMuls by the identity: seconds of work, finite output."""
    nodes, prev = [], "x"
    for i in range(depth):
        nodes.append(helper.make_node("MatMul", [prev, "W"], [f"m{i}"]))
        prev = f"m{i}"
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    return make_model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
        initializers=[numpy_helper.from_array(np.eye(n, dtype=np.float32), "W")],
    )


class Harness:
    """An engine plus helpers to deploy models and call them like the coordinator would."""

    def __init__(self, engine: OnnxEngine) -> None:
        self.engine = engine
        self.infos = {}

    def deploy(self, code: bytes, rid: bytes | None = None):
        info = self.engine.validate(code, (RESULT_SET,))
        rid = rid or onnx_id(code)
        self.infos[rid] = (code, info)
        return rid, info

    def context(self, rid: bytes, named_inputs=None, args=(), limits: Limits | None = None, config=None):
        env = DeterministicEnv(
            block_height=1, block_time=1_700_000_000, caller=b"\x01" * 20, contract=b"\x02" * 20,
            resource_id=rid, chain_id=b"test", input_data=b"",
        )
        ctx = ExecutionContext(
            request=CallRequest(resource_id=rid, function="run", args=tuple(args), named_inputs=named_inputs),
            env=env, limits=limits or Limits(), ledger_view=None, execution_id="x", trace_id="t",
            correlation_id="c", config=config,
        )
        ctx.host = HostDispatcher(ctx, [RESULT_SET])
        return ctx

    def call(self, rid: bytes, named_inputs=None, args=(), limits=None, config=None, function="run"):
        code, info = self.infos[rid]
        ctx = self.context(rid, named_inputs, args, limits, config)
        result = self.engine.execute(EngineCall(rid, code, info, function, tuple(args), ctx))
        return result, ctx


def onnx_id(code: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(code).digest()


@pytest.fixture
def harness():
    return Harness(OnnxEngine())


@pytest.fixture(scope="session")
def mlp_code():
    return (EXAMPLES / "mlp.onnx").read_bytes()


@pytest.fixture(scope="session")
def cnn_code():
    return (EXAMPLES / "cnn.onnx").read_bytes()


@pytest.fixture(scope="session")
def int8_code():
    return (EXAMPLES / "mlp_int8.onnx").read_bytes()


@pytest.fixture
def mlp_x():
    return np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 16)


class Builders:
    """Model builders and the result.set stand-in, handed to tests as a fixture."""

    make_model = staticmethod(make_model)
    identity_model = staticmethod(identity_model)
    slow_model = staticmethod(slow_model)
    result_set = RESULT_SET
    examples = EXAMPLES


@pytest.fixture(scope="session")
def build():
    return Builders


@pytest.fixture
def harness_factory():
    """Build harnesses around engines with custom options (cache bounds, ...)."""
    return lambda **options: Harness(OnnxEngine(**options))
