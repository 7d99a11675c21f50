"""The dask proof executor against a real distributed.LocalCluster."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT / "tests" / "proofjobs"), str(ROOT / "tests")]

from ispc_core.context import CallRequest  # noqa: E402
from ispc_core.coordinator import Manager  # noqa: E402
from ispc_core.proofjobs import task as task_module  # noqa: E402
from ispc_core.verify import verify_transaction  # noqa: E402
from ispc_testdoubles import TEST_CIRCUIT, TestEnginePlugin, TestProverPlugin  # noqa: E402
from pj_helpers import PAY, SlowProverPlugin  # noqa: E402


def open_on_dask(home, address, genesis):
    """A node in async proof mode whose jobs run on the dask cluster, on a chain that pins the test circuit."""
    overrides = {
        "proof.mode": "async",
        "proof.scheme": "slowproof",
        "proof.circuit": "test_circuit",
        "proof.executor": f"dask://{address}",
        "chain.circuits": [f"test={TEST_CIRCUIT}"],  # the chain pins the test circuit for the test engine
        "plugin": {"proofjobs": {"backoff_s": 0.05}},
        "genesis": {"alice": 1_000_000, "bob": 0, **genesis},
    }
    return Manager.open(home, overrides=overrides, plugins=[TestEnginePlugin(), TestProverPlugin(), SlowProverPlugin()])


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        yield c


def test_jobs_run_on_the_cluster_and_workers_cache_their_prover(tmp_path, cluster):
    address = cluster.scheduler_address.replace("tcp://", "")
    built = task_module.stats["provers_built"]
    genesis = {f"u{i}": 1000 for i in range(4)}
    with open_on_dask(tmp_path / "h", address, genesis) as m:
        rid = m.deploy(PAY, kind="test").resource_id
        jobs = [m.call(CallRequest(rid, "pay", (m.address("bob"), 5), caller=f"u{i}")).proof_job_id for i in range(4)]
        done = [m.proof_jobs.wait(j, timeout=30) for j in jobs]
        assert [j.state for j in done] == ["done"] * 4
        assert type(m.proof_jobs._executor).__name__ == "DaskExecutor"
        for j in done:
            tx = m.node.mempool.get(j.tx_id)
            report = verify_transaction(m, tx)
            assert report.valid and report.circuit.startswith("test_circuit.v1"), report.reason
        pending = {tx_id for tx_id, _ in m.node.mempool.list()}
        assert {j.tx_id for j in done} <= pending
        block = m.mine()
        assert block.tx_count == 5  # the on-chain deploy and the four proven calls
        assert m.balance("bob") == 4 * 5
    # in-process workers share this module: one prover for the node home, not one per job
    assert task_module.stats["provers_built"] - built == 1


def test_an_unreachable_scheduler_is_a_typed_error_naming_the_address():
    from ispc_core.proofjobs.errors import ExecutorUnreachable
    from ispc_dask.plugin import connect

    class Cfg:
        def plugin_settings(self, name):
            return {"connect_timeout_s": 0.3}

    with pytest.raises(ExecutorUnreachable, match="tcp://127.0.0.1:9"):
        connect("127.0.0.1:9", Cfg())
