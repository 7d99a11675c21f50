"""The Rust example contract (contracts/rust/counter_rs.wasm, built with the Rust SDK in sdk/rust).

It must behave exactly like the C counter through the coordinator, import only
the ABI, and reject an overflow through the SDK's abort without writing
anything; a Rust panic (contracts/rust/panicky_rs.wasm) must become a typed
trap. The committed builds are used, so these tests need no toolchain.
"""

from __future__ import annotations


import pytest

from ispc_core import errors
from ispc_core.context import CallRequest

from ispc_wasm_testsupport import CONTRACTS, REPO

coordinator = pytest.importorskip("ispc_core.coordinator")

COUNTER_RS = CONTRACTS / "rust" / "counter_rs.wasm"
I64_MAX = (1 << 63) - 1
ABI_IMPORTS = {
    "abi_version", "abort", "env_caller", "env_contract", "env_block_height", "env_block_time", "env_chain_id",
    "env_input", "ledger_balance", "tx_transfer", "state_get", "state_version", "state_set", "event_emit",
    "result_set", "log_write", "external_declare", "external_provide_evidence", "external_query",
}  # fmt: skip


@pytest.fixture
def manager(tmp_path):
    m = coordinator.Manager.open(tmp_path / "node", overrides={"proof.mode": "off", "chain.accept_unproven": True})
    yield m
    m.close()


def _req(rid, function, *args):
    return CallRequest(resource_id=rid, function=function, args=args, caller="alice")


def _state(m):
    return (m.node.ledger.snapshot(), [tx_id for tx_id, _ in m.node.mempool.list()], m.balance("alice"))


def test_counter_rs_imports_only_the_abi():
    import wasmtime

    module = wasmtime.Module(wasmtime.Engine(), COUNTER_RS.read_bytes())
    imports = {(i.module, i.name) for i in module.imports}
    assert imports and {mod for mod, _ in imports} == {"ispc"}
    assert {name for _, name in imports} <= ABI_IMPORTS
    funcs = {e.name for e in module.exports if isinstance(e.type, wasmtime.FuncType)}
    assert funcs == {"ispc_alloc", "increment", "get", "version"}
    assert "memory" in {e.name for e in module.exports}


def test_counter_rs_end_to_end(manager):
    deployed = manager.deploy(COUNTER_RS)
    assert deployed.kind == "wasm" and set(deployed.exports) == {"increment", "get", "version"}
    rid = deployed.resource_id
    assert manager.call(_req(rid, "get")).values == (0,)
    assert manager.call(_req(rid, "version")).values == (0,)
    for by, expected, version in ((5, 5, 1), (7, 12, 2)):
        pending = len(manager.node.mempool)
        res = manager.call(_req(rid, "increment", by))
        value = expected.to_bytes(8, "little")
        assert res.values == (expected,)
        assert res.return_data == value
        assert res.events == (("counter.incremented", value),)
        assert len(manager.node.mempool) == pending + 1  # a transaction in the mempool
        manager.mine()
        assert manager.call(_req(rid, "version")).values == (version,)
    assert manager.call(_req(rid, "get")).values == (12,)


def test_counter_rs_matches_the_c_counter(manager):
    rs = manager.deploy(COUNTER_RS).resource_id
    c = manager.deploy(CONTRACTS / "counter.wasm").resource_id
    for by in (3, -10, 1 << 40):
        a, b = manager.call(_req(rs, "increment", by)), manager.call(_req(c, "increment", by))
        assert (a.values, a.return_data, a.events) == (b.values, b.return_data, b.events)
        manager.mine()
    for fn in ("get", "version"):
        assert manager.call(_req(rs, fn)).values == manager.call(_req(c, fn)).values


def test_counter_rs_overflow_aborts_and_writes_nothing(manager):
    rid = manager.deploy(COUNTER_RS).resource_id
    manager.call(_req(rid, "increment", 12))
    manager.mine()
    before = _state(manager)
    with pytest.raises(errors.ProgramTrap, match="guest aborted: counter.increment: i64 overflow"):
        manager.call(_req(rid, "increment", I64_MAX))
    assert _state(manager) == before and len(manager.node.mempool) == 0
    # nothing was written, and the node keeps serving
    assert manager.call(_req(rid, "get")).values == (12,)
    assert manager.call(_req(rid, "version")).values == (1,)
    assert manager.call(_req(rid, "increment", I64_MAX - 12)).values == (I64_MAX,)


PANICKY = REPO / "contracts" / "rust" / "panicky_rs.wasm"  # built from contracts/rust/src/panicky.rs


def test_sdk_panic_handler_traps_and_writes_nothing(manager):
    wasm = PANICKY
    rid = manager.deploy(wasm).resource_id
    assert manager.call(_req(rid, "boom", 1)).values == (1,)
    manager.mine()
    before = _state(manager)
    with pytest.raises(errors.ProgramTrap, match=r"guest aborted: panicked at contracts/rust/src/panicky\.rs:\d+:\d+"):
        manager.call(_req(rid, "boom", 5))
    assert _state(manager) == before
