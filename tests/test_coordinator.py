"""The coordinator pipeline end to end with a scripted test engine, and its failure paths."""

from __future__ import annotations

import threading
import time

import pytest

from ispc_core import errors
from ispc_core.context import CallRequest, CancelToken
from ispc_core.node import txcodec
from conftest import TEST_PROVING, UNPROVEN
from ispc_testdoubles import TestEnginePlugin, TestProverPlugin, program

PAY = program(
    {
        "pay": [["tx.transfer", "$0", "$1"], ["event.emit", "paid", "hex:01"]],
        "count": [["state.set", "hex:6b", "$0"]],
        "boom": [["trap"]],
        "spin": [["spin"]],
        "burn": [["fuel", 10_000_000_000]],
        "many": [["log.write", "x"]] * 50,
        "big": [["result.set", "$0"]],
        "noop": [],
    }
)


def _snapshot(m):
    """Everything a failed call must leave untouched."""
    return (
        m.node.ledger.snapshot(),
        sorted(tid for tid, _ in m.node.mempool.list()),
        m.node.ledger.balance(m.address("alice")),
        m.node.ledger.balance(m.address("bob")),
        len(m.core.active_contexts),
        m.core._running,
        set(m.core._reserved),
    )


@pytest.fixture
def rid(manager):
    return manager.deploy(PAY, kind="test").resource_id


def test_transfer_builds_signed_transaction_into_mempool(manager, rid):
    bob = manager.address("bob")
    res = manager.call(CallRequest(rid, "pay", (bob, 250), caller="alice"))
    assert manager.node.mempool.get(res.tx_id) is not None
    tx = res.transaction
    assert txcodec.tx_id(tx) == res.tx_id
    assert all(len(i.unlocking_proof.signature) == 64 for i in tx.inputs) and tx.inputs
    amounts = {o.owner: o.asset.native_amount for o in tx.outputs if o.HasField("asset")}
    assert amounts[bob] == 250
    assert amounts[manager.address("alice")] == 1_000_000 - 250
    assert res.events == (("paid", b"\x01"),)
    states = [o.state for o in tx.outputs if o.HasField("state")]
    assert states and all(s.execution_result_hash == res.execution_result_hash for s in states)
    assert res.usage["host_calls"] == 2 and "host_calls" not in states[0].metadata  # usage is not signed
    assert manager.mine().height == 1
    assert manager.balance("bob") == 250


def test_same_call_same_state_is_byte_identical(tmp_path):
    from ispc_core.coordinator import Manager

    outs = []
    for name in ("a", "b"):
        m = Manager.open(tmp_path / name, overrides=UNPROVEN, plugins=[TestEnginePlugin()])
        # same genesis keys are random per home: pay to a fixed address instead
        rid = m.deploy(PAY, kind="test").resource_id
        res = m.call(CallRequest(rid, "count", (b"v",), caller="node"))
        outs.append((res.execution_result_hash, res.trace_commitment))
        m.close()
    assert outs[0][1] == outs[1][1]


def test_state_versions_chain_across_calls(manager, rid):
    r1 = manager.call(CallRequest(rid, "count", (b"1",)))
    r2 = manager.call(CallRequest(rid, "count", (b"2",)))
    s1 = [o.state for o in r1.transaction.outputs if o.HasField("state")][0]
    s2 = [o.state for o in r2.transaction.outputs if o.HasField("state")][0]
    assert (s1.state_version, s2.state_version) == (1, 2)
    assert s2.parent_state_hash == txcodec.state_hash(s1)
    manager.mine()
    r3 = manager.call(CallRequest(rid, "count", (b"3",)))
    s3 = [o.state for o in r3.transaction.outputs if o.HasField("state")][0]
    assert s3.state_version == 3


def test_result_hash_binds_arguments_and_outputs(manager, rid):
    a = manager.call(CallRequest(rid, "count", (b"1",), nonce=7))
    b = manager.call(CallRequest(rid, "big", (b"1",), nonce=7))
    c = manager.call(CallRequest(rid, "big", (b"2",), nonce=7))
    assert len({a.execution_result_hash, b.execution_result_hash, c.execution_result_hash}) == 3


