"""The forger's toolkit: transactions built by hand through the public API.

Everything here is what an attacker holding a node (its keys, its proving
keys, its plugins) can do without touching the victim: write a call record
and a journal in :mod:`ispc_core.proto.transaction_pb2`, recompute every
commitment with :mod:`ispc_core.journal` / :mod:`ispc_core.commitment`, prove
with the *real* circuit and prover of its own :class:`~ispc_core.coordinator.Manager`
(``manager.plugins.get("ispc_circuits", ...)``, ``manager.core.prover(...)``),
and sign with :mod:`ispc_core.node.txcodec`. The victim sees only the bytes.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import attrs

from ispc_core.commitment import trace_commitment, transaction_effects
from ispc_core.coordinator import to_zk_state_proof
from ispc_core.journal import encode_arg, rehash_execution, request_hash_of, trace_encoding
from ispc_core.node import txcodec
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.seal import contract_address, receipt_state_id
from ispc_core.trace import encode_value

CURVE = "bn254"


def copy(tx: pb.Transaction) -> pb.Transaction:
    """A deep copy of a transaction."""
    out = pb.Transaction()
    out.CopyFrom(tx)
    return out


def entry(function: str, *args: Any, result: Any = None) -> pb.JournalEntry:
    """One journal entry in canonical bytes (the trace value encoding)."""
    return pb.JournalEntry(function=function, args=[encode_value(a) for a in args], result=encode_value(result))


def execution(
    *,
    chain_id: bytes,
    resource_id: bytes,
    function: str,
    caller: bytes,
    nonce: int,
    snapshot_height: int,
    snapshot_block_hash: bytes,
    args: Sequence[Any] = (),
    input_data: bytes = b"",
    journal: Iterable[pb.JournalEntry] = (),
    events: Iterable[tuple[str, bytes]] = (),
    return_data: bytes = b"",
    return_values: Sequence[Any] = (),
) -> pb.Transaction:
    """An execution transaction with a call record and a journal, no effects yet."""
    tx = pb.Transaction(version=1, chain_id=chain_id, nonce=nonce, caller=caller)
    ex = tx.execution
    ex.resource_id = resource_id
    ex.function = function
    ex.args.extend(encode_arg(a) for a in args)
    ex.input_data = input_data
    ex.snapshot_height = snapshot_height
    ex.snapshot_block_hash = snapshot_block_hash
    ex.journal.extend(journal)
    ex.events.extend(pb.Event(topic=t, data=d) for t, d in events)
    ex.return_data = return_data
    ex.return_values.extend(encode_arg(v) for v in return_values)
    return tx


def state_output(resource_id: bytes, key: bytes, value: bytes, *, version: int, parent: bytes = b"") -> pb.TxOutput:
    """A state output of ``resource_id``'s storage under ``key`` (locked to the contract, as sealing makes it)."""
    state = pb.StateOutput(
        state_id=txcodec.state_id_for(resource_id, key), state_version=version, parent_state_hash=parent, state_value=value
    )
    state.metadata["state_key"] = key.hex()
    return pb.TxOutput(owner=contract_address(resource_id), locking=pb.LockingCondition(contract=resource_id), state=state)


def receipt_output(tx: pb.Transaction) -> pb.TxOutput:
    """The receipt state output of an execution that writes no state (call record must be complete)."""
    rid = bytes(tx.execution.resource_id)
    state = pb.StateOutput(state_id=receipt_state_id(request_hash_of(tx)), state_version=1)
    state.metadata["receipt"] = "1"
    return pb.TxOutput(owner=contract_address(rid), locking=pb.LockingCondition(contract=rid), state=state)


def contract_locked(resource_id: bytes, amount: int, owner: bytes | None = None) -> pb.TxOutput:
    """A native output locked to a contract."""
    return pb.TxOutput(
        owner=owner if owner is not None else contract_address(resource_id),
        locking=pb.LockingCondition(contract=resource_id),
        asset=pb.AssetOutput(native_amount=amount),
    )


def commit(tx: pb.Transaction, curve: str = CURVE) -> pb.Transaction:
    """Recompute request hash, trace commitment and execution result hash; name it on every state output."""
    rehash_execution(tx, curve)
    for out in tx.outputs:
        if out.HasField("state"):
            out.state.ClearField("zk_proof")
    return tx


@attrs.frozen
class _Sealed:
    """What ``CircuitSpec.instance`` reads of a sealed execution, rebuilt from a forged transaction."""

    resource_id: bytes
    request_hash: bytes
    trace_commitment: bytes
    effects_digest: bytes
    execution_result_hash: bytes
    trace_encoding: bytes
    curve: str


def sealed_of(tx: pb.Transaction, curve: str = CURVE) -> _Sealed:
    """The sealed-execution view of a (committed) transaction."""
    ex = tx.execution
    return _Sealed(
        resource_id=bytes(ex.resource_id),
        request_hash=bytes(ex.request_hash),
        trace_commitment=bytes(ex.trace_commitment),
        effects_digest=transaction_effects(tx),
        execution_result_hash=bytes(ex.execution_result_hash),
        trace_encoding=trace_encoding(ex.journal),
        curve=curve,
    )


def prove(manager, tx: pb.Transaction, *, scheme: str = "groth16", curve: str = CURVE, circuit: str = "contract_execution"):
    """Prove a committed transaction with ``manager``'s real circuit and prover; attach the proof to every state output."""
    spec = manager.plugins.get("ispc_circuits", circuit)
    instance = spec.instance(sealed_of(tx, curve), curve)
    artifact = manager.core.prover(scheme).prove(instance, curve)
    attach(tx, to_zk_state_proof(artifact))
    return artifact


def attach(tx: pb.Transaction, zk: pb.ZKStateProof) -> None:
    """Put one proof on every state output."""
    for out in tx.outputs:
        if out.HasField("state"):
            out.state.zk_proof.CopyFrom(zk)


def the_proof(tx: pb.Transaction) -> pb.ZKStateProof:
    """The proof on the first state output."""
    return next(o.state.zk_proof for o in tx.outputs if o.HasField("state"))


def sign(tx: pb.Transaction, *, caller_key, executor_key, input_key=None) -> pb.Transaction:
    """Sign every input with ``input_key`` (if given), the id as the caller, and attest it as the executor."""
    for tx_input in tx.inputs:
        tx_input.ClearField("unlocking_proof")
    if input_key is not None:
        txcodec.sign_inputs(tx, lambda i, tx_input: input_key)
    if caller_key is not None:
        txcodec.sign_caller(tx, caller_key)
    if executor_key is not None:
        txcodec.attest(tx, executor_key)
    return tx


def forge(manager, tx: pb.Transaction, *, caller_key, executor_key, input_key=None, proof: bool = True,
          scheme: str = "groth16", curve: str = CURVE) -> pb.Transaction:
    """Commit, prove with the real key (unless ``proof=False``) and sign: what a proving-key holder can make."""
    commit(tx, curve)
    if proof:
        prove(manager, tx, scheme=scheme, curve=curve)
    return sign(tx, caller_key=caller_key, executor_key=executor_key, input_key=input_key)


def plain(chain_id: bytes, *, inputs: Iterable[pb.OutPoint] = (), outputs: Iterable[pb.TxOutput] = (), nonce: int = 0,
          caller: bytes = b"") -> pb.Transaction:
    """A transaction with no execution record."""
    tx = pb.Transaction(version=1, chain_id=chain_id, nonce=nonce, caller=caller)
    tx.inputs.extend(pb.TxInput(outpoint=o) for o in inputs)
    tx.outputs.extend(outputs)
    return tx
