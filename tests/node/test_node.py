"""Node: home layout, node key, chain rules in the genesis, verification before admission, mining."""

import logging
import os
import stat
import threading

import pytest

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.node.node import Node
from ispc_core.proto import transaction_pb2 as pb


def test_home_layout_and_node_key(tmp_path, node, kit):
    home = tmp_path / "home"
    assert {p.name for p in home.iterdir()} >= {"resources", "keys", "ledger.sqlite", "mempool.sqlite"}
    key = node.node_key
    assert (home / "keys" / "node.key").exists()
    assert stat.S_IMODE(os.stat(home / "keys" / "node.key").st_mode) == 0o600
    assert node.keys.get("node").address == key.address
    assert node.ledger.balance(kit.alice.address) == 1000


def test_mine_moves_mempool_into_a_block(node, kit):
    assert node.mine() is None
    d = kit.deploy_tx()
    a = kit.transfer(node.ledger, kit.alice, kit.carol.address, 7)
    s = kit.state_tx(node.ledger, kit.contract, b"k", b"v")
    node.submit(d)
    node.submit(a)
    assert node.spendable_utxos(kit.alice.address) == []
    node.mempool.add(s, authorized=True)  # as Node.submit adds it once its verifier passed
    block = node.mine()
    assert block.height == 1 and block.tx_ids == (txcodec.tx_id(d), txcodec.tx_id(a), txcodec.tx_id(s))
    assert len(node.mempool) == 0
    assert node.ledger.balance(kit.carol.address) == 7
    assert node.ledger.resource_kind(kit.contract) == "test"
    assert node.ledger.state_head(txcodec.state_id_for(kit.contract, b"k")).value == b"v"
    assert node.ledger.snapshot().height == 1
    assert node.mine() is None


def test_mine_drops_invalid_with_logged_reason(node, kit, caplog):
    utxo = node.ledger.utxos_of(kit.alice.address)[0]
    pending = kit.transfer(node.ledger, kit.alice, kit.bob.address, 5, utxo=utxo)
    keep = kit.transfer(node.ledger, kit.bob, kit.carol.address, 3)
    node.submit(pending)
    node.submit(keep)
    # the same output gets spent in the ledger behind the mempool's back
    node.ledger.apply_block([kit.transfer(node.ledger, kit.alice, kit.carol.address, 1, utxo=utxo)])
    with caplog.at_level(logging.WARNING, logger="ispc.node"):
        block = node.mine()
    assert block.tx_ids == (txcodec.tx_id(keep),)
    assert "unknown or spent outpoint" in caplog.text and txcodec.tx_id(pending).hex() in caplog.text
    assert len(node.mempool) == 0


def test_mempool_rejection_leaves_everything_unchanged(node, kit):
    node.submit(kit.deploy_tx())
    node.mine()
    before = node.ledger.snapshot()
    # a node without a verifier cannot verify an execution, so it grants it no contract authority
    assert node.verifier is None
    with pytest.raises(errors.TransactionRejected) as info:
        node.submit(kit.state_tx(node.ledger, kit.contract, b"k", b"v"))
    assert info.value.reason == "no contract authority"
    assert len(node.mempool) == 0 and node.mine() is None and node.ledger.snapshot() == before


def _verifying_node(tmp_path, kit, verifier):
    return Node(tmp_path / "vhome", chain_id=kit.chain, genesis=kit.genesis, genesis_time=1_700_000_000,
                block_interval=10, verifier=verifier)


