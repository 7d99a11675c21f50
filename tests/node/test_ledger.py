"""Ledger: genesis and chain rules, transfers, deploys, contract authority, every rejection reason,
balances as of a height, atomicity, determinism."""

import hashlib
import threading

import pytest

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.node.ledger import Ledger
from ispc_core.proto import transaction_pb2 as pb

NEVER_DEPLOYED = b"\xc0" * 32



def reason_of(ledger, tx, **kw):
    with pytest.raises(errors.TransactionRejected) as info:
        ledger.validate(tx, **kw)
    return info.value.reason


def nothing_written(ledger, before):
    """The tip is still ``before`` (a LedgerSnapshot)."""
    return ledger.snapshot() == before and ledger.block(before.height + 1) is None


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
    ledger.validate(tx)
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
        ledger.validate(b"bytes")


def test_chain_params_live_in_the_genesis_transaction(tmp_path, kit, ledger):
    assert ledger.chain_params() == pb.ChainParams()  # a genesis without rules
    rules = pb.ChainParams(accept_unproven=False, oracle_keys=[b"\x02" * 33])
    rules.circuits.add(kind="wasm", circuits=["contract_execution.v1"])
    led = kit.ledger(tmp_path / "rules.sqlite", rules)
    assert led.chain_params() == rules
    genesis_tx, _ = led.get_tx(led.block(0).tx_ids[0])
    assert genesis_tx.chain_params == rules
    assert led.init_genesis(kit.genesis, rules).hash == led.block(0).hash  # same rules: a no-op
    led.close()
    with pytest.raises(errors.LedgerError, match="no genesis"):
        Ledger(tmp_path / "empty.sqlite", kit.chain, 0, 10).chain_params()


def test_a_genesis_with_other_chain_rules_is_refused(tmp_path, kit):
    rules = pb.ChainParams(accept_unproven=False)
    rules.circuits.add(kind="wasm", circuits=["contract_execution.v1"])
    led = kit.ledger(tmp_path / "l.sqlite", rules)
    tip = led.snapshot()
    other = pb.ChainParams()
    other.CopyFrom(rules)
    other.accept_unproven = True
    for different in (other, pb.ChainParams(), None):
        with pytest.raises(errors.LedgerError, match="belongs to a chain with other rules"):
            led.init_genesis(kit.genesis, different)
    assert led.snapshot() == tip and led.chain_params() == rules
    led.close()


def test_only_the_genesis_carries_chain_parameters(ledger, kit):
    tx = kit.transfer(ledger, kit.alice, kit.bob.address, 1, sign=False)
    tx.chain_params.accept_unproven = True
    txcodec.sign_inputs(tx, lambda i, inp: kit.alice)
    assert reason_of(ledger, tx) == "malformed transaction"


def test_balance_at_an_old_height_after_later_spends(ledger, kit):
    alice, bob, carol = kit.alice.address, kit.bob.address, kit.carol.address
    ledger.apply_block([kit.transfer(ledger, kit.alice, carol, 300, fee=1)])          # height 1
    ledger.apply_block([kit.transfer(ledger, kit.carol, bob, 100)])                    # height 2
    ledger.apply_block([kit.transfer(ledger, kit.alice, carol, 699)])                  # height 3: alice spends all
    assert [ledger.balance_at(alice, h) for h in range(4)] == [1000, 699, 699, 0]
    assert [ledger.balance_at(carol, h) for h in range(4)] == [0, 300, 200, 899]
    assert [ledger.balance_at(bob, h) for h in range(4)] == [500, 500, 600, 600]
    for who in (alice, bob, carol):  # at the tip it is the balance
        assert ledger.balance_at(who, 3) == ledger.balance(who)
    assert ledger.balance_at(alice, 99) == ledger.balance(alice)
    # a trial that is rolled back (select_valid) leaves no trace in the history
    ledger.select_valid([kit.transfer(ledger, kit.bob, carol, 600)])
    assert ledger.balance_at(bob, 3) == 600 and ledger.balance_at(carol, 3) == 899


