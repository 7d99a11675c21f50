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

#: the bytes of the contract the state tests execute; its id is their sha256, as for every resource
CONTRACT_CODE = b"ispc test contract: writes one state\n"
CONTRACT = hashlib.sha256(CONTRACT_CODE).digest()
#: a second contract (for "an execution of another contract")
OTHER_CODE = b"ispc test contract: another one\n"
OTHER = hashlib.sha256(OTHER_CODE).digest()


def fixed_key(name: str) -> NodeKey:
    """A deterministic key derived from its name (tests only)."""
    return NodeKey(name, hashlib.sha256(b"test-key:" + name.encode()).digest())


class Kit:
    """Keys and transaction builders shared by the tests."""

    chain = CHAIN
    contract_code, contract = CONTRACT_CODE, CONTRACT
    other_code, other = OTHER_CODE, OTHER

    def __init__(self):
        self.alice = fixed_key("alice")
        self.bob = fixed_key("bob")
        self.carol = fixed_key("carol")
        #: the key of the node that "executed" the hand-built executions (its attestation)
        self.executor = fixed_key("executor")
        self.genesis = {self.alice.address: 1000, self.bob.address: 500}

    def ledger(self, path, chain_params: pb.ChainParams | None = None) -> Ledger:
        ledger = Ledger(path, CHAIN, GENESIS_TIME, INTERVAL)
        ledger.init_genesis(self.genesis, chain_params)
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

    def deploy_tx(self, code: bytes = CONTRACT_CODE, *, kind: str = "test", deployer: NodeKey | None = None,
                  resource_id: bytes | None = None, sign: bool = True) -> pb.Transaction:
        """The deploy transaction of ``code`` (its id is sha256 of the code unless ``resource_id`` says otherwise)."""
        deployer = deployer or self.alice
        rid = hashlib.sha256(code).digest() if resource_id is None else resource_id
        tx = pb.Transaction(version=1, chain_id=CHAIN, caller=deployer.address)
        tx.outputs.append(pb.TxOutput(
            owner=deployer.address, resource=pb.ResourceOutput(resource_id=rid, kind=kind, size=len(code), code=code)))
        if sign:
            txcodec.sign_caller(tx, deployer)
        return tx

    def deploy(self, ledger, *codes: bytes):
        """Put ``codes`` (default: the test contract) on chain in one block; return the block."""
        return ledger.apply_block([self.deploy_tx(code) for code in (codes or (CONTRACT_CODE,))])

    def sign_execution(self, tx: pb.Transaction, caller: NodeKey | None = None, *, signed_inputs=()) -> pb.Transaction:
        """Sign an execution as its caller (the inputs at ``signed_inputs`` and ``caller_signature``)
        and attest it as the executor, in place."""
        caller = caller or self.alice
        tx.caller = caller.address
        txcodec.sign_inputs(tx, lambda i, inp: caller if i in signed_inputs else None)
        txcodec.sign_caller(tx, caller)
        txcodec.attest(tx, self.executor)
        return tx

    def execution_tx(self, contract: bytes, *, function: str = "run", nonce: int = 0) -> pb.Transaction:
        """An unsigned transaction carrying an execution record of ``contract`` (no outputs yet)."""
        tx = pb.Transaction(version=1, chain_id=CHAIN, nonce=nonce)
        tx.execution.resource_id = contract
        tx.execution.function = function
        return tx

    def state_tx(self, ledger, contract: bytes, key: bytes, value: bytes, *, version=None, parent=None,
                 nonce: int = 0, overlay_head=None, sign: bool = True) -> pb.Transaction:
        """A transaction (no inputs) by an execution of ``contract`` writing state ``key`` = ``value``,
        signed by its caller (alice) and attested by the executor: whether it gets the contract's
        authority is up to the verification (``authorized=``), not to what it carries."""
        sid = txcodec.state_id_for(contract, key)
        head = overlay_head if overlay_head is not None else ledger.state_head(sid)
        if version is None:
            version = 1 if head is None else head.version + 1
        if parent is None:
            parent = b"" if head is None else head.state_hash
        tx = self.execution_tx(contract, function="set", nonce=nonce)
        state = pb.StateOutput(state_id=sid, state_version=version, state_value=value, parent_state_hash=parent)
        tx.outputs.append(pb.TxOutput(owner=contract, locking=pb.LockingCondition(contract=contract), state=state))
        if sign:
            self.sign_execution(tx)
        else:
            tx.caller = self.alice.address
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
             block_interval=INTERVAL)
    yield n
    n.close()
