"""Sealing: turn a finished execution into a transaction and its execution result hash.

After the engine returns, the draft's intents become protobuf outputs (UTXOs
selected deterministically, change added), the trace is committed with
Poseidon, and the execution result hash binds resource, request (function,
arguments, caller, input data, nonce), trace commitment and the effects the
transaction carries (return data, events, outputs). The hashes are defined in
:mod:`ispc_core.commitment` and docs/formats.md; the engine's canonical output
bytes (``EngineResult.output_data``) are kept with the sealed execution.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import attrs

from ispc_core.commitment import DEFAULT_CURVE, effects_digest, outputs_encoding, result_hash, trace_commitment
from ispc_core.errors import InsufficientFunds, RequestError
from ispc_core.node import txcodec
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.trace import encode_value

REQUEST_DOMAIN = b"ispc.request.v1"
RECEIPT_DOMAIN = b"ispc.receipt\x00"
TX_VERSION = 1


def _lp(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data


def contract_address(resource_id: bytes) -> bytes:
    """The 20-byte address of a deployed contract: the last 20 bytes of sha256("ispc.contract\\0" || id)."""
    return hashlib.sha256(b"ispc.contract\x00" + resource_id).digest()[-20:]


def _encode_arg(value: Any) -> bytes:
    try:
        return encode_value(value)
    except RequestError:
        pass
    try:
        import numpy as np

        arr = np.ascontiguousarray(np.asarray(value))
        if arr.dtype == object:
            raise TypeError
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        header = f"{arr.dtype.str}|{','.join(map(str, arr.shape))}".encode()
        return b"\x10" + _lp(header) + _lp(arr.tobytes())
    except Exception:
        raise RequestError(f"argument of type {type(value).__name__} has no canonical encoding") from None


def request_hash(request, caller: bytes, nonce: int) -> bytes:
    """sha256 binding resource, function, arguments (positional and named), caller, input data, nonce."""
    h = hashlib.sha256(REQUEST_DOMAIN)
    h.update(_lp(request.resource_id))
    h.update(_lp(request.function.encode()))
    h.update(struct.pack("<I", len(request.args)))
    for a in request.args:
        h.update(_lp(_encode_arg(a)))
    named = request.named_inputs or {}
    h.update(struct.pack("<I", len(named)))
    for name in sorted(named):
        h.update(_lp(name.encode()))
        h.update(_lp(_encode_arg(named[name])))
    h.update(_lp(caller))
    h.update(_lp(request.input_data))
    h.update(struct.pack("<Q", nonce))
    return h.digest()


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
        raise InsufficientFunds(f"payer {payer.hex()} has {total} spendable, needs {amount}")
    return chosen, total


def seal(
    ctx, engine_result, *, kind: str, chain_id: bytes, nonce: int, req_hash: bytes, curve: str = DEFAULT_CURVE
) -> SealedExecution:
    """Build the unsigned transaction of a finished execution and its result hash."""
    draft = ctx.draft
    env = ctx.env
    view = ctx.ledger_view
    tx = pb.Transaction(version=TX_VERSION, chain_id=chain_id, nonce=nonce, caller=env.caller)
    spent: list[str] = []
    if draft.debit:
        chosen, total = _select_inputs(view, draft.payer, draft.debit)
        for utxo in chosen:
            tx.inputs.append(pb.TxInput(outpoint=utxo.outpoint))
            spent.append(utxo.key)
        for to, amount in draft.credits:
            tx.outputs.append(txcodec.native_output(to, amount))
        if total > draft.debit:
            tx.outputs.append(txcodec.native_output(draft.payer, total - draft.debit))
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
    lock = pb.LockingCondition(contract=env.resource_id)
    writes = sorted(draft.state_writes.values(), key=lambda w: w.key)
    state_outputs = []
    for write in writes:
        head = view.state_head(env.resource_id, write.key)
        state = pb.StateOutput(
            state_id=txcodec.state_id_for(env.resource_id, write.key),
            state_version=(head.version + 1) if head else 1,
            parent_state_hash=head.state_hash if head else b"",
            state_value=write.value,
        )
        state.metadata.update({**metadata, "state_key": write.key.hex()})
        state_outputs.append(state)
    if not state_outputs:  # every execution carries at least one provable state output: its receipt
        state = pb.StateOutput(state_id=hashlib.sha256(RECEIPT_DOMAIN + req_hash).digest(), state_version=1)
        state.metadata.update({**metadata, "receipt": "1"})
        state_outputs.append(state)
    for state in state_outputs:
        tx.outputs.append(pb.TxOutput(owner=env.contract, locking=lock, state=state))
    trace_encoding = ctx.trace.encoding()
    commitment = trace_commitment(trace_encoding, curve)
    effects = effects_digest(draft.return_data, draft.events, outputs_encoding(tx.outputs))
    erh = result_hash(env.resource_id, req_hash, commitment, effects, curve)
    for out in tx.outputs:
        if out.HasField("state"):
            out.state.execution_result_hash = erh
    tx.execution.CopyFrom(
        pb.ExecutionProof(
            resource_id=env.resource_id,
            function=ctx.request.function,
            request_hash=req_hash,
            execution_result_hash=erh,
            trace_commitment=commitment,
            fuel_used=usage["fuel_used"],
            host_calls=ctx.meter.host_calls,
            trace_bytes=ctx.trace.size,
            return_data=draft.return_data,
            events=[pb.Event(topic=t, data=d) for t, d in draft.events],
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
