"""What the forger found beyond issue 10's list, and what binding-only ``contract_execution.v1`` still allows."""

from __future__ import annotations

import shutil

import pytest

from ispc_core.coordinator import Manager
from ispc_core.node import txcodec

from adversarial import forger
from adversarial.conftest import CONTRACTS, _toml

E = forger.entry
BILLION = (10**9).to_bytes(8, "little")


def _billion(net, executor_key=None):
    head = net.B.node.ledger.state_head(net.count_state)
    tx = net.execution("counter", "increment", args=(1,), journal=[
        E("state.get", b"count", result=head.value), E("state.set", b"count", BILLION)])
    tx.outputs.append(forger.state_output(net.tpl.counter, b"count", BILLION, version=2, parent=head.state_hash))
    forger.commit(tx)
    forger.prove(net.A, tx)
    return forger.sign(tx, caller_key=net.mallory, executor_key=executor_key or net.executor)


def test_a_contract_locked_output_does_not_count_as_someone_elses_balance(net):
    """A plain payment locks 600 to a contract but names alice as the output's ``owner``: alice cannot spend it,
    so it must not appear in her balance, her spendable outputs or what ``ledger.balance`` tells programs."""
    (utxo,) = net.utxos(net.mallory)
    tx = forger.plain(net.chain_id, inputs=[utxo.outpoint], outputs=[
        forger.contract_locked(net.tpl.counter, 600, owner=net.alice.address),
        txcodec.native_output(net.mallory.address, utxo.amount - 600)])
    forger.sign(tx, caller_key=None, executor_key=None, input_key=net.mallory)
    alice_before = net.B.node.ledger.balance(net.alice.address)
    try:
        net.B.submit_transaction(tx)
    except Exception as exc:  # refusing such an output is a fix too
        assert getattr(exc, "reason", "") == "malformed transaction", exc
        return
    net.B.mine()
    led = net.B.node.ledger
    assert led.balance(net.alice.address) == alice_before
    assert led.balance_at(net.alice.address, led.snapshot().height) == alice_before
    assert all(u.output.locking.WhichOneof("condition") == "owner_address" for u in led.utxos_of(net.alice.address))


@pytest.mark.xfail(strict=True, reason=(
    "binding-only contract_execution.v1 (issue 10 item 8): a holder of the proving key — every node that shares "
    "the key store, on a chain with no trusted_executors — fabricates a journal the program would never produce "
    "(counter set to 10^9 by increment(1)) that is consistent with the ledger; only wasm_execution.v1 closes it"))
def test_a_fabricated_but_consistent_journal_is_refused(net):
    net.reject(_billion(net), "proof")


def test_a_chain_with_trusted_executors_refuses_the_fabrication_by_another_node(net, tmp_path):
    """The documented mitigation: pin the executing nodes. The same forgery, attested by A, is refused by a
    victim on a chain whose trusted executors do not include A."""
    overrides = {**net.tpl.a_overrides, "chain.trusted_executors": [net.alice.public_key.hex()]}
    home_a, home_b = tmp_path / "TA", tmp_path / "TB"
    home_a.mkdir()
    shutil.copytree(net.home_a / "keys", home_a / "keys")
    shutil.copytree(net.home_a / "zkkeys", home_a / "zkkeys")
    with Manager.open(home_a, overrides=overrides) as A:
        home_b.mkdir()
        (home_b / "ispc.toml").write_text(_toml(A.chain_overrides()))
        shutil.copytree(net.home_a / "zkkeys", home_b / "zkkeys")
        with Manager.open(home_b) as B:
            A.deploy(CONTRACTS / "counter.wasm")
            for _, tx in A.node.mempool.list():
                B.submit_transaction(tx)
            assert A.mine() == B.mine()
            first_a, first_b = net.A, net.B
            net.A, net.B = A, B
            try:
                net.reject(_billion_first(net), "proof", "trusted executors")
            finally:
                net.A, net.B = first_a, first_b


def _billion_first(net):
    tx = net.execution("counter", "increment", args=(1,), journal=[
        E("state.get", b"count", result=b""), E("state.set", b"count", BILLION)])
    tx.outputs.append(forger.state_output(net.tpl.counter, b"count", BILLION, version=1))
    return net.forge(tx)
