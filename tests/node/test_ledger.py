"""Ledger: genesis, transfers, every rejection reason, atomicity, determinism."""

import threading

import pytest

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.node.ledger import Ledger
from ispc_core.proto import transaction_pb2 as pb

CONTRACT = b"\xc0" * 32


def reason_of(ledger, tx, **kw):
    kw.setdefault("proofs_required", True)
    with pytest.raises(errors.TransactionRejected) as info:
        ledger.validate(tx, **kw)
    return info.value.reason


def test_genesis(ledger, kit):
    snap = ledger.snapshot()
    assert (snap.height, snap.block_time) == (0, 1_700_000_000)
    assert ledger.balance(kit.alice.address) == 1000
    assert ledger.balance(kit.bob.address) == 500
    assert ledger.balance(kit.carol.address) == 0
    [u] = ledger.utxos_of(kit.alice.address)
    assert u.amount == 1000 and u.output.locking.owner_address == kit.alice.address
    assert ledger.get_utxo(u.outpoint).amount == 1000
    genesis_tx, height = ledger.get_tx(u.outpoint.tx_id)
    assert height == 0 and len(genesis_tx.outputs) == 2
    # idempotent
    assert ledger.init_genesis(kit.genesis).hash == snap.tip_hash
    assert ledger.balance(kit.alice.address) == 1000


def test_genesis_mismatch_and_wrong_meta(tmp_path, kit):
    path = tmp_path / "l.sqlite"
    led = kit.ledger(path)
    with pytest.raises(errors.LedgerError, match="different genesis"):
        led.init_genesis({kit.alice.address: 1})
    led.close()
    with pytest.raises(errors.LedgerError, match="chain_id"):
        Ledger(path, b"other", 1_700_000_000, 10)
    with pytest.raises(errors.ConfigError):
        Ledger(tmp_path / "x.sqlite", b"c", 0, 0).init_genesis({b"short": 1})


def test_bad_genesis_allocations(tmp_path):
    led = Ledger(tmp_path / "g.sqlite", b"c", 0, 10)
    for alloc in ({b"short": 1}, {b"\x01" * 20: 0}, {b"\x01" * 20: -5}, {b"\x01" * 20: 1 << 63}):
        with pytest.raises(errors.ConfigError):
            led.init_genesis(alloc)
    with pytest.raises(errors.LedgerError):
        led.snapshot()


def test_transfer_applies(ledger, kit):
    tx = kit.transfer(ledger, kit.alice, kit.carol.address, 300, fee=1)
    ledger.validate(tx, proofs_required=True)
    block = ledger.apply_block([tx])
    assert (block.height, block.time, block.tx_ids) == (1, 1_700_000_010, (txcodec.tx_id(tx),))
    assert block.prev_hash == ledger.block(0).hash
    assert ledger.snapshot().tip_hash == block.hash == ledger.block(1).hash
    assert ledger.balance(kit.carol.address) == 300
    assert ledger.balance(kit.alice.address) == 699  # 1 burned as fee
    assert ledger.get_tx(txcodec.tx_id(tx))[1] == 1
    assert ledger.get_utxo(tx.inputs[0].outpoint) is None


def test_missing_signature(ledger, kit):
    assert reason_of(ledger, kit.transfer(ledger, kit.alice, kit.bob.address, 1, sign=False)) == "missing signature"


def test_tampered_signature(ledger, kit):
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1)
    sig = bytearray(tx.inputs[0].unlocking_proof.signature)
    sig[10] ^= 0x40
    tx.inputs[0].unlocking_proof.signature = bytes(sig)
    assert reason_of(ledger, tx) == "bad signature"


def test_tampered_transaction_after_signing(ledger, kit):
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1)
    tx.outputs[0].asset.native_amount = 2  # changes the id the signature covered
    assert reason_of(ledger, tx) == "bad signature"


