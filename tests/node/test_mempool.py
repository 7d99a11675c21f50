"""Mempool: admission against ledger and pending set, ordering, persistence, concurrency."""

import threading

import pytest

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.node.mempool import Mempool


@pytest.fixture
def pool(tmp_path, ledger):
    mp = Mempool(tmp_path / "mempool.sqlite", ledger)
    yield mp
    mp.close()


def rejected(pool, tx, **kw):
    with pytest.raises(errors.TransactionRejected) as info:
        pool.add(tx, **kw)
    return info.value.reason


def test_add_list_get_remove(pool, ledger, kit):
    a = kit.transfer(ledger, kit.alice, kit.carol.address, 1)
    b = kit.transfer(ledger, kit.bob, kit.carol.address, 2)
    ida, idb = pool.add(a), pool.add(b)
    assert ida == txcodec.tx_id(a)
    assert [i for i, _ in pool.list()] == [ida, idb] and len(pool) == 2
    assert pool.get(idb) == b and pool.get(b"\x00" * 32) is None
    assert pool.spent_outpoints() == {txcodec.outpoint_key(a.inputs[0].outpoint), txcodec.outpoint_key(b.inputs[0].outpoint)}
    pool.remove([ida, b"\x00" * 32])
    assert [i for i, _ in pool.list()] == [idb] and len(pool) == 1
    assert pool.spent_outpoints() == {txcodec.outpoint_key(b.inputs[0].outpoint)}


def test_double_spend_against_pending(pool, ledger, kit):
    utxo = ledger.utxos_of(kit.alice.address)[0]
    pool.add(kit.transfer(ledger, kit.alice, kit.bob.address, 1, utxo=utxo))
    assert rejected(pool, kit.transfer(ledger, kit.alice, kit.carol.address, 1, utxo=utxo)) == "double spend"
    assert len(pool) == 1


def test_duplicate_is_rejected(pool, ledger, kit):
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1)
    pool.add(tx)
    assert rejected(pool, tx) == "duplicate transaction"


def test_ledger_rules_apply(pool, ledger, kit):
    assert rejected(pool, kit.transfer(ledger, kit.alice, kit.bob.address, 1, sign=False)) == "missing signature"
    assert rejected(pool, kit.transfer(ledger, kit.alice, kit.bob.address, 5000)) == "outputs exceed inputs"
    assert rejected(pool, kit.state_tx(ledger, kit.contract, b"k", b"v")) == "unknown resource"
    kit.deploy(ledger)
    # an execution the caller did not verify (authorized=False, the default) gets no contract authority
    assert rejected(pool, kit.state_tx(ledger, kit.contract, b"k", b"v")) == "no contract authority"
    assert len(pool) == 0 and pool.pending_state_head(txcodec.state_id_for(kit.contract, b"k")) is None


def test_state_conflict_with_pending_and_chaining(pool, ledger, kit):
    kit.deploy(ledger)
    contract = kit.contract
    v1 = kit.state_tx(ledger, contract, b"k", b"1")
    pool.add(v1, authorized=True)
    # another version 1 computed from the ledger head conflicts with the pending one
    assert rejected(pool, kit.state_tx(ledger, contract, b"k", b"other"), authorized=True) == "state version conflict"
    # version 2 on top of the pending version 1 is accepted
    sid = txcodec.state_id_for(contract, b"k")
    from ispc_core.node.ledger import StateHead
    head = StateHead(1, txcodec.state_hash(v1.outputs[0].state), b"1")
    assert pool.pending_state_head(sid) == head
    assert pool.pending_state_head(b"\x00" * 32) is None
    v2 = kit.state_tx(ledger, contract, b"k", b"2", overlay_head=head)
    assert rejected(pool, v2) == "no contract authority"  # chaining grants no authority either
    pool.add(v2, authorized=True)
    assert pool.pending_state_head(sid).version == 2
    ledger.apply_block([tx for _, tx in pool.list()], authorized=True)
    assert ledger.state_head(sid).value == b"2"


def test_pending_deploys(pool, ledger, kit):
    deploy = kit.deploy_tx()
    pool.add(deploy)
    assert pool.pending_resources() == {kit.contract: "test"}
    assert ledger.resource_kind(kit.contract) is None
    # the same resource deployed again while the first deploy is pending is a duplicate
    assert rejected(pool, kit.deploy_tx(deployer=kit.bob)) == "duplicate transaction"
    # an execution of a resource a pending deploy creates is admitted (with its verification's authority)
    state = kit.state_tx(ledger, kit.contract, b"k", b"v")
    pool.add(state, authorized=True)
    ledger.apply_block([tx for _, tx in pool.list()], authorized=True)
    assert ledger.resource_kind(kit.contract) == "test"
    pool.remove([txcodec.tx_id(deploy), txcodec.tx_id(state)])
    assert pool.pending_resources() == {} and len(pool) == 0


def test_persistent_across_reopen(tmp_path, ledger, kit):
    path = tmp_path / "mp.sqlite"
    mp = Mempool(path, ledger)
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1)
    mp.add(tx)
    mp.close()
    again = Mempool(path, ledger)
    assert again.list() == [(txcodec.tx_id(tx), tx)]
    assert rejected(again, kit.transfer(ledger, kit.alice, kit.carol.address, 1)) == "double spend"
    again.close()


def test_concurrent_adds_only_one_spends(pool, ledger, kit):
    utxo = ledger.utxos_of(kit.alice.address)[0]
    txs = [kit.transfer(ledger, kit.alice, kit.bob.address, 1, utxo=utxo, nonce=n) for n in range(8)]
    results = []

    def add(tx):
        try:
            pool.add(tx)
            results.append("ok")
        except errors.TransactionRejected as exc:
            results.append(exc.reason)

    threads = [threading.Thread(target=add, args=(tx,)) for tx in txs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["double spend"] * 7 + ["ok"]


def test_bad_input_is_typed(pool):
    with pytest.raises(errors.RequestError):
        pool.add(b"not a tx")