def test_the_verifier_runs_before_the_mempool_write_lock_and_grants_authority(tmp_path, kit):
    seen = []
    holder = {}

    def verifier(tx):
        node = holder["node"]
        # not inside the mempool's write transaction: another thread can admit a transaction meanwhile
        assert not node.mempool._conn.in_transaction
        if not tx.HasField("execution"):
            seen.append("plain")
            return
        other = threading.Thread(target=lambda: node.submit(kit.transfer(node.ledger, kit.bob, kit.carol.address, 1)))
        other.start()
        other.join(timeout=10)
        assert not other.is_alive(), "the mempool was locked while the verifier ran"
        seen.append(tx.execution.function)

    node = holder["node"] = _verifying_node(tmp_path, kit, verifier)
    try:
        node.submit(kit.deploy_tx())  # every transaction goes through the verifier; a deploy has no execution
        assert seen == ["plain"]
        state = kit.state_tx(node.ledger, kit.contract, b"k", b"v")
        tid = node.submit(state)  # verified first (meanwhile the other thread's transfer got in), then admitted
        assert seen == ["plain", "plain", "set"]
        assert [t for t, _ in node.mempool.list()][-1] == tid and len(node.mempool) == 3
        node.mine()  # ... with the contract's authority
        assert node.ledger.state_head(txcodec.state_id_for(kit.contract, b"k")).value == b"v"
    finally:
        node.close()


def test_a_verifier_refusal_leaves_the_mempool_untouched(tmp_path, kit):
    calls = []

    def verifier(tx):
        if tx.HasField("execution"):
            calls.append(txcodec.tx_id(tx))
            raise errors.TransactionRejected("transaction rejected (proof): no", reason="proof")

    node = _verifying_node(tmp_path, kit, verifier)
    try:
        node.submit(kit.deploy_tx())
        node.mine()
        before = node.ledger.snapshot()
        spending = kit.state_tx(node.ledger, kit.contract, b"k", b"v", sign=False)
        utxo = node.ledger.utxos_of(kit.alice.address)[0]
        spending.inputs.add(outpoint=utxo.outpoint)
        kit.sign_execution(spending, signed_inputs={0})
        with pytest.raises(errors.TransactionRejected) as info:
            node.submit(spending)
        assert info.value.reason == "proof" and calls == [txcodec.tx_id(spending)]
        assert len(node.mempool) == 0 and node.mempool.spent_outpoints() == set()
        assert node.mempool.pending_state_head(txcodec.state_id_for(kit.contract, b"k")) is None
        assert node.mine() is None and node.ledger.snapshot() == before
        # the refused transaction reserved nothing: its input is still spendable
        node.submit(kit.transfer(node.ledger, kit.alice, kit.carol.address, 5, utxo=utxo))
    finally:
        node.close()


def test_a_home_opened_with_other_chain_rules_is_refused(tmp_path, kit):
    home = tmp_path / "h"
    rules = pb.ChainParams(accept_unproven=False)
    rules.circuits.add(kind="test", circuits=["test_circuit.v1"])
    opts = dict(chain_id=kit.chain, genesis=kit.genesis, genesis_time=1_700_000_000, block_interval=10)
    node = Node(home, chain_params=rules, **opts)
    assert node.ledger.chain_params() == rules
    node.close()
    before = (home / "ledger.sqlite").read_bytes()
    other = pb.ChainParams(accept_unproven=True)
    other.circuits.add(kind="test", circuits=["test_circuit.v1"])
    with pytest.raises(errors.LedgerError, match="belongs to a chain with other rules"):
        Node(home, chain_params=other, **opts)
    assert (home / "ledger.sqlite").read_bytes() == before
    node = Node(home, chain_params=rules, **opts)  # the chain's own rules still open it
    assert node.ledger.chain_params() == rules
    node.close()


def test_reopen_keeps_chain_and_recovers_mempool(tmp_path, kit):
    home = tmp_path / "h"
    opts = dict(chain_id=kit.chain, genesis=kit.genesis, genesis_time=1_700_000_000, block_interval=10)
    node = Node(home, **opts)
    tx = kit.transfer(node.ledger, kit.alice, kit.carol.address, 4)
    node.submit(tx)
    # simulate a crash after the block was written but before the mempool was cleaned
    node.ledger.apply_block([tx])
    address = node.node_key.address
    node.close()
    node = Node(home, **opts)
    assert len(node.mempool) == 0
    assert node.ledger.snapshot().height == 1 and node.ledger.balance(kit.carol.address) == 4
    assert node.node_key.address == address
    node.close()