def test_wrong_key(ledger, kit):
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1, sign=False)
    txcodec.sign_inputs(tx, lambda i, inp: kit.bob)
    assert reason_of(ledger, tx) == "bad signature"
    # alice's public key but bob's signature
    tx.inputs[0].unlocking_proof.public_key = kit.alice.public_key
    assert reason_of(ledger, tx) == "bad signature"


def test_unknown_outpoint(ledger, kit):
    tx = pb.Transaction(version=1, chain_id=kit.chain)
    tx.inputs.add(outpoint=pb.OutPoint(tx_id=b"\x09" * 32, index=0))
    txcodec.sign_inputs(tx, lambda i, inp: kit.alice)
    assert reason_of(ledger, tx) == "unknown or spent outpoint"


def test_spent_outpoint_in_ledger(ledger, kit):
    utxo = ledger.utxos_of(kit.alice.address)[0]
    ledger.apply_block([kit.transfer(ledger, kit.alice, kit.bob.address, 10, utxo=utxo)])
    again = kit.transfer(ledger, kit.alice, kit.carol.address, 10, utxo=utxo)
    assert reason_of(ledger, again) == "unknown or spent outpoint"


def test_double_spend_within_tx_and_elsewhere(ledger, kit):
    utxo = ledger.utxos_of(kit.alice.address)[0]
    tx = pb.Transaction(version=1, chain_id=kit.chain)
    tx.inputs.add(outpoint=utxo.outpoint)
    tx.inputs.add(outpoint=utxo.outpoint)
    tx.outputs.append(txcodec.native_output(kit.bob.address, 2000))
    txcodec.sign_inputs(tx, lambda i, inp: kit.alice)
    assert reason_of(ledger, tx) == "double spend"
    single = kit.transfer(ledger, kit.alice, kit.bob.address, 1)
    assert reason_of(ledger, single, spent_elsewhere={utxo.key}) == "double spend"


def test_double_spend_within_one_block(ledger, kit):
    utxo = ledger.utxos_of(kit.alice.address)[0]
    a = kit.transfer(ledger, kit.alice, kit.bob.address, 10, utxo=utxo)
    b = kit.transfer(ledger, kit.alice, kit.carol.address, 10, utxo=utxo)
    with pytest.raises(errors.TransactionRejected) as info:
        ledger.apply_block([a, b])
    assert info.value.reason == "unknown or spent outpoint"


def test_outputs_exceed_inputs(ledger, kit):
    assert reason_of(ledger, kit.transfer(ledger, kit.alice, kit.bob.address, 1001)) == "outputs exceed inputs"
    assert reason_of(ledger, kit.transfer(ledger, kit.alice, kit.bob.address, 1000, fee=1)) == "outputs exceed inputs"
    mint = pb.Transaction(version=1, chain_id=kit.chain)
    mint.outputs.append(txcodec.native_output(kit.carol.address, 1))
    assert reason_of(ledger, mint) == "outputs exceed inputs"


def test_wrong_chain(ledger, kit):
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1, sign=False)
    tx.chain_id = b"elsewhere"
    txcodec.sign_inputs(tx, lambda i, inp: kit.alice)
    assert reason_of(ledger, tx) == "wrong chain"


def test_duplicate_and_malformed(ledger, kit):
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1)
    ledger.apply_block([tx])
    assert reason_of(ledger, tx) == "duplicate transaction"
    bad = pb.Transaction(version=1, chain_id=kit.chain)
    bad.outputs.add(owner=b"x")  # no content
    assert reason_of(ledger, bad) == "malformed transaction"
    unlocked = pb.Transaction(version=1, chain_id=kit.chain)
    unlocked.outputs.add(asset=pb.AssetOutput(native_amount=0))
    assert reason_of(ledger, unlocked) == "malformed transaction"
    with pytest.raises(errors.RequestError):
        ledger.validate(b"bytes", proofs_required=False)