@pytest.mark.parametrize(
    "request_kwargs, error",
    [
        ({"resource_id": b"\x01" * 32, "function": "pay"}, errors.UnknownResource),
        ({"function": "nope"}, errors.UnknownFunction),
        ({"function": "pay", "caller": "mallory"}, errors.UnknownKey),
        ({"function": "pay", "args": ("bob", 10)}, errors.HostCallError),
        ({"function": "pay", "args": (b"\x02" * 20, 10**12)}, errors.InsufficientFunds),
        ({"function": "pay", "args": (b"\x02" * 20, -5)}, errors.HostCallError),
        ({"function": "big", "input_data": b"x" * (2 << 20)}, errors.OversizedInput),
        ({"function": "boom"}, errors.ProgramTrap),
        ({"function": "burn"}, errors.OutOfFuel),
    ],
)
def test_bad_input_is_typed_and_writes_nothing(manager, rid, request_kwargs, error):
    before = _snapshot(manager)
    kwargs = {"resource_id": rid, "caller": "alice", **request_kwargs}
    with pytest.raises(error) as info:
        manager.call(CallRequest(**kwargs))
    assert str(info.value)
    assert _snapshot(manager) == before


def test_limits_stop_the_program_while_it_runs(tmp_path):
    from ispc_core.coordinator import Manager

    m = Manager.open(
        tmp_path / "h",
        overrides={**UNPROVEN, "limits.wall_time_ms": "100", "limits.max_host_calls": "10", "limits.max_trace_bytes": "300"},
        plugins=[TestEnginePlugin()],
    )
    rid = m.deploy(PAY, kind="test").resource_id
    before = _snapshot(m)
    t = time.monotonic()
    with pytest.raises(errors.DeadlineExceeded):
        m.call(CallRequest(rid, "spin"))
    assert time.monotonic() - t < 1.0
    with pytest.raises(errors.HostCallLimitExceeded) as hc:
        m.call(CallRequest(rid, "many"))
    assert hc.value.allowed == 10
    with pytest.raises(errors.TraceLimitExceeded):
        m.call(CallRequest(rid, "big", (b"z" * 400,)))
    assert _snapshot(m) == before
    m.close()


def test_double_spend_is_rejected_and_leaves_nothing(manager, rid):
    bob = manager.address("bob")
    res = manager.call(CallRequest(rid, "pay", (bob, 10), caller="alice"))
    # replaying the same signed transaction is refused by the mempool
    before = _snapshot(manager)
    with pytest.raises(errors.TransactionRejected) as info:
        manager.submit_transaction(res.transaction)
    assert info.value.reason == "duplicate transaction"
    assert _snapshot(manager) == before
    # alice's only confirmed output is spent by the pending tx: a second payment has nothing to spend
    with pytest.raises(errors.InsufficientFunds):
        manager.call(CallRequest(rid, "pay", (bob, 10), caller="alice"))
    assert _snapshot(manager) == before


@pytest.mark.parametrize("stage", ["open_context", "run_engine", "seal", "prove", "finish", "submit"])
def test_failure_at_every_stage_leaves_nothing(proving_manager, monkeypatch, stage):
    m = proving_manager
    rid = m.deploy(PAY, kind="test").resource_id
    before = _snapshot(m)

    def fail(*args, **kwargs):
        raise errors.ExecutionError(f"injected failure in {stage}")

    monkeypatch.setattr(m.core, stage, fail)
    with pytest.raises(errors.ExecutionError, match="injected"):
        m.call(CallRequest(rid, "pay", (m.address("bob"), 5), caller="alice"))
    assert _snapshot(m) == before


def test_proofs_on_attach_a_proof_to_every_state_output(proving_manager):
    m = proving_manager
    rid = m.deploy(PAY, kind="test").resource_id
    res = m.call(CallRequest(rid, "pay", (m.address("bob"), 5), caller="alice"))
    states = [o.state for o in res.transaction.outputs if o.HasField("state")]
    assert states
    for s in states:
        assert s.zk_proof.proof == res.proof.proof
        assert s.zk_proof.proving_scheme == "testproof"
        assert s.zk_proof.circuit_id == "test_circuit.v1"  # the circuit the chain pins for kind "test"
        assert len(s.zk_proof.public_inputs) == 2
        assert s.zk_proof.generation_time_ms == 0  # a timing is not signed: it is in the call's timings
    assert res.proof.circuit_id == "test_circuit.v1"


def test_a_chain_that_accepts_no_unproven_executions_refuses_an_unproven_tx(proving_manager, monkeypatch):
    m = proving_manager
    rid = m.deploy(PAY, kind="test").resource_id
    monkeypatch.setattr(m.core, "prove", lambda sealed: None)
    before = _snapshot(m)
    with pytest.raises(errors.TransactionRejected, match="accepts no unproven executions") as info:
        m.call(CallRequest(rid, "noop"))
    assert info.value.reason == "proof"
    assert _snapshot(m) == before


