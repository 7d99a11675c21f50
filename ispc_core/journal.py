"""The call record and the journal a transaction carries, in canonical bytes.

A transaction that claims a program's authority carries (``ExecutionProof``,
docs/formats.md):

* the **call** — resource id, function, canonical arguments (positional and
  named), input data and the *snapshot height* the program read the ledger at;
  with the transaction's chain id, caller and nonce. Its hash is the
  *request hash* (:func:`request_hash`), which every verifier recomputes;
* the **journal** — every host call in order: name, canonical arguments,
  canonical result (the trace's value encoding, :mod:`ispc_core.trace`). A
  verifier rebuilds the canonical trace from it (:func:`trace_encoding`) and
  with it the Poseidon trace commitment the proof's public inputs name;
* the **return values** — the engine's values in canonical encoding.

Value encoding (a superset of the trace's, for engine arguments and results)::

    value  := trace value (tags 0x00-0x03)
            | 0x10 | lp(dtype "|" shape) | lp(little-endian array bytes)   -- a tensor
            | 0x11 | lp(name) | tensor                                      -- a named tensor

``lp(x)`` is a u32 little-endian length followed by ``x``.

Every decode error is a :class:`~ispc_core.errors.JournalError` naming the
journal entry (or the call-record field) at fault.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, Iterable, Sequence

import attrs

from ispc_core.errors import JournalError, RequestError
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.trace import MAGIC, TraceRecord, decode_exact_value, encode_value

REQUEST_DOMAIN = b"ispc.request.v2"
TENSOR_TAG = 0x10
NAMED_TENSOR_TAG = 0x11
#: at most this many entries in one journal (the host-call limit of any node is lower)
MAX_JOURNAL_ENTRIES = 1 << 16
#: a journal entry's function name is at most this long (the trace stores it with a u16 length)
MAX_NAME_BYTES = 255


def _lp(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data


# --------------------------------------------------------------------------- values
def _encode_tensor(value: Any) -> bytes:
    import numpy as np

    arr = np.ascontiguousarray(np.asarray(value))
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError
    arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    header = f"{arr.dtype.str}|{','.join(map(str, arr.shape))}".encode()
    return bytes([TENSOR_TAG]) + _lp(header) + _lp(arr.tobytes())


def encode_arg(value: Any) -> bytes:
    """The canonical encoding of one engine argument or return value.

    >>> encode_arg(7).hex()
    '010700000000000000'
    >>> encode_arg(("y", [1.0])).hex()[:2]
    '11'
    """
    try:
        return encode_value(value)
    except RequestError:
        if isinstance(value, int):
            raise  # "integer ... does not fit in i64"
    try:
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            return bytes([NAMED_TENSOR_TAG]) + _lp(value[0].encode("utf-8")) + _encode_tensor(value[1])
        return _encode_tensor(value)
    except Exception:
        raise RequestError(f"a value of type {type(value).__name__} has no canonical encoding") from None


def _take_lp(data: bytes, pos: int, what: str) -> tuple[bytes, int]:
    if pos + 4 > len(data):
        raise RequestError(f"{what}: length truncated at byte {pos}")
    (n,) = struct.unpack_from("<I", data, pos)
    pos += 4
    if pos + n > len(data):
        raise RequestError(f"{what}: {n} bytes announced, {len(data) - pos} present")
    return data[pos : pos + n], pos + n


def _check_tensor(data: bytes, pos: int) -> int:
    import numpy as np

    if pos >= len(data) or data[pos] != TENSOR_TAG:
        raise RequestError("a tensor must start with tag 0x10")
    header, pos = _take_lp(data, pos + 1, "tensor header")
    body, pos = _take_lp(data, pos, "tensor data")
    try:
        dtype_s, shape_s = header.decode("ascii").split("|")
        dtype = np.dtype(dtype_s)
        shape = tuple(int(x) for x in shape_s.split(",") if x != "")
    except (ValueError, TypeError, UnicodeDecodeError):
        raise RequestError(f"tensor header {header[:40]!r} is not dtype|shape") from None
    if dtype.kind not in "biuf" or any(d < 0 for d in shape):
        raise RequestError(f"tensor header {header[:40]!r}: unsupported dtype or negative dimension")
    count = 1
    for d in shape:
        count *= d
    if count * dtype.itemsize != len(body):
        raise RequestError(f"tensor of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes, has {len(body)}")
    return pos


def _read_tensor(data: bytes, pos: int):
    import numpy as np

    header, pos = _take_lp(data, pos + 1, "tensor header")
    body, pos = _take_lp(data, pos, "tensor data")
    dtype_s, shape_s = header.decode("ascii").split("|")
    shape = tuple(int(x) for x in shape_s.split(",") if x != "")
    return np.frombuffer(body, dtype=np.dtype(dtype_s)).reshape(shape).copy(), pos


def decode_arg(data: bytes) -> Any:
    """The value a canonical encoding stands for (``check_arg`` first; numpy arrays for tensors).

    >>> decode_arg(encode_arg(-7))
    -7
    """
    check_arg(data)
    if data[0] == TENSOR_TAG:
        return _read_tensor(data, 0)[0]
    if data[0] == NAMED_TENSOR_TAG:
        name, pos = _take_lp(data, 1, "tensor name")
        return name.decode("utf-8"), _read_tensor(data, pos)[0]
    return decode_exact_value(data)


def check_arg(data: bytes) -> None:
    """Raise :class:`RequestError` unless ``data`` is exactly one canonical value (see the module docstring)."""
    if not data:
        raise RequestError("empty value")
    tag = data[0]
    if tag == TENSOR_TAG:
        end = _check_tensor(data, 0)
    elif tag == NAMED_TENSOR_TAG:
        name, pos = _take_lp(data, 1, "tensor name")
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("tensor name is not valid UTF-8") from None
        end = _check_tensor(data, pos)
    else:
        decode_exact_value(data)
        return
    if end != len(data):
        raise RequestError(f"{len(data) - end} stray byte(s) after the value")


# --------------------------------------------------------------------------- the call
def request_hash(
    *,
    chain_id: bytes,
    resource_id: bytes,
    function: str,
    args: Sequence[bytes],
    named_inputs: Sequence[tuple[str, bytes]],
    caller: bytes,
    input_data: bytes,
    nonce: int,
    snapshot_height: int,
    snapshot_block_hash: bytes,
) -> bytes:
    """sha256 of the call record (docs/formats.md "request hash v2"); arguments already canonical.

    ``named_inputs`` must be sorted by name (as the transaction carries them).
    """
    h = hashlib.sha256(REQUEST_DOMAIN)
    h.update(_lp(chain_id))
    h.update(_lp(resource_id))
    h.update(_lp(function.encode("utf-8")))
    h.update(struct.pack("<I", len(args)))
    for a in args:
        h.update(_lp(a))
    h.update(struct.pack("<I", len(named_inputs)))
    for name, value in named_inputs:
        h.update(_lp(name.encode("utf-8")))
        h.update(_lp(value))
    h.update(_lp(caller))
    h.update(_lp(input_data))
    h.update(struct.pack("<QQ", nonce, snapshot_height))
    h.update(_lp(snapshot_block_hash))
    return h.digest()


def request_hash_of(tx: pb.Transaction) -> bytes:
    """The request hash recomputed from what ``tx`` carries."""
    ex = tx.execution
    return request_hash(
        chain_id=tx.chain_id,
        resource_id=ex.resource_id,
        function=ex.function,
        args=list(ex.args),
        named_inputs=[(n.name, n.value) for n in ex.named_inputs],
        caller=tx.caller,
        input_data=ex.input_data,
        nonce=tx.nonce,
        snapshot_height=ex.snapshot_height,
        snapshot_block_hash=ex.snapshot_block_hash,
    )


@attrs.frozen
class ExecutionHashes:
    """The hashes of an execution as its transaction's own call record, journal and effects give them."""

    request_hash: bytes
    trace_commitment: bytes
    effects_digest: bytes
    execution_result_hash: bytes


