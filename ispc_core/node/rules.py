"""The ledger's rules: what makes a transaction valid against the chain, apart from how it is stored.

:func:`check_transaction` states every rule in order; each refusal is a
:class:`~ispc_core.errors.TransactionRejected` whose ``reason`` is one of the
``REASON_*`` constants (docs/node.md). The rules read the chain only through
a :class:`ChainReader`, which :mod:`ispc_core.node.ledger` implements over
its SQLite connection (so a block's trial application sees the earlier
transactions of the same block).

**Contract authority** — writing or advancing a contract's state, spending an
output locked to a contract, minting a contract's tokens — is granted only to
a transaction that (a) carries an execution record naming a *deployed*
resource and (b) was verified (``authorized=True``): its proof under the
chain's pinned circuit and its journal were checked by
:mod:`ispc_core.verification` before it reached these rules. A transaction
with no verified execution gets no authority whatever outputs it carries.
Every other output must be paid for by owner-signed inputs.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Mapping, Protocol

from ispc_core import errors
from ispc_core.node import txcodec
from ispc_core.node.keys import address_of, verify_signature
from ispc_core.proto import transaction_pb2 as pb

REASON_MISSING_SIGNATURE = "missing signature"
REASON_BAD_SIGNATURE = "bad signature"
REASON_LOCKED = "locked output"
REASON_UNKNOWN_OUTPOINT = "unknown or spent outpoint"
REASON_DOUBLE_SPEND = "double spend"
REASON_OUTPUTS_EXCEED_INPUTS = "outputs exceed inputs"
REASON_STATE_CONFLICT = "state version conflict"
REASON_PROOF_MISSING = "proof missing"
REASON_WRONG_CHAIN = "wrong chain"
REASON_DUPLICATE = "duplicate transaction"
REASON_MALFORMED = "malformed transaction"
REASON_NO_AUTHORITY = "no contract authority"
REASON_UNKNOWN_RESOURCE = "unknown resource"
REASON_BAD_DEPLOY = "bad deploy"

#: amounts are stored as SQLite integers (signed 64-bit)
MAX_AMOUNT = (1 << 63) - 1


class ChainReader(Protocol):
    """What the rules read of the chain."""

    def unspent_output(self, outpoint_key: str) -> pb.TxOutput | None:
        """The unspent output at ``"txid:index"``, or None."""

    def has_tx(self, tx_id: bytes) -> bool:
        """Whether the transaction is confirmed."""

    def state_head(self, state_id: bytes):
        """The newest confirmed :class:`~ispc_core.node.ledger.StateHead`, or None."""

    def resource_kind(self, resource_id: bytes) -> str | None:
        """The kind of a deployed resource, or None if it was never deployed."""


def rejection(reason: str, detail: str) -> errors.TransactionRejected:
    """A ``TransactionRejected`` with ``reason`` and a message giving the detail (to be raised)."""
    return errors.TransactionRejected(f"transaction rejected ({reason}): {detail}", reason=reason)


def output_kind(output: pb.TxOutput) -> str:
    """``native`` | ``token`` | ``state`` | ``resource`` | ``""`` (no content)."""
    content = output.WhichOneof("content")
    if content == "asset":
        return "native" if output.asset.WhichOneof("asset") == "native_amount" else "token"
    return content or ""


def check_transaction(
    tx: pb.Transaction,
    reader: ChainReader,
    *,
    chain_id: bytes,
    spent_elsewhere: set[str] | frozenset[str] = frozenset(),
    state_overlay: Mapping[bytes, object] | None = None,
    pending_resources: Mapping[bytes, str] | None = None,
    authorized: bool = False,
) -> None:
    """Check ``tx`` against the chain; raise ``TransactionRejected(reason=...)`` at the first broken rule.

    ``spent_elsewhere``: outpoints pending transactions spend; ``state_overlay``:
    state heads pending transactions wrote; ``pending_resources``: resources
    pending deploy transactions create; ``authorized``: the transaction's
    execution (proof and journal) was verified.
    """
    overlay = state_overlay or {}
    pending_resources = pending_resources or {}
    if tx.chain_id != chain_id:
        raise rejection(REASON_WRONG_CHAIN, f"chain id {tx.chain_id.hex() or '(empty)'} is not {chain_id.hex()}")
    if tx.HasField("chain_params"):
        raise rejection(REASON_MALFORMED, "only the genesis transaction carries chain parameters")
    txid = txcodec.tx_id(tx)
    if reader.has_tx(txid):
        raise rejection(REASON_DUPLICATE, f"transaction {txid.hex()} is already in the ledger")
    native_out, token_out, states, resources = _check_outputs(tx)
    if tx.HasField("execution") or resources:
        check_attestations(tx, txid)
    executing = None
    if tx.HasField("execution"):
        rid = bytes(tx.execution.resource_id)
        kind = reader.resource_kind(rid) or pending_resources.get(rid)
        if kind is None:
            raise rejection(REASON_UNKNOWN_RESOURCE, f"resource {rid.hex() or '(empty)'} was never deployed on this chain")
        executing = rid if authorized else None
    native_in, token_in = _check_inputs(tx, txid, reader, spent_elsewhere, executing)
    if native_out + tx.fee > native_in:
        raise rejection(
            REASON_OUTPUTS_EXCEED_INPUTS, f"native outputs {native_out} + fee {tx.fee} exceed native inputs {native_in}"
        )
    for token_id, amount in token_out.items():
        if amount > token_in.get(token_id, 0) and token_id != executing:
            raise rejection(
                REASON_OUTPUTS_EXCEED_INPUTS,
                f"token {token_id.hex()} outputs {amount} exceed inputs {token_in.get(token_id, 0)}"
                + ("" if executing else " (only a verified execution of the token's contract may mint it)"),
            )
    _check_states(tx, states, reader, overlay, executing)
    _check_resources(tx, resources, reader, pending_resources)


def check_attestations(tx: pb.Transaction, txid: bytes) -> None:
    """The caller's signature (and, for an execution, the executor's) over the id; ``TransactionRejected`` if not.

    The id covers every field but these signatures, so with them nothing in
    an execution or deploy transaction can be rewritten, inputs or not.
    """
    sig = tx.caller_signature
    if not sig.signature:
        raise rejection(REASON_MISSING_SIGNATURE, "the transaction carries no caller signature")
    if address_of(sig.public_key) != tx.caller:
        raise rejection(REASON_BAD_SIGNATURE, "the caller signature is by a key that is not the caller's")
    if not verify_signature(sig.public_key, txid, sig.signature):
        raise rejection(REASON_BAD_SIGNATURE, "the caller signature does not verify over the transaction id")
    if tx.HasField("execution"):
        ex = tx.executor
        if not ex.signature:
            raise rejection(REASON_MISSING_SIGNATURE, "the execution carries no executor attestation")
        if not verify_signature(ex.public_key, txid, ex.signature):
            raise rejection(REASON_BAD_SIGNATURE, "the executor attestation does not verify over the transaction id")


def _check_inputs(tx, txid, reader, spent_elsewhere, executing) -> tuple[int, dict[bytes, int]]:
    seen: set[str] = set()
    native_in = 0
    token_in: dict[bytes, int] = defaultdict(int)
    for i, tx_input in enumerate(tx.inputs):
        key = txcodec.outpoint_key(tx_input.outpoint)
        if not tx_input.reference_only:
            if key in seen:
                raise rejection(REASON_DOUBLE_SPEND, f"input {i} spends {key} twice in one transaction")
            if key in spent_elsewhere:
                raise rejection(REASON_DOUBLE_SPEND, f"input {i}: {key} is already spent by a pending transaction")
            seen.add(key)
        output = reader.unspent_output(key)
        if output is None:
            raise rejection(REASON_UNKNOWN_OUTPOINT, f"input {i}: {key} is unknown or already spent")
        if tx_input.reference_only:
            continue  # read, not consumed: no unlocking needed
        _check_unlock(txid, i, tx_input, output, executing)
        kind = output_kind(output)
        if kind == "native":
            native_in += output.asset.native_amount
        elif kind == "token":
            token_in[output.asset.token.token_id] += output.asset.token.amount
    return native_in, token_in


def _check_unlock(txid, i, tx_input, output, executing) -> None:
    condition = output.locking.WhichOneof("condition")
    if condition == "owner_address":
        proof = tx_input.unlocking_proof
        if not proof.public_key and not proof.signature:
            raise rejection(REASON_MISSING_SIGNATURE, f"input {i} is owned by {output.locking.owner_address.hex()} and is not signed")
        if address_of(proof.public_key) != output.locking.owner_address:
            raise rejection(REASON_BAD_SIGNATURE, f"input {i} is signed by a key that does not own it")
        if not verify_signature(proof.public_key, txid, proof.signature):
            raise rejection(REASON_BAD_SIGNATURE, f"input {i}: the signature does not verify")
    elif condition == "contract":
        if executing is None or executing != output.locking.contract:
            raise rejection(
                REASON_LOCKED,
                f"input {i} is locked to contract {output.locking.contract.hex()}; only a verified execution of it may spend it",
            )
    else:
        raise rejection(REASON_LOCKED, f"input {i} has no locking condition and can only be referenced")


def _check_outputs(tx) -> tuple[int, dict[bytes, int], list[pb.TxOutput], list[pb.ResourceOutput]]:
    native_out = 0
    token_out: dict[bytes, int] = defaultdict(int)
    states: list[pb.TxOutput] = []
    resources: list[pb.ResourceOutput] = []
    for j, output in enumerate(tx.outputs):
        kind = output_kind(output)
        condition = output.locking.WhichOneof("condition")
        if condition == "owner_address" and len(output.locking.owner_address) != 20:
            raise rejection(REASON_MALFORMED, f"output {j}: owner address must be 20 bytes")
        if condition == "contract" and len(output.locking.contract) != 32:
            raise rejection(REASON_MALFORMED, f"output {j}: contract id must be 32 bytes")
        if kind in ("native", "token") and condition is None:
            raise rejection(REASON_MALFORMED, f"output {j}: an asset output needs a locking condition")
        if kind == "native":
            amount = output.asset.native_amount
            if amount > MAX_AMOUNT:
                raise rejection(REASON_MALFORMED, f"output {j}: amount {amount} is above {MAX_AMOUNT}")
            native_out += amount
            if native_out > MAX_AMOUNT:
                raise rejection(REASON_MALFORMED, f"the native outputs add up to more than {MAX_AMOUNT}")
        elif kind == "token":
            token = output.asset.token
            if not token.token_id or token.amount > MAX_AMOUNT:
                raise rejection(REASON_MALFORMED, f"output {j}: a token output needs a token id and an amount <= {MAX_AMOUNT}")
            token_out[token.token_id] += token.amount
        elif kind == "state":
            if not output.state.state_id:
                raise rejection(REASON_MALFORMED, f"output {j}: a state output needs a state id")
            states.append(output)
        elif kind == "resource":
            resources.append(output.resource)
        elif kind == "":
            raise rejection(REASON_MALFORMED, f"output {j} has no content")
    return native_out, token_out, states, resources


def _check_states(tx, states, reader, overlay, executing) -> None:
    written: set[bytes] = set()
    for output in states:
        state = output.state
        sid = state.state_id
        if executing is None:
            raise rejection(
                REASON_NO_AUTHORITY,
                f"state {sid.hex()} is written without a verified execution of its contract "
                "(a transaction with no verified proof gets no contract authority)",
            )
        if output.locking.WhichOneof("condition") != "contract" or output.locking.contract != executing:
            raise rejection(REASON_NO_AUTHORITY, f"state {sid.hex()} is not locked to the executing contract {executing.hex()}")
        if sid in written:
            raise rejection(REASON_STATE_CONFLICT, f"state {sid.hex()} is written twice in one transaction")
        written.add(sid)
        head = overlay.get(sid)
        if head is None:
            head = reader.state_head(sid)
        want_version, want_parent = (1, b"") if head is None else (head.version + 1, head.state_hash)
        if state.state_version != want_version or state.parent_state_hash != want_parent:
            raise rejection(
                REASON_STATE_CONFLICT,
                f"state {sid.hex()}: version {state.state_version} with parent {state.parent_state_hash.hex() or '(empty)'}"
                f" does not follow the head (expected version {want_version}, parent {want_parent.hex() or '(empty)'})",
            )


def _check_resources(tx, resources, reader, pending_resources) -> None:
    if not resources:
        return
    if tx.HasField("execution"):
        raise rejection(REASON_BAD_DEPLOY, "a deploy transaction carries no execution")
    seen: set[bytes] = set()
    for res in resources:
        rid = bytes(res.resource_id)
        if hashlib.sha256(res.code).digest() != rid:
            raise rejection(REASON_BAD_DEPLOY, f"resource {rid.hex()[:16]}…: sha256 of its code is not its id")
        if res.size != len(res.code) or not res.kind:
            raise rejection(REASON_BAD_DEPLOY, f"resource {rid.hex()[:16]}…: size or kind does not match its code")
        if rid in seen or reader.resource_kind(rid) is not None or rid in pending_resources:
            raise rejection(REASON_DUPLICATE, f"resource {rid.hex()[:16]}… is already deployed")
        seen.add(rid)
