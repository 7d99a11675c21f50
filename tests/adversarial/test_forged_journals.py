"""A proving-key holder fabricates a journal and proves it with the real key: the journal check catches every
inconsistency with the victim's own ledger and with the transaction's effects (issue 10, attacks 1, 2 and 8).

Every forgery here is proven with the *real* Groth16 key of ``contract_execution.v1`` (shared by A and B)
and signed by the attacker's own keys, so the journal is the only thing standing between it and the ledger.
"""

from __future__ import annotations

import shutil

import pytest

from ispc_core.coordinator import Manager
from ispc_core.errors import LedgerError
from ispc_core.node import txcodec
from ispc_core.node.keys import NodeKey
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.seal import contract_address

from adversarial import forger
from adversarial.conftest import CONTRACTS, PRICE_KEY, oracle_evidence

E = forger.entry
MILLION = 1_000_000


def _ev(to: bytes, amount: int) -> bytes:
    return to + amount.to_bytes(8, "little", signed=True)


def transfer_journal(to: bytes, amount: int) -> list[pb.JournalEntry]:
    """What token.transfer journals when it pays ``amount`` to ``to`` (input data = ``to``)."""
    ev = _ev(to, amount)
    return [E("env.input", result=to), E("tx.transfer", to, amount, result=0), E("event.emit", "transfer", ev),
            E("result.set", ev)]


def forged_transfer(net, *, caller: NodeKey, to: bytes, amount: int, inputs=(), outputs=(), journal=None):
    """A token.transfer execution by ``caller`` with the given journal and effects, no receipt yet."""
    tx = net.execution("token", "transfer", caller=caller, args=(amount,), input_data=to,
                       journal=transfer_journal(to, amount) if journal is None else journal,
                       events=[("transfer", _ev(to, amount))], return_data=_ev(to, amount), return_values=(0,))
    tx.inputs.extend(pb.TxInput(outpoint=o) for o in inputs)
    tx.outputs.extend(outputs)
    tx.outputs.append(forger.receipt_output(tx))
    return tx


# ------------------------------------------------------------------------------ attack 1
def test_rewritten_transfer_paying_the_attacker_a_million_from_the_victims_inputs(net):
    """alice's outputs rewritten to pay mallory 1,000,000; journal tx.transfer(mallory, 1000000); mallory signs."""
    honest = net.call("token", "transfer", 5, input_data=net.bob).transaction
    m = net.mallory.address
    tx = forged_transfer(net, caller=net.mallory, to=m, amount=MILLION, inputs=[i.outpoint for i in honest.inputs],
                         outputs=[txcodec.native_output(m, MILLION)])
    net.forge(tx, input_key=net.mallory)
    # mallory's spendable balance at the snapshot is 1,000: the journal's tx.transfer cannot have returned 0
    net.reject(tx, "journal", "journal entry 1 (tx.transfer)", "fails on this node's ledger")


def test_rewritten_transfer_within_the_attackers_balance_but_spending_the_victims_inputs(net):
    m = net.mallory.address
    (alice_utxo,) = net.utxos(net.alice)
    tx = forged_transfer(net, caller=net.mallory, to=m, amount=1_000, inputs=[alice_utxo.outpoint],
                         outputs=[txcodec.native_output(m, 1_000), txcodec.native_output(m, alice_utxo.amount - 1_000)])
    net.forge(tx, input_key=net.mallory)
    net.reject(tx, "journal", "input 0 is not the caller's own native output")


def test_rewritten_transfer_in_the_victims_name_signed_by_the_attacker(net):
    (alice_utxo,) = net.utxos(net.alice)
    m = net.mallory.address
    tx = forged_transfer(net, caller=net.alice, to=m, amount=MILLION, inputs=[alice_utxo.outpoint],
                         outputs=[txcodec.native_output(m, alice_utxo.amount)])
    net.forge(tx, caller=net.mallory, input_key=net.mallory)
    net.reject(tx, "signatures", "not the caller's")


def test_a_million_out_of_nothing_with_a_matching_journal(net):
    m = net.mallory.address
    tx = forged_transfer(net, caller=net.mallory, to=m, amount=MILLION, outputs=[txcodec.native_output(m, MILLION)])
    net.forge(tx)
    net.reject(tx, "journal", "journal entry 1 (tx.transfer)")


def test_outputs_rewritten_under_the_honest_journal(net):
    """The journal says 5 to bob; the outputs pay mallory (re-committed, re-proven, re-signed): an output not explained."""
    honest = net.call("token", "transfer", 5, input_data=net.bob).transaction
    tx = forger.copy(honest)
    tx.outputs[0].CopyFrom(txcodec.native_output(net.mallory.address, 5))
    net.forge(tx, caller=net.alice, input_key=net.alice)
    net.reject(tx, "journal", "output 0 is not the one the journal explains")


def test_an_extra_output_not_explained_by_the_journal(net):
    honest = net.call("token", "transfer", 5, input_data=net.bob).transaction
    tx = forger.copy(honest)
    tx.outputs[1].asset.native_amount -= 1_000
    tx.outputs.insert(2, txcodec.native_output(net.mallory.address, 1_000))
    net.forge(tx, caller=net.alice, input_key=net.alice)
    net.reject(tx, "journal", "the journal explains 3")


