"""When funds are locked by a pending transaction, the refusal says which one and that `ispc mine` frees them."""

from __future__ import annotations

import pytest

from ispc_core import errors
from ispc_core.context import CallRequest
from ispc_testdoubles import program

PAY = program({"pay": [["tx.transfer", "$0", "$1"]]})


def test_a_second_transfer_before_mining_names_the_locking_transaction(manager):
    rid = manager.deploy(PAY, kind="test").resource_id
    bob = manager.address("bob")
    first = manager.call(CallRequest(rid, "pay", (bob, 250), caller="alice"))
    with pytest.raises(errors.InsufficientFunds) as exc:
        manager.call(CallRequest(rid, "pay", (bob, 1), caller="alice"))
    message = str(exc.value)
    assert "has 0 spendable, needs 1" in message
    assert f"1000000 is locked by pending transaction {first.tx_id.hex()}" in message
    assert "`ispc mine` confirms" in message
    manager.mine()  # the change is confirmed: spendable again
    again = manager.call(CallRequest(rid, "pay", (bob, 1), caller="alice"))
    assert manager.node.mempool.get(again.tx_id) is not None
    assert manager.balance("alice") == 1_000_000 - 250


def test_a_caller_without_funds_gets_no_locked_note(manager):
    rid = manager.deploy(PAY, kind="test").resource_id
    with pytest.raises(errors.InsufficientFunds) as exc:
        manager.call(CallRequest(rid, "pay", (manager.address("alice"), 5), caller="bob"))
    assert "has 0 spendable, needs 5" in str(exc.value) and "locked" not in str(exc.value)
