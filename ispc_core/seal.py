"""Sealing: turn a finished execution into a transaction and its execution result hash.

After the engine returns, the draft's intents become protobuf outputs (UTXOs
selected deterministically, change added, :func:`effect_outputs` — which the
verifier calls too), the call record and journal are written into the
transaction (:mod:`ispc_core.journal`), the trace is committed with Poseidon,
and the execution result hash binds resource, request (chain, function,
arguments, caller, input data, nonce, snapshot height), trace commitment and
the effects the transaction carries (return data, events, outputs, return
values). Usage (fuel, host calls, trace bytes) is reported in the call's
result, never written into the signed transaction. The hashes are defined in
:mod:`ispc_core.commitment` and docs/formats.md; the engine's canonical output
bytes (``EngineResult.output_data``) are kept with the sealed execution.
"""

from __future__ import annotations

import hashlib
from typing import Any

import attrs

from ispc_core.commitment import DEFAULT_CURVE, effects_digest, outputs_encoding, result_hash, trace_commitment
from ispc_core.errors import InsufficientFunds
from ispc_core.journal import call_fields, encode_arg, journal_entries, request_hash
from ispc_core.node import txcodec
from ispc_core.proto import transaction_pb2 as pb

RECEIPT_DOMAIN = b"ispc.receipt\x00"
TX_VERSION = 1


def contract_address(resource_id: bytes) -> bytes:
    """The 20-byte address of a deployed contract: the last 20 bytes of sha256("ispc.contract\\0" || id)."""
    return hashlib.sha256(b"ispc.contract\x00" + resource_id).digest()[-20:]


def call_request_hash(
    request, *, chain_id: bytes, caller: bytes, nonce: int, snapshot_height: int, snapshot_block_hash: bytes
) -> bytes:
    """The request hash (:func:`ispc_core.journal.request_hash`) of a call about to run."""
    fields = call_fields(request, snapshot_height, snapshot_block_hash)
    return request_hash(
        chain_id=chain_id,
        resource_id=fields["resource_id"],
        function=fields["function"],
        args=fields["args"],
        named_inputs=[(n.name, n.value) for n in fields["named_inputs"]],
        caller=caller,
        input_data=fields["input_data"],
        nonce=nonce,
        snapshot_height=snapshot_height,
        snapshot_block_hash=snapshot_block_hash,
    )


def receipt_state_id(req_hash: bytes) -> bytes:
    """The state id of an execution's receipt (its state output when it writes no state)."""
    return hashlib.sha256(RECEIPT_DOMAIN + req_hash).digest()


def effect_outputs(draft, *, resource_id: bytes, contract: bytes, inputs_total: int, fee: int, state_head, req_hash: bytes) -> list:
    """The outputs a draft's intents become, in order: credits, change, state outputs (or the receipt).

    ``inputs_total`` is the native amount of the inputs paying ``draft.debit``
    (change is ``inputs_total - debit - fee``); ``state_head(key)`` gives the
    head a state write follows. Sealing and verification both call this, so
    a verifier rebuilds exactly the outputs the journal explains.
    """
    outputs = []
    if draft.debit or inputs_total:
        for to, amount in draft.credits:
            outputs.append(txcodec.native_output(to, amount))
        change = inputs_total - draft.debit - fee
        if change > 0:
            outputs.append(txcodec.native_output(draft.payer, change))
    lock = pb.LockingCondition(contract=resource_id)
    states = []
    for write in sorted(draft.state_writes.values(), key=lambda w: w.key):
        head = state_head(write.key)
        state = pb.StateOutput(
            state_id=txcodec.state_id_for(resource_id, write.key),
            state_version=(head.version + 1) if head else 1,
            parent_state_hash=head.state_hash if head else b"",
            state_value=write.value,
        )
        state.metadata["state_key"] = write.key.hex()
        states.append(state)
    if not states:  # every execution carries at least one provable state output: its receipt
        state = pb.StateOutput(state_id=receipt_state_id(req_hash), state_version=1)
        state.metadata["receipt"] = "1"
        states.append(state)
    for state in states:
        outputs.append(pb.TxOutput(owner=contract, locking=lock, state=state))
    return outputs