def test_deploy_transaction_puts_a_resource_on_chain(ledger, kit):
    deploy = kit.deploy_tx(kit.contract_code, kind="wasm")
    assert deploy.outputs[0].resource.resource_id == hashlib.sha256(kit.contract_code).digest() == kit.contract
    assert ledger.resource_kind(kit.contract) is None and ledger.resource_code(kit.contract) is None
    ledger.validate(deploy)
    block = ledger.apply_block([deploy])
    assert block.tx_ids == (txcodec.tx_id(deploy),)
    assert ledger.resource_kind(kit.contract) == "wasm"
    assert ledger.resource_code(kit.contract) == ("wasm", kit.contract_code)
    # deploying it again (the same bytes, by anyone) is a duplicate
    assert reason_of(ledger, kit.deploy_tx(kit.contract_code, kind="wasm", deployer=kit.bob)) == "duplicate transaction"
    # ... and so is one a pending deploy creates, or the same resource twice in one transaction
    assert reason_of(ledger, kit.deploy_tx(kit.other_code), pending_resources={kit.other: "test"}) == "duplicate transaction"
    twice = kit.deploy_tx(kit.other_code, sign=False)
    twice.outputs.append(twice.outputs[0])
    txcodec.sign_caller(twice, kit.alice)
    assert reason_of(ledger, twice) == "duplicate transaction"


def test_bad_deploys_are_rejected(ledger, kit):
    before = ledger.snapshot()
    # the resource id must be the sha256 of the code
    assert reason_of(ledger, kit.deploy_tx(kit.other_code, resource_id=kit.contract)) == "bad deploy"
    assert reason_of(ledger, kit.deploy_tx(kit.other_code, resource_id=b"\x01" * 32)) == "bad deploy"
    wrong_size = kit.deploy_tx(kit.other_code, sign=False)
    wrong_size.outputs[0].resource.size += 1
    txcodec.sign_caller(wrong_size, kit.alice)
    assert reason_of(ledger, wrong_size) == "bad deploy"
    assert reason_of(ledger, kit.deploy_tx(kit.other_code, kind="")) == "bad deploy"
    # a deploy is signed by its deployer, over the whole transaction (code included)
    assert reason_of(ledger, kit.deploy_tx(kit.other_code, sign=False)) == "missing signature"
    by_another = kit.deploy_tx(kit.other_code, sign=False)
    txcodec.sign_caller(by_another, kit.bob)  # bob's signature, alice named as the deployer
    assert reason_of(ledger, by_another) == "bad signature"
    swapped = kit.deploy_tx(kit.other_code)
    swapped.outputs[0].resource.code = kit.other_code.upper()
    swapped.outputs[0].resource.resource_id = hashlib.sha256(kit.other_code.upper()).digest()
    assert reason_of(ledger, swapped) == "bad signature"  # the code changed after signing
    # a deploy carries no execution
    ledger.apply_block([kit.deploy_tx(kit.contract_code)])
    with_exec = kit.deploy_tx(kit.other_code, sign=False)
    with_exec.execution.resource_id = kit.contract
    kit.sign_execution(with_exec)
    assert reason_of(ledger, with_exec, authorized=True) == "bad deploy"
    assert ledger.resource_kind(kit.other) is None
    assert ledger.snapshot().height == before.height + 1  # only the good deploy


def test_state_versions(ledger, kit):
    kit.deploy(ledger)
    c = kit.contract
    v1 = kit.state_tx(ledger, c, b"counter", b"1")
    ledger.apply_block([v1], authorized=True)
    sid = txcodec.state_id_for(c, b"counter")
    head = ledger.state_head(sid)
    assert (head.version, head.value) == (1, b"1")
    assert head.state_hash == txcodec.state_hash(v1.outputs[0].state)

    def conflict(tx):
        return reason_of(ledger, tx, authorized=True)

    # replaying version 1 (different value) conflicts
    assert conflict(kit.state_tx(ledger, c, b"counter", b"x", version=1, parent=b"")) == "state version conflict"
    # right version, wrong parent
    assert conflict(kit.state_tx(ledger, c, b"counter", b"2", parent=b"\x00" * 32)) == "state version conflict"
    # skipping a version
    assert conflict(kit.state_tx(ledger, c, b"counter", b"3", version=3)) == "state version conflict"
    # a new state must start at version 1 with no parent
    assert conflict(kit.state_tx(ledger, c, b"fresh", b"x", version=2)) == "state version conflict"
    # writing one state twice in one transaction
    twice = kit.state_tx(ledger, c, b"fresh", b"x", sign=False)
    twice.outputs.append(twice.outputs[0])
    assert conflict(kit.sign_execution(twice)) == "state version conflict"
    v2 = kit.state_tx(ledger, c, b"counter", b"2")
    ledger.apply_block([v2], authorized=True)
    assert ledger.state_head(sid).version == 2
    assert ledger.state_head(b"\x00" * 32) is None


def test_state_written_twice_in_a_block_conflicts(ledger, kit):
    kit.deploy(ledger)
    a = kit.state_tx(ledger, kit.contract, b"k", b"a", nonce=1)
    b = kit.state_tx(ledger, kit.contract, b"k", b"b", nonce=2)
    with pytest.raises(errors.TransactionRejected) as info:
        ledger.apply_block([a, b], authorized=True)
    assert info.value.reason == "state version conflict"


