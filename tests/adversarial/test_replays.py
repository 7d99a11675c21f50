"""Replays: a mined or pending transaction handed to the victim again, or re-issued under a new nonce."""

from __future__ import annotations

from adversarial import forger


def test_a_mined_transfer_replayed(net):
    net.reject(net.mined("transfer"), "duplicate transaction", "already in the ledger")


def test_a_mined_counter_increment_replayed(net):
    net.reject(net.mined("increment"), "duplicate transaction", "already in the ledger")


def test_a_mined_transaction_replayed_as_bytes(net):
    net.reject(forger.copy(net.mined("increment")).SerializeToString(), "duplicate transaction")


def test_a_pending_transaction_submitted_twice(net):
    tx = net.call("counter", "increment", 1).transaction
    net.accept(tx)
    net.reject(tx, "duplicate transaction", "already pending")


def test_a_pending_transaction_resubmitted_with_another_executor_attestation(net):
    """The attestation is outside the id: a re-attested copy is the same transaction."""
    tx = net.call("counter", "increment", 1).transaction
    net.accept(tx)
    again = forger.sign(forger.copy(tx), caller_key=None, executor_key=net.mallory)
    net.reject(again, "duplicate transaction", "already pending")


def test_a_mined_increment_reissued_under_a_new_nonce(net):
    """alice's own key signs it again (A holds it): a new id, but version 1 of the counter is taken."""
    tx = forger.copy(net.mined("increment"))
    tx.nonce += 1
    tx.outputs[0].state.execution_result_hash = b""
    net.forge(tx, caller=net.alice)
    net.reject(tx, "state version conflict", "expected version 2")


def test_a_mined_transfer_reissued_under_a_new_nonce(net):
    tx = forger.copy(net.mined("transfer"))
    tx.nonce += 1
    # the receipt's state id follows the request hash; the journal still matches the ledger at the old snapshot
    tx.outputs[-1].CopyFrom(forger.receipt_output(tx))
    net.forge(tx, caller=net.alice, input_key=net.alice)
    net.reject(tx, "unknown or spent outpoint", "input 0")