def test_missing_prover_names_the_distribution(tmp_path):
    from ispc_core.coordinator import Manager

    # ispc-plonk is installed in the test environment: disable it to see the message
    m = Manager.open(
        tmp_path / "h", overrides={"proof.scheme": "plonk", "plugins.disable": "plonk"}, plugins=[TestEnginePlugin()]
    )
    rid = m.deploy(PAY, kind="test").resource_id
    before = _snapshot(m)  # the deploy transaction is pending
    with pytest.raises(errors.NotProvided, match="ispc-plonk is installed but disabled"):
        m.call(CallRequest(rid, "noop"))
    assert _snapshot(m) == before
    m.close()


def test_cancel_before_submit_writes_nothing_but_compute_is_not_torn(manager, rid, monkeypatch):
    token = CancelToken()
    real = manager.core.run_engine
    seen = {}

    def engine_then_cancel(*a, **kw):
        token.cancel()  # the caller cancels while the program runs
        out = real(*a, **kw)
        seen["finished"] = True  # ...and the program still runs to its end
        return out

    monkeypatch.setattr(manager.core, "run_engine", engine_then_cancel)
    before = _snapshot(manager)
    with pytest.raises(errors.Cancelled, match="submit"):
        manager.call(CallRequest(rid, "pay", (manager.address("bob"), 5), caller="alice"), cancel=token)
    assert seen == {"finished": True}
    assert _snapshot(manager) == before


def test_caller_deadline_already_passed(manager, rid):
    with pytest.raises(errors.Cancelled):
        manager.call(CallRequest(rid, "noop"), deadline=time.monotonic() - 1)


def test_concurrency_limit(tmp_path):
    from ispc_core.coordinator import Manager

    m = Manager.open(
        tmp_path / "h",
        overrides={**UNPROVEN, "limits.max_concurrent": "1", "limits.wall_time_ms": "400"},
        plugins=[TestEnginePlugin()],
    )
    rid = m.deploy(PAY, kind="test").resource_id
    errs = []

    def slow():
        try:
            m.call(CallRequest(rid, "spin"))
        except errors.IspcError as exc:
            errs.append(exc)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.1)
    with pytest.raises(errors.ConcurrencyLimitExceeded):
        m.call(CallRequest(rid, "noop"))
    t.join()
    assert isinstance(errs[0], errors.DeadlineExceeded)
    m.call(CallRequest(rid, "noop"))  # the slot was given back
    m.close()


def test_trace_records_every_host_call_in_order(manager, rid):
    from ispc_core.trace import decode

    captured = {}
    real = manager.core.seal

    def spy(ctx, *a, **kw):
        sealed = real(ctx, *a, **kw)
        captured["trace"] = sealed.trace_encoding
        return sealed

    manager.core.seal = spy
    bob = manager.address("bob")
    manager.call(CallRequest(rid, "pay", (bob, 3), caller="alice"))
    records = decode(captured["trace"])
    assert [r.function for r in records] == ["tx.transfer", "event.emit"]
    assert records[0].args == (bob, 3) and records[0].result == 0


def test_named_tensor_inputs_count_toward_the_input_limit(tmp_path):
    import numpy as np

    from ispc_core.coordinator import Manager, request_input_bytes

    req = CallRequest(b"\x00" * 32, "run", named_inputs={"x": np.zeros((4, 256), dtype=np.float32)}, input_data=b"ab")
    assert request_input_bytes(req) == 4 * 256 * 4 + 2
    m = Manager.open(tmp_path / "h", overrides={**UNPROVEN, "limits.max_input_bytes": "1024"}, plugins=[TestEnginePlugin()])
    rid = m.deploy(PAY, kind="test").resource_id
    before = _snapshot(m)
    with pytest.raises(errors.OversizedInput, match="1024"):
        m.call(CallRequest(rid, "noop", named_inputs={"x": np.zeros(1024, dtype=np.float32)}))
    assert _snapshot(m) == before
    m.close()


def _resigned(m, tx, caller="alice"):
    """``tx`` signed again by its caller and attested by this node (a forger holding both keys)."""
    return txcodec.sign_execution(tx, m.node.keys.get(caller), m.node.node_key)


def test_the_node_verifies_proofs_before_admitting(proving_manager):
    m = proving_manager
    rid = m.deploy(PAY, kind="test").resource_id
    res = m.call(CallRequest(rid, "count", (b"1",), caller="alice"))
    assert m.node.mempool.get(res.tx_id) is not None  # a valid proof was accepted
    m.node.mempool.remove([res.tx_id])
    forged = type(res.transaction)()
    forged.CopyFrom(res.transaction)
    for out in forged.outputs:
        if out.HasField("state"):
            out.state.zk_proof.proof = bytes(32)  # right shape, wrong MAC
    before = _snapshot(m)
    # as it travels, the executor's attestation no longer covers it
    with pytest.raises(errors.TransactionRejected) as err:
        m.submit_transaction(forged)
    assert err.value.reason == "signatures"
    # re-signed by a forger holding the keys, the proof check refuses it
    with pytest.raises(errors.TransactionRejected, match="does not verify") as err:
        m.submit_transaction(_resigned(m, forged))
    assert err.value.reason == "proof"
    # and the mempool on its own (no verification) grants its state output no contract authority
    with pytest.raises(errors.TransactionRejected) as err:
        m.node.mempool.add(res.transaction)
    assert err.value.reason == "no contract authority"
    assert _snapshot(m) == before
    assert m.submit_transaction(res.transaction) == res.tx_id  # the genuine one still goes in


