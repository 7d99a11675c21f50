"""Helpers for the proof-job tests: a slow / failing test prover plugin and node factories."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ispc_core import hookimpl
from ispc_core.coordinator import Manager
from ispc_core.specs import ProverSpec
from ispc_testdoubles import KeyedHashProver, TestEnginePlugin, TestProverPlugin, program

PAY = program({"pay": [["tx.transfer", "$0", "$1"], ["event.emit", "paid", "hex:01"]], "count": [["state.set", "hex:6b", "$0"]]})


def deploy_pay(m) -> bytes:
    """Deploy :data:`PAY` and mine its deploy transaction (a deploy is on chain), so the mempool starts empty."""
    rid = m.deploy(PAY, kind="test").resource_id
    m.mine()
    assert len(m.node.mempool) == 0 and m.node.ledger.resource_kind(rid) == "test"
    return rid


class SlowProver(KeyedHashProver):
    """The keyed-hash test prover, made slow or failing on purpose.

    ``mode``: ``"ok"``; ``"unsat"`` (raise ConstraintUnsatisfied); ``"flaky:N"``
    (the first N attempts raise OSError); ``"die-once"`` (the first attempt
    kills its worker process).
    """

    def __init__(self, keystore_dir, delay: float, mode: str):
        super().__init__(keystore_dir)
        self.delay, self.mode, self.dir = delay, mode, Path(keystore_dir)

    def _count(self, name: str) -> int:
        path = self.dir / name
        n = int(path.read_text()) if path.exists() else 0
        path.write_text(str(n + 1))
        return n

    def prove(self, instance, curve):
        if self.mode == "unsat":
            from ispc_core.zk.errors import ConstraintUnsatisfied

            raise ConstraintUnsatisfied("constraint 3 (erh) fails")
        if self.mode.startswith("flaky:") and self._count("flaky.count") < int(self.mode[6:]):
            raise OSError("flaky backend")
        if self.mode == "die-once" and self._count("die.count") == 0:
            os._exit(17)
        time.sleep(self.delay)
        artifact = super().prove(instance, curve)
        import attrs

        return attrs.evolve(artifact, proving_scheme="slowproof")


class SlowProverPlugin:
    """Registers :class:`SlowProver` as ``slowproof``."""

    __test__ = False

    def __init__(self, delay: float = 0.0, mode: str = "ok"):
        self.delay, self.mode = delay, mode

    @hookimpl
    def ispc_provers(self):
        return [ProverSpec(name="slowproof", curves=("bn254",), factory=lambda s: SlowProver(s.keystore_dir, self.delay, self.mode))]


class Listener:
    """Records ispc_proof_finished notifications."""

    __test__ = False

    def __init__(self):
        self.events = []

    @hookimpl
    def ispc_proof_finished(self, job, artifact, error):
        self.events.append((job, artifact, error))


#: the chain pins the test circuit for the test engine's kind (as tests/conftest.py TEST_PROVING does)
CHAIN_CIRCUITS = ["test=test_circuit.v1", "wasm=contract_execution.v1", "onnx=contract_execution.v1"]


def open_async(home, *, delay=0.0, mode="ok", executor="inline://thread", settings=None, extra=(), genesis=None, dask=None):
    """A node in async proof mode with the test engine, test circuit and the slow prover, on a chain
    that pins the test circuit for kind ``test`` (so its proofs give the program authority)."""
    overrides = {
        "chain.circuits": CHAIN_CIRCUITS,
        "proof.mode": "async",
        "proof.scheme": "slowproof",
        "proof.circuit": "test_circuit",
        "proof.executor": executor,
        "plugin": {"proofjobs": {"backoff_s": 0.05, **(settings or {})}, "dask": dict(dask or {})},
    }
    if genesis:
        overrides["genesis"] = {"alice": 1_000_000, "bob": 0, **genesis}
    return Manager.open(home, overrides=overrides, plugins=[TestEnginePlugin(), TestProverPlugin(), SlowProverPlugin(delay, mode), *extra])