def test_state_outputs_without_a_verified_execution_have_no_authority(ledger, kit):
    kit.deploy(ledger)
    before = ledger.snapshot()
    tx = kit.state_tx(ledger, kit.contract, b"k", b"v")
    # built by hand: signed, attested, naming a deployed contract, but nothing verified it
    assert reason_of(ledger, tx) == "no contract authority"
    with pytest.raises(errors.TransactionRejected) as info:
        ledger.apply_block([tx])
    assert info.value.reason == "no contract authority"
    assert ledger.select_valid([tx])[0] == [] and nothing_written(ledger, before)
    assert ledger.state_head(txcodec.state_id_for(kit.contract, b"k")) is None
    # a state output with no execution record at all
    bare = pb.Transaction(version=1, chain_id=kit.chain)
    bare.outputs.append(tx.outputs[0])
    assert reason_of(ledger, bare) == "no contract authority"
    assert reason_of(ledger, bare, authorized=True) == "no contract authority"
    # a verified execution of one contract may not write another contract's state
    kit.deploy(ledger, kit.other_code)
    foreign = kit.state_tx(ledger, kit.contract, b"k", b"v", sign=False)
    foreign.execution.resource_id = kit.other
    assert reason_of(ledger, kit.sign_execution(foreign), authorized=True) == "no contract authority"
    # only a verified execution of the contract itself writes it
    ledger.validate(tx, authorized=True)
    ledger.apply_block([tx], authorized=True)
    assert ledger.state_head(txcodec.state_id_for(kit.contract, b"k")).value == b"v"


def test_an_execution_of_a_resource_never_deployed_is_rejected(ledger, kit):
    tx = kit.state_tx(ledger, NEVER_DEPLOYED, b"k", b"v")
    assert reason_of(ledger, tx) == "unknown resource"
    assert reason_of(ledger, tx, authorized=True) == "unknown resource"  # verification cannot give it authority
    # a resource a pending deploy creates is known
    ledger.validate(kit.state_tx(ledger, kit.contract, b"k", b"v"), authorized=True,
                    pending_resources={kit.contract: "test"})


def test_executions_are_signed_by_the_caller_and_attested_by_the_executor(ledger, kit):
    kit.deploy(ledger)
    unsigned = kit.state_tx(ledger, kit.contract, b"k", b"v", sign=False)
    assert reason_of(ledger, unsigned, authorized=True) == "missing signature"
    no_attestation = kit.state_tx(ledger, kit.contract, b"k", b"v", sign=False)
    txcodec.sign_caller(no_attestation, kit.alice)
    assert reason_of(ledger, no_attestation, authorized=True) == "missing signature"
    wrong_caller = kit.state_tx(ledger, kit.contract, b"k", b"v", sign=False)
    kit.sign_execution(wrong_caller, kit.bob)
    wrong_caller.caller = kit.alice.address  # bob signed; the record now names alice (and the id changed)
    assert reason_of(ledger, wrong_caller, authorized=True) == "bad signature"
    # nothing of a signed execution can be rewritten: function, nonce, value, the proof...
    for rewrite in (
        lambda t: setattr(t.execution, "function", "other"),
        lambda t: setattr(t, "nonce", 7),
        lambda t: setattr(t.outputs[0].state, "state_value", b"10000"),
        lambda t: setattr(t.outputs[0].state.zk_proof, "proof", b"forged"),
    ):
        tx = kit.state_tx(ledger, kit.contract, b"k", b"v")
        rewrite(tx)
        assert reason_of(ledger, tx, authorized=True) == "bad signature"


def test_contract_locked_outputs(ledger, kit):
    kit.deploy(ledger, kit.contract_code, kit.other_code)
    # alice pays 100 into the contract
    pay = kit.transfer(ledger, kit.alice, kit.contract, 100, extra_outputs=())
    pay.outputs[0].locking.contract = kit.contract
    pay.inputs[0].ClearField("unlocking_proof")
    txcodec.sign_inputs(pay, lambda i, inp: kit.alice)
    ledger.apply_block([pay])
    [held] = ledger.contract_utxos(kit.contract)
    assert held.amount == 100

    def steal(resource_id=None):
        tx = pb.Transaction(version=1, chain_id=kit.chain)
        tx.inputs.add(outpoint=held.outpoint)
        tx.outputs.append(txcodec.native_output(kit.carol.address, 100))
        if resource_id is not None:
            tx.execution.resource_id = resource_id
            kit.sign_execution(tx, kit.carol)
        return tx

    # no execution may not move it, verified or not
    assert reason_of(ledger, steal()) == "locked output"
    assert reason_of(ledger, steal(), authorized=True) == "locked output"
    # nor a verified execution of another contract
    assert reason_of(ledger, steal(kit.other), authorized=True) == "locked output"
    # nor an execution of the contract that nothing verified (it merely names the contract)
    assert reason_of(ledger, steal(kit.contract)) == "locked output"
    assert reason_of(ledger, steal(NEVER_DEPLOYED), authorized=True) == "unknown resource"
    assert [u.key for u in ledger.contract_utxos(kit.contract)] == [held.key]
    # a verified execution of the contract may, without any input signature
    ledger.validate(steal(kit.contract), authorized=True)
    ledger.apply_block([steal(kit.contract)], authorized=True)
    assert ledger.balance(kit.carol.address) == 100 and ledger.contract_utxos(kit.contract) == []