def test_verify_proofs_false_skips_only_the_pairing(tmp_path):
    from ispc_core.coordinator import Manager
    from ispc_core.verification import Verifier

    m = Manager.open(
        tmp_path / "h", overrides={**TEST_PROVING, "node.verify_proofs": "false"},
        plugins=[TestEnginePlugin(), TestProverPlugin()],
    )
    try:
        assert Verifier(m).check_pairing is False
        rid = m.deploy(PAY, kind="test").resource_id
        res = m.call(CallRequest(rid, "count", (b"1",), caller="alice"))
        m.node.mempool.remove([res.tx_id])
        before = _snapshot(m)
        # the pinned circuit, the local key and every recomputed public input are still checked
        tampered = type(res.transaction)()
        tampered.CopyFrom(res.transaction)
        for out in tampered.outputs:
            if out.HasField("state"):
                out.state.zk_proof.public_inputs[1] = bytes(32)
        with pytest.raises(errors.TransactionRejected, match="public input 1") as err:
            m.submit_transaction(_resigned(m, tampered))
        assert err.value.reason == "proof"
        for out in tampered.outputs:
            if out.HasField("state"):
                out.state.zk_proof.CopyFrom(next(o.state.zk_proof for o in res.transaction.outputs if o.HasField("state")))
                out.state.zk_proof.circuit_id = "other_circuit.v1"
        with pytest.raises(errors.TransactionRejected, match="not pinned") as err:
            m.submit_transaction(_resigned(m, tampered))
        assert _snapshot(m) == before
    finally:
        m.close()
    # with the default, the pairing runs too
    with Manager.open(tmp_path / "h2", overrides=TEST_PROVING, plugins=[TestEnginePlugin(), TestProverPlugin()]) as d:
        assert Verifier(d).check_pairing is True


def test_a_transaction_made_on_one_node_is_verified_and_admitted_by_another(tmp_path):
    from ispc_core.coordinator import Manager

    a = Manager.open(tmp_path / "a", overrides=UNPROVEN, plugins=[TestEnginePlugin()])
    b = Manager.open(tmp_path / "b", overrides={**UNPROVEN, **a.chain_overrides()}, plugins=[TestEnginePlugin()])
    try:
        assert b.node.ledger.block(0) == a.node.ledger.block(0)  # the same chain: genesis by address, same rules
        rid = a.deploy(PAY, kind="test").resource_id
        [(deploy_id, deploy)] = a.node.mempool.list()
        bob = a.address("bob")
        res = a.call(CallRequest(rid, "pay", (bob, 40), caller="alice"))

        def state(m):  # b has no key named alice (its genesis is by address)
            return m.node.ledger.snapshot(), [t for t, _ in m.node.mempool.list()], m.node.mempool.pending_resources()

        before = state(b)
        # b has never seen the resource: no authority for a call of it
        with pytest.raises(errors.TransactionRejected) as info:
            b.submit_transaction(res.transaction)
        assert info.value.reason == "resource" and state(b) == before
        assert b.submit_transaction(txcodec.encode(deploy)) == deploy_id  # as bytes, as `ispc tx submit` reads them
        assert b.node.store.has(rid)
        assert b.submit_transaction(res.transaction) == res.tx_id
        block = b.mine()
        assert block.tx_ids == (deploy_id, res.tx_id)
        assert b.node.ledger.balance(bob) == 40 and a.node.ledger.balance(bob) == 0
        # a node of another chain refuses both, and writes nothing
        with Manager.open(tmp_path / "c", overrides={**UNPROVEN, "node.chain_id": "other-chain"}, plugins=[TestEnginePlugin()]) as c:
            with pytest.raises(errors.TransactionRejected) as info:
                c.submit_transaction(deploy)
            assert info.value.reason == "wrong chain"
            with pytest.raises(errors.TransactionRejected) as info:
                c.submit_transaction(res.transaction)
            assert info.value.reason in ("wrong chain", "resource")  # verification runs before the ledger's rules
            assert len(c.node.mempool) == 0 and not c.node.store.has(rid)
    finally:
        b.close()
        a.close()