@attrs.frozen
class SealedExecution:
    """Everything a circuit needs about one finished execution."""

    resource_id: bytes
    kind: str
    function: str
    request_hash: bytes
    caller: bytes
    nonce: int
    return_data: bytes
    output_data: bytes
    events: tuple[tuple[str, bytes], ...]
    trace_encoding: bytes
    trace_commitment: bytes
    effects_digest: bytes
    curve: str
    execution_result_hash: bytes
    values: tuple[Any, ...]
    usage: dict[str, int]
    metadata: dict[str, str]
    transaction: pb.Transaction  # unsigned, without proofs
    spent: tuple[str, ...]  # outpoint keys the transaction consumes


def _select_inputs(view, payer: bytes, amount: int) -> tuple[list, int]:
    chosen, total = [], 0
    for utxo in view.spendable_utxos(payer):
        if total >= amount:
            break
        chosen.append(utxo)
        total += utxo.amount
    if total < amount:
        note = getattr(view, "locked_note", None)
        raise InsufficientFunds(
            f"payer {payer.hex()} has {total} spendable, needs {amount}" + (note(payer) if callable(note) else "")
        )
    return chosen, total


def seal(
    ctx, engine_result, *, kind: str, chain_id: bytes, nonce: int, req_hash: bytes, curve: str = DEFAULT_CURVE
) -> SealedExecution:
    """Build the unsigned transaction of a finished execution: call, journal, effects and result hash."""
    draft = ctx.draft
    env = ctx.env
    view = ctx.ledger_view
    tx = pb.Transaction(version=TX_VERSION, chain_id=chain_id, nonce=nonce, caller=env.caller)
    spent: list[str] = []
    total = 0
    if draft.debit:
        chosen, total = _select_inputs(view, draft.payer, draft.debit)
        for utxo in chosen:
            tx.inputs.append(pb.TxInput(outpoint=utxo.outpoint))
            spent.append(utxo.key)
    tx.outputs.extend(
        effect_outputs(
            draft,
            resource_id=env.resource_id,
            contract=env.contract,
            inputs_total=total,
            fee=0,
            state_head=lambda key: view.state_head(env.resource_id, key),
            req_hash=req_hash,
        )
    )
    usage = {**engine_result.usage, **ctx.meter.usage()}
    usage["fuel_used"] = max(engine_result.usage.get("fuel_used", 0), ctx.meter.fuel_used) + ctx.meter.extra_fuel
    metadata = {
        "engine": kind,
        "function": ctx.request.function,
        "fuel_used": str(usage["fuel_used"]),
        "host_calls": str(ctx.meter.host_calls),
        "trace_bytes": str(ctx.trace.size),
        **{k: str(v) for k, v in engine_result.metadata.items()},
    }
    return_values = [encode_arg(v) for v in engine_result.values]
    trace_encoding = ctx.trace.encoding()
    commitment = trace_commitment(trace_encoding, curve)
    effects = effects_digest(draft.return_data, draft.events, outputs_encoding(tx.outputs), return_values)
    erh = result_hash(env.resource_id, req_hash, commitment, effects, curve)
    for out in tx.outputs:
        if out.HasField("state"):
            out.state.execution_result_hash = erh
    tx.execution.CopyFrom(
        pb.ExecutionProof(
            **call_fields(ctx.request, env.block_height, view.snapshot.tip_hash),
            request_hash=req_hash,
            execution_result_hash=erh,
            trace_commitment=commitment,
            return_data=draft.return_data,
            events=[pb.Event(topic=t, data=d) for t, d in draft.events],
            journal=journal_entries(ctx.trace.records),
            return_values=return_values,
        )
    )
    return SealedExecution(
        resource_id=env.resource_id,
        kind=kind,
        function=ctx.request.function,
        request_hash=req_hash,
        caller=env.caller,
        nonce=nonce,
        return_data=draft.return_data,
        output_data=engine_result.output_data,
        events=tuple(draft.events),
        trace_encoding=trace_encoding,
        effects_digest=effects,
        curve=curve,
        trace_commitment=commitment,
        execution_result_hash=erh,
        values=tuple(engine_result.values),
        usage=usage,
        metadata=metadata,
        transaction=tx,
        spent=tuple(spent),
    )