def execution_hashes(tx: pb.Transaction, curve: str) -> ExecutionHashes:
    """Request hash, Poseidon trace commitment of the journal, effects digest and execution result hash,
    recomputed from ``tx`` alone on ``curve``'s field (what verifiers and circuits' public inputs use)."""
    from ispc_core.commitment import result_hash, trace_commitment, transaction_effects

    req = request_hash_of(tx)
    t = trace_commitment(trace_encoding(tx.execution.journal), curve)
    effects = transaction_effects(tx)
    return ExecutionHashes(req, t, effects, result_hash(bytes(tx.execution.resource_id), req, t, effects, curve))


def rehash_execution(tx: pb.Transaction, curve: str) -> pb.Transaction:
    """Write :func:`execution_hashes` into ``tx`` (execution record and every state output), in place.

    What anyone who edits an execution must do before signing it again — the demo's forger and the
    tests' — so that only the signatures, the journal check or the proof can refuse the edit.
    """
    h = execution_hashes(tx, curve)
    ex = tx.execution
    ex.request_hash, ex.trace_commitment, ex.execution_result_hash = h.request_hash, h.trace_commitment, h.execution_result_hash
    for out in tx.outputs:
        if out.WhichOneof("content") == "state":
            out.state.execution_result_hash = h.execution_result_hash
    return tx


