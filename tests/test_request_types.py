"""Manager.call promises typed errors: a wrongly typed request is a RequestError naming the field."""

from __future__ import annotations

import pytest

from ispc_core import errors
from ispc_core.context import CallRequest
from ispc_testdoubles import program

PROG = program({"noop": []})


@pytest.mark.parametrize(
    "change, message",
    [
        ({"resource_id": "ab" * 32}, "resource_id must be 32 bytes, got the string"),
        ({"input_data": "text"}, "input_data must be bytes, got str"),
        ({"args": None}, "args must be a tuple, got NoneType"),
        ({"function": 5}, "the function name must be a non-empty string"),
        ({"nonce": -1}, "nonce must be an integer in 0..2^64-1"),
        ({"nonce": 1 << 64}, "nonce must be an integer in 0..2^64-1"),
        ({"named_inputs": [1]}, "named_inputs must be a mapping"),
        ({"args": (1 << 70,)}, "does not fit in i64"),
    ],
)
def test_wrong_types_are_request_errors_and_write_nothing(manager, change, message):
    rid = manager.deploy(PROG, kind="test").resource_id
    fields = {"resource_id": rid, "function": "noop", "args": (), "caller": "alice", **change}
    before = len(manager.node.mempool)
    with pytest.raises(errors.RequestError, match=message.replace("^", r"\^").replace("(", r"\(").replace(")", r"\)")):
        manager.call(CallRequest(**fields))
    assert len(manager.node.mempool) == before
    assert not manager.core.active_contexts and manager.core._running == 0


def test_something_that_is_not_a_request(manager):
    with pytest.raises(errors.RequestError, match="a CallRequest is expected, got str"):
        manager.call("increment")
