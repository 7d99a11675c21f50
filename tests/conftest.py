"""Shared fixtures for the core tests: a node home with test plugins registered directly."""

from __future__ import annotations

import pytest

from ispc_core.coordinator import Manager
from ispc_testdoubles import TestEnginePlugin, TestProverPlugin  # noqa: F401  (re-exported for tests)


@pytest.fixture
def manager(tmp_path):
    """A node with proofs off and the test engine registered."""
    m = Manager.open(tmp_path / "home", overrides={"proof.mode": "off"}, plugins=[TestEnginePlugin()])
    yield m
    m.close()


@pytest.fixture
def proving_manager(tmp_path):
    """A node with proofs on, the test engine and the test prover registered."""
    m = Manager.open(
        tmp_path / "home", overrides={"proof.mode": "sync", "proof.scheme": "testproof", "proof.circuit": "test_circuit"},
        plugins=[TestEnginePlugin(), TestProverPlugin()],
    )
    yield m
    m.close()