def test_state_versions(ledger, kit):
    v1 = kit.state_tx(ledger, CONTRACT, b"counter", b"1")
    ledger.apply_block([v1])
    sid = txcodec.state_id_for(CONTRACT, b"counter")
    head = ledger.state_head(sid)
    assert (head.version, head.value) == (1, b"1")
    assert head.state_hash == txcodec.state_hash(v1.outputs[0].state)
    # replaying version 1 (different value) conflicts
    assert reason_of(ledger, kit.state_tx(ledger, CONTRACT, b"counter", b"x", version=1, parent=b"")) == "state version conflict"
    # right version, wrong parent
    assert reason_of(ledger, kit.state_tx(ledger, CONTRACT, b"counter", b"2", parent=b"\x00" * 32)) == "state version conflict"
    # skipping a version
    assert reason_of(ledger, kit.state_tx(ledger, CONTRACT, b"counter", b"3", version=3)) == "state version conflict"
    # a new state must start at version 1 with no parent
    assert reason_of(ledger, kit.state_tx(ledger, CONTRACT, b"fresh", b"x", version=2)) == "state version conflict"
    v2 = kit.state_tx(ledger, CONTRACT, b"counter", b"2")
    ledger.apply_block([v2])
    assert ledger.state_head(sid).version == 2
    assert ledger.state_head(b"\x00" * 32) is None


def test_state_written_twice_in_a_block_conflicts(ledger, kit):
    a = kit.state_tx(ledger, CONTRACT, b"k", b"a", nonce=1)
    b = kit.state_tx(ledger, CONTRACT, b"k", b"b", nonce=2)
    with pytest.raises(errors.TransactionRejected) as info:
        ledger.apply_block([a, b])
    assert info.value.reason == "state version conflict"


def test_proof_missing(ledger, kit):
    tx = kit.state_tx(ledger, CONTRACT, b"k", b"v", proof=b"")
    assert reason_of(ledger, tx) == "proof missing"
    ledger.validate(tx, proofs_required=False)
    with pytest.raises(errors.TransactionRejected):
        ledger.apply_block([tx], proofs_required=True)


def test_contract_locked_outputs(ledger, kit):
    # alice pays 100 into the contract
    pay = kit.transfer(ledger, kit.alice, CONTRACT, 100, extra_outputs=())
    pay.outputs[0].locking.contract = CONTRACT
    pay.inputs[0].ClearField("unlocking_proof")
    txcodec.sign_inputs(pay, lambda i, inp: kit.alice)
    ledger.apply_block([pay])
    [held] = ledger.contract_utxos(CONTRACT)
    assert held.amount == 100
    # an execution of another contract (or none) may not move it
    steal = pb.Transaction(version=1, chain_id=kit.chain)
    steal.inputs.add(outpoint=held.outpoint)
    steal.outputs.append(txcodec.native_output(kit.carol.address, 100))
    assert reason_of(ledger, steal) == "locked output"
    steal.execution.resource_id = b"\xee" * 32
    assert reason_of(ledger, steal) == "locked output"
    # an execution of the contract may, without any signature
    steal.execution.resource_id = CONTRACT
    ledger.validate(steal, proofs_required=True)
    ledger.apply_block([steal])
    assert ledger.balance(kit.carol.address) == 100 and ledger.contract_utxos(CONTRACT) == []


def test_reference_only_inputs_are_not_consumed(ledger, kit):
    utxo = ledger.utxos_of(kit.bob.address)[0]
    tx = kit.state_tx(ledger, CONTRACT, b"k", b"v")
    tx.inputs.add(outpoint=utxo.outpoint, reference_only=True)
    ledger.apply_block([tx])
    assert ledger.get_utxo(utxo.outpoint) is not None
    assert ledger.balance(kit.bob.address) == 500


def test_tokens(ledger, kit):
    token_out = pb.TxOutput(owner=kit.carol.address, locking=pb.LockingCondition(owner_address=kit.carol.address),
                            asset=pb.AssetOutput(token=pb.TokenAmount(token_id=CONTRACT, amount=5)))
    mint = pb.Transaction(version=1, chain_id=kit.chain)
    mint.outputs.append(token_out)
    assert reason_of(ledger, mint) == "outputs exceed inputs"  # nobody may mint...
    mint.execution.resource_id = CONTRACT
    ledger.apply_block([mint])  # ...except the contract whose id is the token id
    assert ledger.utxos_of(kit.carol.address) == []
    [tok] = ledger.utxos_of(kit.carol.address, native_only=False)
    assert tok.output.asset.token.amount == 5 and tok.amount == 0


