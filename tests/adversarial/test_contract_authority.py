"""Contract authority — spending a contract's outputs, writing its state — only through a verified execution
of a deployed resource (issue 10, attacks 3, 4 and 5; and the state version rule)."""

from __future__ import annotations

import hashlib

from ispc_core.node import txcodec
from ispc_core.proto import transaction_pb2 as pb

from adversarial import forger
from adversarial.conftest import CONTRACTS, LOCKED_AMOUNT

E = forger.entry
BILLION = (10**9).to_bytes(8, "little")


def _counter_head(net):
    return net.B.node.ledger.state_head(net.count_state)


# ------------------------------------------------------------------------------ attack 3: contract-locked outputs
def test_the_contract_locked_output_exists(net):
    (locked,) = [u for u in net.B.node.ledger.contract_utxos(net.tpl.counter) if u.output.HasField("asset")]
    assert locked.amount == LOCKED_AMOUNT and locked.key == txcodec.outpoint_key(net.locked_outpoint)


def test_spending_a_contract_locked_output_with_no_execution(net):
    tx = forger.plain(net.chain_id, inputs=[net.locked_outpoint],
                      outputs=[txcodec.native_output(net.mallory.address, LOCKED_AMOUNT)])
    net.reject(tx, "locked output", "only a verified execution of it may spend it")


def test_spending_a_contract_locked_output_naming_the_contract_without_a_state_output(net):
    tx = net.execution("counter", "increment", args=(0,))
    tx.inputs.append(pb.TxInput(outpoint=net.locked_outpoint))
    tx.outputs.append(txcodec.native_output(net.mallory.address, LOCKED_AMOUNT))
    net.forge(tx, proof=False)
    net.reject(tx, "structure", "no state output")


def test_spending_a_contract_locked_output_with_no_signature_and_no_proof(net):
    tx = net.execution("counter", "increment", args=(0,))
    tx.inputs.append(pb.TxInput(outpoint=net.locked_outpoint))
    tx.outputs.append(txcodec.native_output(net.mallory.address, LOCKED_AMOUNT))
    tx.outputs.append(forger.receipt_output(tx))
    forger.commit(tx)
    net.reject(tx, "signatures", "no caller signature")


def test_spending_a_contract_locked_output_signed_but_unproven(net):
    tx = net.execution("counter", "increment", args=(0,))
    tx.inputs.append(pb.TxInput(outpoint=net.locked_outpoint))
    tx.outputs.append(txcodec.native_output(net.mallory.address, LOCKED_AMOUNT))
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx, proof=False)
    net.reject(tx, "journal", "input 0 is not the caller's own native output")


def test_spending_a_contract_locked_output_with_a_made_up_journal_and_the_real_key(net):
    m = net.mallory.address
    tx = net.execution("counter", "increment", args=(0,), journal=[E("tx.transfer", m, LOCKED_AMOUNT, result=0)])
    tx.inputs.append(pb.TxInput(outpoint=net.locked_outpoint))
    tx.outputs.append(txcodec.native_output(m, LOCKED_AMOUNT))
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    net.reject(tx, "journal", "journal entry 0 (tx.transfer)")


# ------------------------------------------------------------------------------ attack 4: writing a counter's state
def _billion_at_version_2(net, **kw):
    head = _counter_head(net)
    assert head.version == 1
    tx = net.execution("counter", "increment", args=(10**9 - 1,), journal=[
        E("state.get", b"count", result=head.value), E("state.set", b"count", BILLION),
        E("event.emit", "counter.incremented", BILLION), E("result.set", BILLION)],
        events=[("counter.incremented", BILLION)], return_data=BILLION, return_values=(10**9,), **kw)
    tx.outputs.append(forger.state_output(net.tpl.counter, b"count", BILLION, version=2, parent=head.state_hash))
    return tx


def test_writing_a_counters_state_with_no_execution(net):
    head = _counter_head(net)
    tx = forger.plain(net.chain_id, outputs=[forger.state_output(net.tpl.counter, b"count", BILLION, version=2,
                                                                  parent=head.state_hash)])
    net.reject(tx, "structure", "state outputs without an execution record")


def test_writing_a_counters_state_with_no_key(net):
    tx = forger.commit(_billion_at_version_2(net))
    net.reject(tx, "signatures", "no caller signature")


def test_writing_a_counters_state_with_no_proof(net):
    tx = net.forge(_billion_at_version_2(net), proof=False)
    net.reject(tx, "proof", "carries no proof", "accepts no unproven executions")


def test_a_state_write_skipping_a_version(net):
    """Version 3 after version 1, proven and journal-consistent on its own terms: the version rule refuses it."""
    head = _counter_head(net)
    skip = net.execution("counter", "increment", args=(1,), journal=[
        E("state.get", b"count", result=b""), E("state.set", b"count", BILLION)])
    skip.outputs.append(forger.state_output(net.tpl.counter, b"count", BILLION, version=3, parent=head.state_hash))
    net.forge(skip)
    # refused by the journal check (the version it follows is unknown) or else by the ledger's version rule
    exc = net.reject(skip, ("journal", "state version conflict"))
    assert "expected version 2" in str(exc) or "is not known to this node" in str(exc)


def test_a_state_write_restarting_at_version_1(net):
    tx = net.execution("counter", "increment", args=(1,), journal=[E("state.get", b"count", result=b""),
                                                                  E("state.set", b"count", BILLION)])
    tx.outputs.append(forger.state_output(net.tpl.counter, b"count", BILLION, version=1))
    net.forge(tx)
    net.reject(tx, "state version conflict", "expected version 2")


def test_a_state_written_under_another_contracts_lock(net):
    """The counter's state written by an execution of the token contract."""
    head = _counter_head(net)
    tx = net.execution("token", "transfer", args=(1,), journal=[E("state.set", b"count", BILLION)])
    out = forger.state_output(net.tpl.counter, b"count", BILLION, version=2, parent=head.state_hash)
    tx.outputs.append(out)
    net.forge(tx)
    net.reject(tx, "journal", "output 0 is not the one the journal explains")


# ------------------------------------------------------------------------------ attack 5: resources never deployed
def test_naming_a_resource_never_deployed(net):
    ghost = hashlib.sha256(b"never deployed").digest()
    tx = net.execution(ghost, "mint", journal=[])
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    net.reject(tx, "resource", "was never deployed on this chain")


def test_calling_a_resource_deployed_only_on_the_attackers_node(net):
    """A deploys adversarial.wasm into its own mempool and runs it; B never saw the deploy."""
    rid = net.A.deploy(CONTRACTS / "adversarial.wasm").resource_id
    assert net.B.node.ledger.resource_kind(rid) is None
    exports = net.A.core.resource(rid)[2].exports
    tx = net.execution(rid, exports[0].name, journal=[])
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    net.reject(tx, "resource", "was never deployed on this chain")


def test_an_execution_with_a_reference_input(net):
    """A reference input (read, not spent) that no host call explains."""
    tx = net.execution("counter", "get", journal=[])
    tx.inputs.append(pb.TxInput(outpoint=net.locked_outpoint, reference_only=True))
    tx.outputs.append(forger.receipt_output(tx))
    net.forge(tx)
    net.reject(tx, "journal", "reference input")