def test_an_event_not_explained_by_the_journal(net):
    honest = net.call("token", "transfer", 5, input_data=net.bob).transaction
    tx = forger.copy(honest)
    tx.execution.events.append(pb.Event(topic="mint", data=(10**18).to_bytes(8, "little")))
    net.forge(tx, caller=net.alice, input_key=net.alice)
    net.reject(tx, "journal", "event(s)")


def test_return_data_not_written_by_the_journal(net):
    honest = net.call("token", "transfer", 5, input_data=net.bob).transaction
    tx = forger.copy(honest)
    tx.execution.return_data = b"paid in full"
    net.forge(tx, caller=net.alice, input_key=net.alice)
    net.reject(tx, "journal", "return data")


@pytest.mark.parametrize("write", ["state.set", "event.emit", "tx.transfer", "result.set"])
def test_a_journal_write_with_no_matching_effect(net, write):
    """The journal records a write whose effect the transaction does not carry."""
    journal = {
        "state.set": [E("state.set", b"count", (10**9).to_bytes(8, "little"))],
        "event.emit": [E("event.emit", "counter.incremented", b"\x01")],
        "tx.transfer": [E("tx.transfer", net.bob, 10, result=0)],
        "result.set": [E("result.set", b"\x01")],
    }[write]
    tx = net.execution("counter", "increment", args=(1,), journal=journal)
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    detail = {"state.set": "output", "event.emit": "event", "tx.transfer": "the inputs hold 0", "result.set": "return data"}[write]
    net.reject(tx, "journal", detail)


# ------------------------------------------------------------------------------ reads that disagree with the ledger
def _read_cases(net):
    h = net.height
    return {
        "env.block_height": ([], h + 5),
        "env.block_time": ([], 1),
        "env.caller": ([], net.alice.address),
        "env.contract": ([], contract_address(net.tpl.token)),
        "env.chain_id": ([], b"another-chain"),
        "env.input": ([], b"not the call's input"),
        "ledger.balance": ([net.mallory.address], 10**12),
        "state.get": ([b"count"], (999).to_bytes(8, "little")),
        "state.version": ([b"count"], 7),
    }


@pytest.mark.parametrize(
    "function",
    ["env.block_height", "env.block_time", "env.caller", "env.contract", "env.chain_id", "env.input",
     "ledger.balance", "state.get", "state.version"],
)
def test_a_journal_read_that_disagrees_with_the_ledger(net, function):
    args, claimed = _read_cases(net)[function]
    tx = net.execution("counter", "get", journal=[E(function, *args, result=claimed)])
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    net.reject(tx, "journal", f"journal entry 0 ({function})", "this node's ledger gives")


def test_a_read_at_a_snapshot_height_above_the_victims_tip(net):
    tx = net.execution("counter", "get", snapshot_height=net.height + 1, journal=[E("env.block_height", result=net.height + 1)])
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    net.reject(tx, "structure", "above this node's chain tip")


def test_a_snapshot_block_of_another_history(net):
    """The right height, another block: a call made on another history of the chain."""
    tx = net.execution("counter", "get", snapshot_block_hash=bytes(31) + b"\x01",
                       journal=[E("env.block_height", result=net.height)])
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    net.reject(tx, "journal", "is not this chain's block at height")


# ------------------------------------------------------------------------------ attack 2: minting a contract's token
def test_minting_a_contracts_token_with_a_made_up_trace_and_the_real_key(net):
    tx = net.execution("token", "transfer", args=(1,), journal=[E("event.emit", "mint", b"")], events=[("mint", b"")])
    tx.outputs.append(pb.TxOutput(owner=net.mallory.address, locking=pb.LockingCondition(owner_address=net.mallory.address),
                                  asset=pb.AssetOutput(token=pb.TokenAmount(token_id=net.tpl.token, amount=10**18))))
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    net.reject(tx, "journal", "the journal explains 1")


def test_minting_a_contracts_token_with_no_state_output_and_no_proof(net):
    tx = net.execution("token", "transfer", args=(1,))
    tx.outputs.append(pb.TxOutput(owner=net.mallory.address, locking=pb.LockingCondition(owner_address=net.mallory.address),
                                  asset=pb.AssetOutput(token=pb.TokenAmount(token_id=net.tpl.token, amount=10**18))))
    net.forge(tx, proof=False)
    net.reject(tx, "structure", "no state output")


def test_minting_a_contracts_token_with_no_execution_at_all(net):
    tx = forger.plain(net.chain_id, outputs=[pb.TxOutput(
        owner=net.mallory.address, locking=pb.LockingCondition(owner_address=net.mallory.address),
        asset=pb.AssetOutput(token=pb.TokenAmount(token_id=net.tpl.token, amount=10**18)))])
    net.reject(tx, "outputs exceed inputs", "only a verified execution of the token's contract may mint it")


# ------------------------------------------------------------------------------ attack 8: oracle evidence
def _pay_input(to: bytes, price: int, evidence: bytes) -> bytes:
    return to + price.to_bytes(8, "little", signed=True) + evidence