def test_block_with_one_invalid_tx_leaves_ledger_unchanged(ledger, kit):
    before = (ledger.snapshot(), ledger.balance(kit.alice.address), ledger.balance(kit.carol.address))
    good = kit.transfer(ledger, kit.alice, kit.carol.address, 10)
    good_state = kit.state_tx(ledger, CONTRACT, b"k", b"v")
    bad = kit.transfer(ledger, kit.bob, kit.carol.address, 1, sign=False)
    with pytest.raises(errors.TransactionRejected) as info:
        ledger.apply_block([good, good_state, bad])
    assert info.value.reason == "missing signature"
    assert (ledger.snapshot(), ledger.balance(kit.alice.address), ledger.balance(kit.carol.address)) == before
    assert ledger.get_tx(txcodec.tx_id(good)) is None
    assert ledger.state_head(txcodec.state_id_for(CONTRACT, b"k")) is None
    assert ledger.block(1) is None
    ledger.apply_block([good, good_state])  # and the good ones still apply afterwards
    assert ledger.balance(kit.carol.address) == 10


def test_spending_an_output_of_an_earlier_tx_in_the_same_block(ledger, kit):
    first = kit.transfer(ledger, kit.alice, kit.carol.address, 10)
    second = pb.Transaction(version=1, chain_id=kit.chain)
    second.inputs.add(outpoint=pb.OutPoint(tx_id=txcodec.tx_id(first), index=0))
    second.outputs.append(txcodec.native_output(kit.bob.address, 10))
    txcodec.sign_inputs(second, lambda i, inp: kit.carol)
    ledger.apply_block([first, second])
    assert ledger.balance(kit.bob.address) == 510 and ledger.balance(kit.carol.address) == 0


def test_determinism_same_txs_same_block(tmp_path, kit):
    blocks = []
    for name in ("a", "b"):
        led = kit.ledger(tmp_path / f"{name}.sqlite")
        tx = kit.transfer(led, kit.alice, kit.carol.address, 10)
        st = kit.state_tx(led, CONTRACT, b"k", b"v")
        blocks.append((led.apply_block([tx, st]), led.apply_block([])))
        led.close()
    assert blocks[0] == blocks[1]
    b1, b2 = blocks[0]
    assert (b1.time, b2.time) == (1_700_000_010, 1_700_000_020)
    assert b2.prev_hash == b1.hash != b2.hash


def test_select_valid_writes_nothing(ledger, kit):
    utxo = ledger.utxos_of(kit.alice.address)[0]
    a = kit.transfer(ledger, kit.alice, kit.bob.address, 10, utxo=utxo)
    b = kit.transfer(ledger, kit.alice, kit.carol.address, 10, utxo=utxo)
    valid, rejected = ledger.select_valid([a, b])
    assert valid == [a] and [r.reason for _, r in rejected] == ["unknown or spent outpoint"]
    assert ledger.snapshot().height == 0 and ledger.get_utxo(utxo.outpoint) is not None


def test_reads_from_threads_during_writes(ledger, kit):
    errors_seen = []

    def reader():
        try:
            last = 0
            for _ in range(50):
                assert ledger.balance(kit.alice.address) in (1000, 998, 997, 996, 995, 994)
                height = ledger.snapshot().height
                assert height >= last
                last = height
        except Exception as exc:  # pragma: no cover - reported below
            errors_seen.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(5):
        utxo = ledger.utxos_of(kit.alice.address)[0]
        ledger.apply_block([kit.transfer(ledger, kit.alice, kit.carol.address, 1, utxo=utxo, fee=1 if i == 0 else 0)])
    for t in threads:
        t.join()
    assert not errors_seen
    assert ledger.snapshot().height == 5
