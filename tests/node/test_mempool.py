"""Mempool: admission against ledger and pending set, ordering, persistence, concurrency."""

import threading

import pytest

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.node.mempool import Mempool

CONTRACT = b"\xc0" * 32


@pytest.fixture
def pool(tmp_path, ledger):
    mp = Mempool(tmp_path / "mempool.sqlite", ledger, proofs_required=True)
    yield mp
    mp.close()


def rejected(pool, tx):
    with pytest.raises(errors.TransactionRejected) as info:
        pool.add(tx)
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
    assert rejected(pool, kit.state_tx(ledger, CONTRACT, b"k", b"v", proof=b"")) == "proof missing"
    assert len(pool) == 0


def test_state_conflict_with_pending_and_chaining(pool, ledger, kit):
    v1 = kit.state_tx(ledger, CONTRACT, b"k", b"1")
    pool.add(v1)
    # another version 1 computed from the ledger head conflicts with the pending one
    assert rejected(pool, kit.state_tx(ledger, CONTRACT, b"k", b"other")) == "state version conflict"
    # version 2 on top of the pending version 1 is accepted
    sid = txcodec.state_id_for(CONTRACT, b"k")
    from ispc_core.node.ledger import StateHead
    head = StateHead(1, txcodec.state_hash(v1.outputs[0].state), b"1")
    assert pool.pending_state_head(sid) == head
    assert pool.pending_state_head(b"\x00" * 32) is None
    v2 = kit.state_tx(ledger, CONTRACT, b"k", b"2", overlay_head=head)
    pool.add(v2)
    assert pool.pending_state_head(sid).version == 2
    ledger.apply_block([tx for _, tx in pool.list()], proofs_required=True)
    assert ledger.state_head(sid).value == b"2"


def test_persistent_across_reopen(tmp_path, ledger, kit):
    path = tmp_path / "mp.sqlite"
    mp = Mempool(path, ledger, proofs_required=False)
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1)
    mp.add(tx)
    mp.close()
    again = Mempool(path, ledger, proofs_required=False)
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


def test_proof_verifier_hook(tmp_path, ledger, kit):
    mp = Mempool(tmp_path / "v.sqlite", ledger, proofs_required=True,
                 proof_verifier=lambda tx, state: state.zk_proof.proof == b"good")
    assert rejected(mp, kit.state_tx(ledger, CONTRACT, b"k", b"v", proof=b"bad")) == "proof invalid"
    mp.add(kit.state_tx(ledger, CONTRACT, b"k", b"v", proof=b"good"))
    mp.close()


def test_bad_input_is_typed(pool):
    with pytest.raises(errors.RequestError):
        pool.add(b"not a tx")