def test_a_journal_claiming_a_fake_oracle_signature_was_accepted(net):
    """Shared chain: mallory's node journals provide_evidence → 1 for a signature by a key the chain does not trust."""
    fake = NodeKey.generate("fake-oracle")
    price, units = 1, 3
    claim = price.to_bytes(8, "little")
    evidence = oracle_evidence(fake, price)
    to = net.bob
    data = _pay_input(to, price, evidence)
    ev = _ev(to, units * price)
    journal = [E("env.input", result=data), E("external.declare", "price", PRICE_KEY, claim, result=0),
               E("external.provide_evidence", 0, evidence, result=1), E("external.query", PRICE_KEY, result=claim),
               E("tx.transfer", to, units * price, result=0), E("event.emit", "payment", ev), E("result.set", ev)]
    (utxo,) = net.utxos(net.mallory)
    tx = net.execution("oracle_payment", "pay", args=(units,), input_data=data, journal=journal,
                       events=[("payment", ev)], return_data=ev, return_values=(units * price,))
    tx.inputs.append(pb.TxInput(outpoint=utxo.outpoint))
    tx.outputs.extend([txcodec.native_output(to, units * price), txcodec.native_output(net.mallory.address, utxo.amount - 3)])
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx, input_key=net.mallory)
    net.reject(tx, "journal", "journal entry 2 (external.provide_evidence)", "the journal says 1, this node's ledger gives 0")
    # the honest executor on the same chain refuses the fake evidence itself: the contract pays nothing
    res = net.call("oracle_payment", "pay", units, caller="mallory", input_data=data)
    assert res.values == (-1,) and not any(o.HasField("asset") for o in res.transaction.outputs)


def test_evidence_accepted_by_an_executor_configured_with_a_fake_oracle_key(net, tmp_path):
    """A node that trusts a fake oracle key is on another chain (its genesis differs); its payment is refused by B."""
    fake = NodeKey.generate("fake-oracle")
    overrides = {**net.tpl.a_overrides, "evidence.oracle_keys": [fake.public_key.hex()]}
    # the victim's own home cannot be opened with the fake key: the chain's rules are in its genesis
    shutil.copytree(net.home_b, tmp_path / "B-fake")
    with pytest.raises(LedgerError, match="other rules"):
        Manager.open(tmp_path / "B-fake", overrides={"evidence.oracle_keys": [fake.public_key.hex()]}, create=False)
    home = tmp_path / "A-fake"
    home.mkdir()
    shutil.copytree(net.home_a / "keys", home / "keys")
    shutil.copytree(net.home_a / "zkkeys", home / "zkkeys")
    with Manager.open(home, overrides=overrides) as evil:
        assert evil.node.ledger.block(0) != net.B.node.ledger.block(0)
        rid = evil.deploy(CONTRACTS / "oracle_payment.wasm").resource_id
        assert rid == net.tpl.oracle_payment
        evil.mine()
        from ispc_core.context import CallRequest

        price, units = 1, 3
        res = evil.call(CallRequest(rid, "pay", (units,), caller="alice",
                                    input_data=_pay_input(net.bob, price, oracle_evidence(fake, price))))
        assert res.values == (units * price,)  # the misconfigured node paid at the fake price
        tx = res.transaction
    # its snapshot block is another chain's
    net.reject(tx, "journal", "another chain or history")
    # rebased onto B's history (re-committed, re-proven, re-signed), the evidence entry itself fails
    rebased = forger.copy(tx)
    rebased.execution.snapshot_block_hash = net.B.node.ledger.block(tx.execution.snapshot_height).hash
    rebased.outputs[-1].CopyFrom(forger.receipt_output(rebased))
    net.forge(rebased, caller=net.alice, input_key=net.alice)
    net.reject(rebased, "journal", "journal entry 2 (external.provide_evidence)", "the journal says 1, this node's ledger gives 0")



# ------------------------------------------------------------------------------ attack 1 under PLONK
def _share_plonk(net, store):
    for home in (net.home_a, net.home_b):
        shutil.copytree(store, home / "zkkeys", dirs_exist_ok=True)


def test_plonk_control_an_honest_transfer_proven_with_plonk_is_accepted(net, plonk_keystore):
    _share_plonk(net, plonk_keystore)
    tx = forger.copy(net.call("token", "transfer", 5, input_data=net.bob).transaction)
    forger.prove(net.A, tx, scheme="plonk")
    forger.sign(tx, caller_key=net.alice, executor_key=net.executor, input_key=net.alice)
    assert forger.the_proof(tx).proving_scheme == "plonk"
    net.accept(tx)


def test_plonk_rewritten_transfer_paying_the_attacker_a_million(net, plonk_keystore):
    _share_plonk(net, plonk_keystore)
    m = net.mallory.address
    tx = forged_transfer(net, caller=net.mallory, to=m, amount=MILLION, outputs=[txcodec.native_output(m, MILLION)])
    net.forge(tx, scheme="plonk")
    assert forger.the_proof(tx).proving_scheme == "plonk"
    net.reject(tx, "journal", "journal entry 1 (tx.transfer)")