def check_call_record(tx: pb.Transaction) -> None:
    """Raise :class:`JournalError` (``entry=None``, ``field=...``) if the call record is malformed."""
    ex = tx.execution
    if len(ex.resource_id) != 32:
        raise JournalError(f"execution.resource_id is {len(ex.resource_id)} bytes, not 32", field="resource_id")
    if not ex.function:
        raise JournalError("execution.function is empty", field="function")
    if len(ex.snapshot_block_hash) != 32:
        raise JournalError(f"execution.snapshot_block_hash is {len(ex.snapshot_block_hash)} bytes, not 32", field="snapshot_block_hash")
    if len(tx.caller) != 20:
        raise JournalError(f"caller is {len(tx.caller)} bytes, not a 20-byte address", field="caller")
    for i, a in enumerate(ex.args):
        try:
            check_arg(a)
        except RequestError as exc:
            raise JournalError(f"execution.args[{i}] does not decode: {exc}", field=f"args[{i}]") from None
    names = [n.name for n in ex.named_inputs]
    if names != sorted(names) or len(set(names)) != len(names):
        raise JournalError("execution.named_inputs must be sorted by name, each name once", field="named_inputs")
    for n in ex.named_inputs:
        try:
            check_arg(n.value)
        except RequestError as exc:
            raise JournalError(f"execution.named_inputs[{n.name!r}] does not decode: {exc}", field=f"named_inputs.{n.name}") from None
    for i, v in enumerate(ex.return_values):
        try:
            check_arg(v)
        except RequestError as exc:
            raise JournalError(f"execution.return_values[{i}] does not decode: {exc}", field=f"return_values[{i}]") from None


def call_fields(request, snapshot_height: int, snapshot_block_hash: bytes) -> dict[str, Any]:
    """The call-record fields of ``ExecutionProof`` for a :class:`~ispc_core.context.CallRequest`."""
    named = request.named_inputs or {}
    return {
        "resource_id": request.resource_id,
        "function": request.function,
        "args": [encode_arg(a) for a in request.args],
        "named_inputs": [pb.NamedValue(name=k, value=encode_arg(named[k])) for k in sorted(named)],
        "input_data": request.input_data,
        "snapshot_height": snapshot_height,
        "snapshot_block_hash": snapshot_block_hash,
    }


# --------------------------------------------------------------------------- the journal
@attrs.frozen
class JournalCall:
    """One decoded journal entry: its index, host function, arguments and result."""

    index: int
    function: str
    args: tuple[Any, ...]
    result: Any
    raw_result: bytes


def journal_entries(records: Iterable[TraceRecord]) -> list[pb.JournalEntry]:
    """The journal of an execution: one entry per traced host call, in order."""
    return [
        pb.JournalEntry(function=r.function, args=[encode_value(a) for a in r.args], result=encode_value(r.result))
        for r in records
    ]


def decode_journal(entries: Sequence[pb.JournalEntry], *, max_bytes: int | None = None) -> list[JournalCall]:
    """Decode a journal; :class:`JournalError` names the entry and field that do not decode.

    ``max_bytes`` bounds the canonical trace the journal rebuilds into.
    """
    if len(entries) > MAX_JOURNAL_ENTRIES:
        raise JournalError(f"the journal has {len(entries)} entries; at most {MAX_JOURNAL_ENTRIES}", field="journal")
    out: list[JournalCall] = []
    size = len(MAGIC)
    for i, e in enumerate(entries):
        name = e.function
        if not name or len(name.encode("utf-8")) > MAX_NAME_BYTES:
            raise JournalError(f"journal entry {i}: the function name must be 1..{MAX_NAME_BYTES} bytes", entry=i, field="function")
        if len(e.args) > 255:
            raise JournalError(f"journal entry {i} ({name}): {len(e.args)} arguments; at most 255", entry=i, field="args")
        args = []
        for j, raw in enumerate(e.args):
            try:
                args.append(decode_exact_value(raw))
            except RequestError as exc:
                raise JournalError(f"journal entry {i} ({name}): argument {j} does not decode: {exc}", entry=i, field=f"args[{j}]") from None
        try:
            result = decode_exact_value(e.result)
        except RequestError as exc:
            raise JournalError(f"journal entry {i} ({name}): the result does not decode: {exc}", entry=i, field="result") from None
        size += 7 + len(name.encode("utf-8")) + sum(len(a) for a in e.args) + len(e.result)
        if max_bytes is not None and size > max_bytes:
            raise JournalError(f"the journal exceeds {max_bytes} bytes at entry {i}", entry=i, field="journal")
        out.append(JournalCall(i, name, tuple(args), result, bytes(e.result)))
    return out


def trace_encoding(entries: Sequence[pb.JournalEntry]) -> bytes:
    """The canonical trace (:mod:`ispc_core.trace`) a journal stands for; entries must decode."""
    parts = [MAGIC]
    for i, e in enumerate(entries):
        name = e.function.encode("utf-8")
        parts.append(struct.pack("<IH", i, len(name)))
        parts.append(name)
        parts.append(struct.pack("<B", len(e.args)))
        parts.extend(bytes(a) for a in e.args)
        parts.append(bytes(e.result))
    return b"".join(parts)
