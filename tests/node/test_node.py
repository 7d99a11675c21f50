"""Node: home layout, node key, mining."""

import logging
import os
import stat

import pytest

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.node.node import Node

CONTRACT = b"\xc0" * 32


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
    a = kit.transfer(node.ledger, kit.alice, kit.carol.address, 7)
    s = kit.state_tx(node.ledger, CONTRACT, b"k", b"v")
    node.submit(a)
    assert node.spendable_utxos(kit.alice.address) == []
    node.mempool.add(s)
    block = node.mine()
    assert block.height == 1 and block.tx_ids == (txcodec.tx_id(a), txcodec.tx_id(s))
    assert len(node.mempool) == 0
    assert node.ledger.balance(kit.carol.address) == 7
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
    before = node.ledger.snapshot()
    with pytest.raises(errors.TransactionRejected):
        node.submit(kit.state_tx(node.ledger, CONTRACT, b"k", b"v", proof=b""))
    assert len(node.mempool) == 0 and node.mine() is None and node.ledger.snapshot() == before


def test_reopen_keeps_chain_and_recovers_mempool(tmp_path, kit):
    home = tmp_path / "h"
    opts = dict(chain_id=kit.chain, genesis=kit.genesis, genesis_time=1_700_000_000, block_interval=10,
                proofs_required=False)
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
