"""A third-party host function's verifier hook runs when a node checks a transaction's journal.

The plugin below adds ``oracle.square(x) -> x*x``. Its hook recomputes the
result; a node that admits a transaction runs it for every journal entry, so a
journal claiming another result is refused; a function without a hook cannot
be used by a program at all (no node could ever accept its transaction).
"""

from __future__ import annotations

import pytest

from conftest import TEST_PROVING
from ispc_core import errors, hookimpl
from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.specs import HostFunction, Param
from ispc_testdoubles import TestEnginePlugin, TestProverPlugin, program

PROGRAM = program({"sq": [["oracle.square", "$0"]], "raw": [["oracle.unchecked", 1]]})


class SquarePlugin:
    """A third party's host functions: one with a verifier hook, one without."""

    def __init__(self):
        self.checked = []
        self.lie = False

    def _square(self, call, x):
        return x * x + (1 if self.lie else 0)

    def _verify(self, check, x, *, result):
        self.checked.append((check.entry.index, x, result))
        if result != x * x:
            raise check.fail(f"{x}² is {x * x}, the journal says {result}")

    @hookimpl
    def ispc_host_functions(self):
        return [
            HostFunction("oracle.square", (Param("x", "i64"),), "i64", self._square, "x squared", verify=self._verify),
            HostFunction("oracle.unchecked", (Param("x", "i64"),), "i64", lambda call, x: x, "no verifier hook"),
        ]


@pytest.fixture
def node(tmp_path):
    plugin = SquarePlugin()
    m = Manager.open(tmp_path / "home", overrides=TEST_PROVING, plugins=[TestEnginePlugin(), TestProverPlugin(), plugin])
    rid = m.deploy(PROGRAM, kind="test").resource_id
    yield m, plugin, rid
    m.close()


def test_the_plugins_verifier_hook_runs_on_admission(node):
    m, plugin, rid = node
    res = m.call(CallRequest(rid, "sq", (12,), caller="alice"))
    assert res.values == (144,)
    assert m.node.mempool.get(res.tx_id) is not None
    assert plugin.checked == [(0, 12, 144)]  # the hook saw the journal entry, argument and result
    entry = res.transaction.execution.journal[0]
    assert entry.function == "oracle.square"


def test_a_journal_the_hook_disagrees_with_is_refused_and_nothing_is_written(node):
    m, plugin, rid = node
    plugin.lie = True  # the executing side returns x*x + 1: its own verifier hook must refuse that
    before = (len(m.node.mempool), m.node.ledger.snapshot())
    with pytest.raises(errors.TransactionRejected) as exc:
        m.call(CallRequest(rid, "sq", (3,), caller="alice"))
    assert exc.value.reason == "journal"
    assert "oracle.square" in str(exc.value) and "3² is 9, the journal says 10" in str(exc.value)
    assert (len(m.node.mempool), m.node.ledger.snapshot()) == before


def test_a_host_function_without_a_verifier_hook_cannot_be_used(node):
    m, plugin, rid = node
    before = len(m.node.mempool)
    with pytest.raises(errors.UnverifiableHostFunction, match="oracle.unchecked: this host function provides no verifier check"):
        m.call(CallRequest(rid, "raw", caller="alice"))
    assert len(m.node.mempool) == before


def test_every_builtin_host_function_has_a_verifier_hook():
    from ispc_core.builtins.host_functions import BUILTIN_HOST_FUNCTIONS

    assert all(f.verify is not None for f in BUILTIN_HOST_FUNCTIONS)
