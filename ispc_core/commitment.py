"""Circuit-friendly commitments: the trace commitment and the execution result hash.

Both are Poseidon hashes over the scalar field of the configured proof curve
(``proof.curve``), so that a circuit can recompute them from its witness:

* **bytes → field elements** (:func:`bytes_to_elements`): ``[len(data)]``
  followed by ``data`` cut into 31-byte chunks, each read little-endian (the
  last chunk shorter). The leading byte length makes trailing zero bytes count.
* **trace commitment** ``T = poseidon_sponge(bytes_to_elements(trace))`` where
  ``trace`` is the canonical trace encoding (docs/formats.md).
* **effects digest** ``O = sha256(lp(return_data) ‖ lp(events) ‖ lp(outputs) ‖ lp(return_values))``
  over what the transaction itself carries (``ExecutionProof.return_data``,
  ``ExecutionProof.events``, every output with ``execution_result_hash`` and
  ``zk_proof`` cleared, ``ExecutionProof.return_values`` each ``lp``-framed),
  so any verifier recomputes it from the transaction.
* **execution result hash**
  ``R = poseidon_sponge([TAG, rid_hi, rid_lo, req_hi, req_lo, T, O_hi, O_lo])``
  where ``x_hi, x_lo`` are the high and low 128 bits of a 32-byte value and
  ``TAG`` is the integer of the bytes ``"ispc.result.v1"`` (big-endian).

All of these are encoded as 32-byte big-endian integers. The sponge is
:func:`ispc_core.zk.poseidon.poseidon_sponge` (width 5, rate 4, length in the
capacity cell).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Iterable, Sequence

from ispc_core.zk.poseidon import poseidon_sponge

CHUNK = 31
RESULT_TAG = int.from_bytes(b"ispc.result.v1", "big")
DEFAULT_CURVE = "bn254"


def _lp(data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + data


def bytes_to_elements(data: bytes) -> list[int]:
    """``[len(data)]`` + 31-byte little-endian chunks of ``data``.

    >>> bytes_to_elements(b"\\x01\\x02")
    [2, 513]
    """
    return [len(data)] + [int.from_bytes(data[i : i + CHUNK], "little") for i in range(0, len(data), CHUNK)]


def split128(value: bytes) -> tuple[int, int]:
    """The high and low 128-bit halves of a 32-byte value, as integers."""
    if len(value) != 32:
        raise ValueError(f"expected 32 bytes, got {len(value)}")
    return int.from_bytes(value[:16], "big"), int.from_bytes(value[16:], "big")


def to_bytes32(x: int) -> bytes:
    """A field element as 32 bytes big-endian."""
    return int(x).to_bytes(32, "big")


def trace_commitment(trace_encoding: bytes, curve: str = DEFAULT_CURVE) -> bytes:
    """The Poseidon commitment to a canonical trace encoding (32 bytes big-endian)."""
    return to_bytes32(poseidon_sponge(bytes_to_elements(trace_encoding), curve))


def effects_digest(
    return_data: bytes, events: Iterable[tuple[str, bytes]], outputs_encoding: bytes, return_values: Iterable[bytes] = ()
) -> bytes:
    """sha256 over what the transaction carries: return data, events, outputs, return values (see module docstring)."""
    ev = b"".join(_lp(t.encode("utf-8")) + _lp(d) for t, d in events)
    rv = b"".join(_lp(bytes(v)) for v in return_values)
    return hashlib.sha256(_lp(return_data) + _lp(ev) + _lp(outputs_encoding) + _lp(rv)).digest()


def result_hash_inputs(resource_id: bytes, request_hash: bytes, trace_commitment_: bytes, effects: bytes) -> list[int]:
    """The eight field elements the execution result hash is the sponge of."""
    return [
        RESULT_TAG,
        *split128(resource_id),
        *split128(request_hash),
        int.from_bytes(trace_commitment_, "big"),
        *split128(effects),
    ]


def result_hash(
    resource_id: bytes, request_hash: bytes, trace_commitment_: bytes, effects: bytes, curve: str = DEFAULT_CURVE
) -> bytes:
    """The execution result hash (32 bytes big-endian)."""
    return to_bytes32(poseidon_sponge(result_hash_inputs(resource_id, request_hash, trace_commitment_, effects), curve))


def outputs_encoding(outputs: Sequence) -> bytes:
    """Concatenated ``lp(serialization)`` of every output with its hash-dependent fields cleared."""
    from ispc_core.proto import transaction_pb2 as pb

    parts = []
    for out in outputs:
        clean = pb.TxOutput()
        clean.CopyFrom(out)
        if clean.HasField("state"):
            clean.state.ClearField("execution_result_hash")
            clean.state.ClearField("zk_proof")
        parts.append(_lp(clean.SerializeToString(deterministic=True)))
    return b"".join(parts)


def transaction_effects(tx) -> bytes:
    """Recompute the effects digest from a transaction alone (what a verifier does)."""
    ex = tx.execution
    return effects_digest(
        ex.return_data, [(e.topic, e.data) for e in ex.events], outputs_encoding(tx.outputs), list(ex.return_values)
    )
