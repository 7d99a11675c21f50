"""End to end through the coordinator: deploy, call, transaction in the mempool.

Limits are tightened per function by a test resource policy registered as a
plugin object, and every limit error must leave the ledger and the mempool
exactly as they were.
"""

from __future__ import annotations

import attrs
import coincurve
import pytest

from ispc_core import errors, hookimpl
from ispc_core.context import CallRequest
from ispc_core.specs import ResourcePolicy

from ispc_wasm_testsupport import CONTRACTS, ORACLE_KEY_HEX, evidence_digest

coordinator = pytest.importorskip("ispc_core.coordinator")

TIGHT = {
    "spin": {"fuel": 200_000},
    "bomb": {"memory_pages": 4},
    "host_spam": {"max_host_calls": 5},
    "trace_spam": {"max_trace_bytes": 4096},
}


class TightLimits:
    """A resource policy plugin: per-function limits for the adversarial calls."""

    @hookimpl
    def ispc_resource_policies(self):
        def limits(request, configured):
            tight = TIGHT.get(request.function)
            if request.function == "spin" and request.input_bytes == 1:  # the deadline variant
                tight = {"wall_time_ms": 100}
            return attrs.evolve(configured, **tight) if tight else configured

        return [ResourcePolicy(name="wasm-test-tight", limits=limits)]


@pytest.fixture
def manager(tmp_path):
    oracle = coincurve.PrivateKey(bytes.fromhex(ORACLE_KEY_HEX)).public_key.format(compressed=True).hex()
    m = coordinator.Manager.open(
        tmp_path / "node",
        overrides={"proof.mode": "off", "chain.accept_unproven": True, "evidence.oracle_keys": [oracle], "limits.fuel": 1 << 50},
        plugins=[TightLimits()],
    )
    yield m
    m.close()


def _state(m):
    return (m.node.ledger.snapshot(), [tx_id for tx_id, _ in m.node.mempool.list()], m.balance("alice"), m.balance("bob"))


def _req(rid, function, *args, caller="alice", input_data=b""):
    return CallRequest(resource_id=rid, function=function, args=args, caller=caller, input_data=input_data)


def test_token_transfer_end_to_end(manager):
    rid = manager.deploy(CONTRACTS / "token.wasm").resource_id
    bob = manager.address("bob")
    alice_before = manager.balance("alice")
    res = manager.call(_req(rid, "transfer", 250, input_data=bob))
    assert res.values == (0,)
    assert res.events == (("transfer", bob + (250).to_bytes(8, "little")),)
    assert res.usage["fuel_used"] > 0 and res.usage["host_calls"] == 4
    pending = dict(manager.node.mempool.list())
    assert len(pending) == 2 and res.tx_id in pending  # the on-chain deploy and the call
    assert any(o.WhichOneof("content") == "resource" and o.resource.resource_id == rid
               for tx in pending.values() for o in tx.outputs)
    manager.mine()
    assert manager.balance("bob") == 250 and manager.balance("alice") == alice_before - 250
    assert manager.call(_req(rid, "balance", input_data=bob)).values == (250,)


def test_counter_versions_end_to_end(manager):
    rid = manager.deploy(CONTRACTS / "counter.wasm").resource_id
    for expected in (3, 6):
        assert manager.call(_req(rid, "increment", 3)).values == (expected,)
        manager.mine()
    assert manager.call(_req(rid, "get")).values == (6,)
    assert manager.call(_req(rid, "version")).values == (2,)


def test_oracle_payment_end_to_end(manager):
    rid = manager.deploy(CONTRACTS / "oracle_payment.wasm").resource_id
    bob = manager.address("bob")
    claim = (40).to_bytes(8, "little")
    der = coincurve.PrivateKey(bytes.fromhex(ORACLE_KEY_HEX)).sign(evidence_digest("price", b"ETH/USD", claim), hasher=None)
    sig = coincurve.ecdsa.serialize_compact(coincurve.ecdsa.der_to_cdata(der))
    res = manager.call(_req(rid, "pay", 5, input_data=bob + claim + sig))
    assert res.values == (200,)
    manager.mine()
    assert manager.balance("bob") == 200
    forged = (1).to_bytes(8, "little")
    assert manager.call(_req(rid, "pay", 5, input_data=bob + forged + sig)).values == (-1,)


@pytest.mark.parametrize(
    "function,args,exc",
    [
        ("spin", (), errors.OutOfFuel),
        ("host_spam", (100,), errors.HostCallLimitExceeded),
        ("trace_spam", (100,), errors.TraceLimitExceeded),
        ("oob_pointer", (), errors.HostCallError),
        ("huge_length", (), errors.HostCallError),
        ("bad_utf8", (), errors.HostCallError),
        ("boom", (), errors.ProgramTrap),
        ("recurse", (10_000_000,), errors.ProgramTrap),
        ("div", ("x", 1), errors.InvalidArguments),
        ("nope", (), errors.UnknownFunction),
    ],
)
def test_failures_change_nothing(manager, function, args, exc, input_data=b""):
    token = manager.deploy(CONTRACTS / "token.wasm").resource_id
    rid = manager.deploy(CONTRACTS / "adversarial.wasm").resource_id
    before = _state(manager)
    with pytest.raises(exc):
        manager.call(_req(rid, function, *args, input_data=input_data))
    assert _state(manager) == before
    # the node keeps serving
    assert manager.call(_req(token, "transfer", 1, input_data=manager.address("bob"))).values == (0,)


def test_deadline_changes_nothing(manager):
    test_failures_change_nothing(manager, "spin", (), errors.DeadlineExceeded, input_data=b"d")


def test_memory_bomb_contained_end_to_end(manager):
    rid = manager.deploy(CONTRACTS / "adversarial.wasm").resource_id
    assert manager.call(_req(rid, "bomb")).values == (4,)


def test_unknown_import_refused_at_deploy(manager):
    import wasmtime

    code = wasmtime.wat2wasm('(module (import "ispc" "nope" (func)) (memory (export "memory") 1))')
    before = _state(manager)
    with pytest.raises(errors.DeployError, match="ispc.nope"):
        manager.deploy(code)
    assert _state(manager) == before
