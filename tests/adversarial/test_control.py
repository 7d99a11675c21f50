"""The control case: an honest transaction made on A is accepted by B (so the suite cannot pass vacuously)."""

from __future__ import annotations

from ispc_core.node import txcodec


def test_a_valid_transaction_from_the_executor_is_accepted(net):
    bob_before = net.B.balance(net.bob.hex())
    res = net.call("token", "transfer", 7, input_data=net.bob)
    tx_id = net.accept(res.transaction)
    assert tx_id == res.tx_id == txcodec.tx_id(res.transaction)
    assert len(net.B.node.mempool) == 1
    block = net.B.mine()
    assert block is not None and block.tx_ids == (tx_id,)
    assert net.B.balance(net.bob.hex()) == bob_before + 7


def test_a_valid_counter_increment_is_accepted(net):
    res = net.call("counter", "increment", 41)
    net.accept(res.transaction)
    net.B.mine()
    head = net.B.node.ledger.state_head(net.count_state)
    assert head.version == 2 and int.from_bytes(head.value, "little") == 42