def test_reference_only_inputs_are_not_consumed(ledger, kit):
    kit.deploy(ledger)
    utxo = ledger.utxos_of(kit.bob.address)[0]
    tx = kit.state_tx(ledger, kit.contract, b"k", b"v", sign=False)
    tx.inputs.add(outpoint=utxo.outpoint, reference_only=True)
    ledger.apply_block([kit.sign_execution(tx)], authorized=True)
    assert ledger.get_utxo(utxo.outpoint) is not None
    assert ledger.balance(kit.bob.address) == 500


def test_tokens(ledger, kit):
    kit.deploy(ledger, kit.contract_code, kit.other_code)
    before = ledger.snapshot()
    token_out = pb.TxOutput(owner=kit.carol.address, locking=pb.LockingCondition(owner_address=kit.carol.address),
                            asset=pb.AssetOutput(token=pb.TokenAmount(token_id=kit.contract, amount=5)))

    def mint(resource_id=None):
        tx = pb.Transaction(version=1, chain_id=kit.chain)
        tx.outputs.append(token_out)
        if resource_id is not None:
            tx.execution.resource_id = resource_id
            kit.sign_execution(tx, kit.carol)
        return tx

    assert reason_of(ledger, mint()) == "outputs exceed inputs"  # nobody may mint...
    assert reason_of(ledger, mint(), authorized=True) == "outputs exceed inputs"
    assert reason_of(ledger, mint(kit.contract)) == "outputs exceed inputs"  # ...not by naming the contract
    assert reason_of(ledger, mint(kit.other), authorized=True) == "outputs exceed inputs"  # nor another contract
    with pytest.raises(errors.TransactionRejected):
        ledger.apply_block([mint(kit.contract)])
    assert nothing_written(ledger, before)
    ledger.apply_block([mint(kit.contract)], authorized=True)  # ...except a verified execution of the token's contract
    assert ledger.utxos_of(kit.carol.address) == []
    [tok] = ledger.utxos_of(kit.carol.address, native_only=False)
    assert tok.output.asset.token.amount == 5 and tok.amount == 0


def test_block_with_one_invalid_tx_leaves_ledger_unchanged(ledger, kit):
    kit.deploy(ledger)
    before = (ledger.snapshot(), ledger.balance(kit.alice.address), ledger.balance(kit.carol.address))
    good = kit.transfer(ledger, kit.alice, kit.carol.address, 10)
    good_state = kit.state_tx(ledger, kit.contract, b"k", b"v")
    bad = kit.transfer(ledger, kit.bob, kit.carol.address, 1, sign=False)
    with pytest.raises(errors.TransactionRejected) as info:
        ledger.apply_block([good, good_state, bad], authorized=True)
    assert info.value.reason == "missing signature"
    assert (ledger.snapshot(), ledger.balance(kit.alice.address), ledger.balance(kit.carol.address)) == before
    assert ledger.get_tx(txcodec.tx_id(good)) is None
    assert ledger.state_head(txcodec.state_id_for(kit.contract, b"k")) is None
    assert ledger.block(2) is None
    ledger.apply_block([good, good_state], authorized=True)  # and the good ones still apply afterwards
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
        deploy = kit.deploy(led)
        tx = kit.transfer(led, kit.alice, kit.carol.address, 10)
        st = kit.state_tx(led, kit.contract, b"k", b"v")
        blocks.append((deploy, led.apply_block([tx, st], authorized=True), led.apply_block([])))
        led.close()
    assert blocks[0] == blocks[1]
    b0, b1, b2 = blocks[0]
    assert (b0.time, b1.time, b2.time) == (1_700_000_010, 1_700_000_020, 1_700_000_030)
    assert b2.prev_hash == b1.hash != b2.hash and b1.prev_hash == b0.hash


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
