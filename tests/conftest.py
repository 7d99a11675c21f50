"""Shared fixtures for the core tests: a node home with test plugins registered directly."""

from __future__ import annotations

import pytest

from ispc_core.coordinator import Manager
from ispc_testdoubles import TestEnginePlugin, TestProverPlugin  # noqa: F401  (re-exported for tests)


#: a development chain that accepts executions without a proof, and a node that makes none
UNPROVEN = {"proof.mode": "off", "chain.accept_unproven": True}
#: a chain that pins the test circuit for the test engine's kind, and a node that proves with it
TEST_PROVING = {
    "proof.mode": "sync", "proof.scheme": "testproof", "proof.circuit": "test_circuit",
    "chain.circuits": ["test=test_circuit.v1", "wasm=contract_execution.v1", "onnx=contract_execution.v1"],
}


@pytest.fixture
def manager(tmp_path):
    """A node with proofs off (on a development chain that accepts unproven executions) and the test engine."""
    m = Manager.open(tmp_path / "home", overrides=UNPROVEN, plugins=[TestEnginePlugin()])
    yield m
    m.close()


@pytest.fixture
def proving_manager(tmp_path):
    """A node with proofs on, the test engine and the test prover registered."""
    m = Manager.open(
        tmp_path / "home", overrides=TEST_PROVING,
        plugins=[TestEnginePlugin(), TestProverPlugin()],
    )
    yield m
    m.close()
