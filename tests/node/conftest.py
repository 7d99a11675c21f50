"""Fixtures for the node tests: fixed keys, a fresh node, and transaction builders."""

from __future__ import annotations

import hashlib

import pytest

from ispc_core.node import txcodec
from ispc_core.node.keys import NodeKey
from ispc_core.node.ledger import Ledger
from ispc_core.node.node import Node
from ispc_core.proto import transaction_pb2 as pb

CHAIN = b"ispc-test"
GENESIS_TIME = 1_700_000_000
INTERVAL = 10


def fixed_key(name: str) -> NodeKey:
    """A deterministic key derived from its name (tests only)."""
    return NodeKey(name, hashlib.sha256(b"test-key:" + name.encode()).digest())


class Kit:
    """Keys and transaction builders shared by the tests."""

    chain = CHAIN

    def __init__(self):
        self.alice = fixed_key("alice")
        self.bob = fixed_key("bob")
        self.carol = fixed_key("carol")
        self.genesis = {self.alice.address: 1000, self.bob.address: 500}

    def ledger(self, path) -> Ledger:
        ledger = Ledger(path, CHAIN, GENESIS_TIME, INTERVAL)
        ledger.init_genesis(self.genesis)
        return ledger

    def transfer(self, ledger, sender: NodeKey, to: bytes, amount: int, *, utxo=None, fee: int = 0,
                 nonce: int = 0, sign: bool = True, extra_outputs=()) -> pb.Transaction:
        """Spend the sender's first (or the given) utxo: ``amount`` to ``to``, change back."""
        utxo = utxo or ledger.utxos_of(sender.address)[0]
        tx = pb.Transaction(version=1, chain_id=CHAIN, nonce=nonce, fee=fee, caller=sender.address)
        tx.inputs.add(outpoint=utxo.outpoint)
        tx.outputs.append(txcodec.native_output(to, amount))
        change = utxo.amount - amount - fee
        if change > 0:
            tx.outputs.append(txcodec.native_output(sender.address, change))
        for out in extra_outputs:
            tx.outputs.append(out)
        if sign:
            txcodec.sign_inputs(tx, lambda i, inp: sender)
        return tx

    def state_tx(self, ledger, contract: bytes, key: bytes, value: bytes, *, version=None, parent=None,
                 proof: bytes = b"proof", nonce: int = 0, overlay_head=None) -> pb.Transaction:
        """A transaction (no inputs) by an execution of ``contract`` writing state ``key`` = ``value``."""
        sid = txcodec.state_id_for(contract, key)
        head = overlay_head if overlay_head is not None else ledger.state_head(sid)
        if version is None:
            version = 1 if head is None else head.version + 1
        if parent is None:
            parent = b"" if head is None else head.state_hash
        tx = pb.Transaction(version=1, chain_id=CHAIN, nonce=nonce)
        tx.execution.resource_id = contract
        tx.execution.function = "set"
        state = pb.StateOutput(state_id=sid, state_version=version, state_value=value, parent_state_hash=parent)
        if proof:
            state.zk_proof.proof = proof
            state.zk_proof.proving_scheme = "groth16"
        tx.outputs.append(pb.TxOutput(owner=contract, locking=pb.LockingCondition(contract=contract), state=state))
        return tx


@pytest.fixture
def kit() -> Kit:
    return Kit()


@pytest.fixture
def ledger(tmp_path, kit):
    led = kit.ledger(tmp_path / "ledger.sqlite")
    yield led
    led.close()


@pytest.fixture
def node(tmp_path, kit):
    n = Node(tmp_path / "home", chain_id=CHAIN, genesis=kit.genesis, genesis_time=GENESIS_TIME,
             block_interval=INTERVAL, proofs_required=True)
    yield n
    n.close()
