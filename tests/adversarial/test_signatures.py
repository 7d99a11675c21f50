"""Every field of an execution is covered by the caller's signature and the executor's attestation
(issue 10, attack 7: a counter.increment has no signed inputs)."""

from __future__ import annotations

import pytest

from adversarial import forger


@pytest.fixture
def increment(net):
    """An honest counter.increment(1) made on A (pending there, not yet on B); it spends no inputs."""
    tx = net.call("counter", "increment", 1).transaction
    assert not tx.inputs
    return tx


REWRITES = {
    "caller": lambda net, tx: setattr(tx, "caller", net.mallory.address),
    "nonce": lambda net, tx: setattr(tx, "nonce", tx.nonce + 1),
    "function": lambda net, tx: setattr(tx.execution, "function", "get"),
    "args": lambda net, tx: tx.execution.args.__setitem__(0, b"\x01" + (10**9).to_bytes(8, "little")),
    "snapshot_height": lambda net, tx: setattr(tx.execution, "snapshot_height", 1),
    "constraint_count": lambda net, tx: forger.attach(tx, _zk_with(tx, constraint_count=1)),
    "generation_time_ms": lambda net, tx: forger.attach(tx, _zk_with(tx, generation_time_ms=12345)),
    "circuit_version": lambda net, tx: forger.attach(tx, _zk_with(tx, circuit_version="v0")),
    "state_value": lambda net, tx: setattr(tx.outputs[0].state, "state_value", (10**9).to_bytes(8, "little")),
    "fee": lambda net, tx: setattr(tx, "fee", 1),
}


def _zk_with(tx, **fields):
    zk = forger.the_proof(tx).__class__()
    zk.CopyFrom(forger.the_proof(tx))
    for k, v in fields.items():
        setattr(zk, k, v)
    return zk


@pytest.mark.parametrize("field", sorted(REWRITES))
def test_rewriting_a_field_of_an_unsigned_input_execution(net, increment, field):
    tx = forger.copy(increment)
    REWRITES[field](net, tx)
    net.reject(tx, "signatures", "not the caller's" if field == "caller" else "does not verify over the transaction id")


def test_the_caller_signature_replaced_by_the_attackers(net, increment):
    tx = forger.copy(increment)
    tx.caller = net.mallory.address
    forger.sign(tx, caller_key=net.alice, executor_key=net.executor)
    net.reject(tx, "signatures", "not the caller's")


def test_no_executor_attestation(net, increment):
    tx = forger.copy(increment)
    tx.ClearField("executor")
    net.reject(tx, "signatures", "no executor attestation")


def test_no_caller_signature(net, increment):
    tx = forger.copy(increment)
    tx.ClearField("caller_signature")
    net.reject(tx, "signatures", "no caller signature")


def test_a_tampered_input_signature(net):
    tx = forger.copy(net.call("token", "transfer", 5, input_data=net.bob).transaction)
    sig = tx.inputs[0].unlocking_proof.signature
    tx.inputs[0].unlocking_proof.signature = sig[:5] + bytes([sig[5] ^ 1]) + sig[6:]
    net.reject(tx, "signatures", "input 0")


def test_rewritten_then_recommitted_and_reproven_but_still_signed_by_the_caller(net, increment):
    """The attacker holds the proving key and re-proves its rewrite; it still cannot sign as alice."""
    tx = forger.copy(increment)
    tx.execution.args[0] = b"\x01" + (10**9).to_bytes(8, "little")
    net.forge(tx, caller=None)  # committed and proven, attested by A, caller signature kept
    tx.caller_signature.CopyFrom(increment.caller_signature)
    net.reject(tx, "signatures", "caller signature does not verify")
