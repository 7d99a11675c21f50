"""Check 2, signatures: inputs, the caller's signature and the executor's attestation, all over the id.

The transaction id covers every field except these signatures (proofs
included, :mod:`ispc_core.node.txcodec`), so once they verify nobody can
rewrite the caller, nonce, function, arguments, journal or proof. When the
chain lists ``trusted_executors``, an execution whose proof is binding-only
(or absent) must be attested by one of them (checked by
:mod:`ispc_core.verification.proofs`, which knows the circuit).
"""

from __future__ import annotations

from ispc_core import errors
from ispc_core.node.keys import verify_signature
from ispc_core.node.rules import check_attestations
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.verification.report import CheckFailed

NAME = "signatures"


def check_signatures(tx: pb.Transaction, tx_id: bytes) -> str:
    """Raise :class:`CheckFailed` if a signature is missing or wrong; return a summary."""
    for i, tx_input in enumerate(tx.inputs):
        proof = tx_input.unlocking_proof
        if proof.public_key or proof.signature:
            if not verify_signature(proof.public_key, tx_id, proof.signature):
                raise CheckFailed(NAME, f"input {i}: the signature does not verify over the transaction id")
    signed = sum(1 for t in tx.inputs if t.unlocking_proof.signature)
    deploy = any(o.WhichOneof("content") == "resource" for o in tx.outputs)
    if tx.HasField("execution") or deploy:
        try:
            check_attestations(tx, tx_id)
        except errors.TransactionRejected as exc:
            raise CheckFailed(NAME, str(exc).split("): ", 1)[-1]) from None
        who = "caller signature and executor attestation" if tx.HasField("execution") else "deployer signature"
        return f"{signed} signed input(s) and the {who} verify over the transaction id"
    return f"{signed} signed input(s) verify over the transaction id"
