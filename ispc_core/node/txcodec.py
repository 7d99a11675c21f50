"""Transaction encoding, ids and signing.

* The *unsigned form* of a transaction is its deterministic protobuf
  serialization with every input's ``unlocking_proof``, the caller's
  signature and the executor's attestation cleared.
* The transaction id is sha256 of the unsigned form, so signing does not
  change the id and every input signs the same digest.
* Each owner-locked input is unlocked by an ``UnlockingProof`` carrying the
  owner's compressed public key and a compact signature over the id.
* ``caller_signature`` is the caller's signature over the id and ``executor``
  the executing node's: the id covers every other field, proofs included, so
  a transaction with no caller inputs cannot be rewritten either.
"""

from __future__ import annotations

import hashlib
from typing import Callable

from google.protobuf.message import DecodeError

from ispc_core import errors
from ispc_core.node.keys import NodeKey
from ispc_core.proto import transaction_pb2 as pb

Transaction = pb.Transaction
TxInput = pb.TxInput
TxOutput = pb.TxOutput
OutPoint = pb.OutPoint
StateOutput = pb.StateOutput

_STATE_DOMAIN = b"ispc.state\x00"


def unsigned_bytes(tx: pb.Transaction) -> bytes:
    """Deterministic serialization of ``tx`` with every unlocking proof cleared."""
    copy = pb.Transaction()
    copy.CopyFrom(tx)
    for tx_input in copy.inputs:
        tx_input.ClearField("unlocking_proof")
    copy.ClearField("caller_signature")
    copy.ClearField("executor")
    return copy.SerializeToString(deterministic=True)


def tx_id(tx: pb.Transaction) -> bytes:
    """The 32-byte transaction id: sha256 of :func:`unsigned_bytes`."""
    return hashlib.sha256(unsigned_bytes(tx)).digest()


def encode(tx: pb.Transaction) -> bytes:
    """Deterministic wire bytes of a (signed) transaction."""
    return tx.SerializeToString(deterministic=True)


def decode(data: bytes) -> pb.Transaction:
    """Parse wire bytes into a ``Transaction``; raise ``RequestError`` if malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise errors.RequestError(f"transaction bytes expected, got {type(data).__name__}")
    tx = pb.Transaction()
    try:
        tx.ParseFromString(bytes(data))
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise errors.RequestError(f"malformed transaction bytes: {exc}") from exc
    return tx


def sign_inputs(tx: pb.Transaction, key_for_input: Callable[[int, pb.TxInput], NodeKey | None]) -> None:
    """Fill the unlocking proof of each input for which ``key_for_input(index, input)`` returns a key.

    Inputs for which it returns ``None`` (contract-locked or reference-only
    inputs) are left unsigned. The transaction is modified in place.
    """
    digest = tx_id(tx)
    for index, tx_input in enumerate(tx.inputs):
        key = key_for_input(index, tx_input)
        if key is None:
            continue
        tx_input.unlocking_proof.public_key = key.public_key
        tx_input.unlocking_proof.signature = key.sign(digest)


def sign_caller(tx: pb.Transaction, caller_key: NodeKey) -> None:
    """Sign the transaction id with the caller's key (``tx.caller_signature``), in place."""
    digest = tx_id(tx)
    tx.caller_signature.public_key = caller_key.public_key
    tx.caller_signature.signature = caller_key.sign(digest)


def attest(tx: pb.Transaction, node_key: NodeKey) -> None:
    """Sign the transaction id with the executing node's key (``tx.executor``), in place."""
    digest = tx_id(tx)
    tx.executor.public_key = node_key.public_key
    tx.executor.signature = node_key.sign(digest)


def sign_execution(tx: pb.Transaction, caller_key: NodeKey, executor_key: NodeKey) -> pb.Transaction:
    """Sign an execution the way the coordinator finishes it, in place: every input and the id by the
    caller (``sign_inputs``, ``sign_caller``), the id by the executing node (``attest``)."""
    sign_inputs(tx, lambda i, tx_input: caller_key)
    sign_caller(tx, caller_key)
    attest(tx, executor_key)
    return tx


def state_hash(state_output: pb.StateOutput) -> bytes:
    """sha256 of the deterministic serialization of a ``StateOutput``.

    The next version of the state names this as its ``parent_state_hash``.
    """
    return hashlib.sha256(state_output.SerializeToString(deterministic=True)).digest()


def state_id_for(contract_id: bytes, key: bytes) -> bytes:
    """The state id of ``key`` in the storage of contract ``contract_id``."""
    return hashlib.sha256(_STATE_DOMAIN + bytes(contract_id) + bytes(key)).digest()


def outpoint_key(outpoint: pb.OutPoint) -> str:
    """Text key of an outpoint: ``"<txid hex>:<index>"``."""
    return f"{outpoint.tx_id.hex()}:{outpoint.index}"


def native_output(address: bytes, amount: int) -> pb.TxOutput:
    """A native-asset output of ``amount`` owned by (and locked to) ``address``."""
    return pb.TxOutput(
        owner=address,
        locking=pb.LockingCondition(owner_address=address),
        asset=pb.AssetOutput(native_amount=amount),
    )
