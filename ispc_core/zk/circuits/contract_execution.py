"""``contract_execution.v1``: the execution result hash is bound to a committed trace.

Public inputs (in this order, each a field element of the proof curve's scalar field)::

    0  R        execution result hash (ExecutionProof.execution_result_hash, 32-byte big-endian)
    1  T        trace commitment     (ExecutionProof.trace_commitment)
    2  rid_hi   resource id, high 128 bits
    3  rid_lo   resource id, low 128 bits
    4  req_hi   request hash, high 128 bits
    5  req_lo   request hash, low 128 bits
    6  O_hi     effects digest, high 128 bits  (commitment.transaction_effects(tx))
    7  O_lo     effects digest, low 128 bits

Witness: the trace as field elements ``x_0 … x_{C-1}``
(:func:`ispc_core.commitment.bytes_to_elements`, zero-padded to the capacity C).

Constraints:

1. a length mask ``m_i ∈ {0,1}`` with ``m_0 = 1`` and ``m_i ≤ m_{i-1}``; the
   element count is ``n = Σ m_i`` (so ``1 ≤ n ≤ C``), and ``x_i · (1 − m_i) = 0``:
   every element past the length is zero, so padding cannot change the result;
2. the sponge of :func:`ispc_core.zk.poseidon.poseidon_sponge` over *all* C/4
   chunks, starting from the state ``[n, 0, 0, 0, 0]``; the state after chunk k is
   the real result when chunk k is the last one holding data, i.e. when
   ``sel_k = m_{4k} − m_{4k+4} = 1`` (exactly one ``sel_k`` is 1); the commitment
   is ``Σ sel_k · state_k[0]`` and must equal the public ``T``;
3. ``R = poseidon_sponge([TAG, rid_hi, rid_lo, req_hi, req_lo, T, O_hi, O_lo])``
   recomputed from the public-input wires, and equal to the public ``R``.

What it proves and what it does not (docs/circuits.md): it is **binding-only**.
It binds the proof to this transaction's call, journal and effects, so nobody
without the proving key can change one of them; it does *not* show that the
program produced the journal — a node holding the proving key can fabricate a
whole journal. The journal check catches every inconsistency with the ledger
and the effects, not a journal the program would never have produced. A chain
that pins it for a kind trusts its executing nodes for that kind.

Capacities (trace field elements): :data:`CAPACITIES`. The capacity is part of
the circuit id — ``contract_execution.v1/64`` — because each has its own
constraint system and keys. :func:`instance` picks the smallest that fits.
"""

from __future__ import annotations

import threading
from typing import Any

import attrs

from ispc_core.commitment import RESULT_TAG, bytes_to_elements, split128
from ispc_core.errors import ProofError
from ispc_core.specs import CircuitSpec
from ispc_core.zk.errors import WitnessError
from ispc_core.zk.fields import get_field
from ispc_core.zk.poseidon import SPONGE_RATE, poseidon_permutation_gadget, poseidon_sponge_gadget
from ispc_core.zk.r1cs import R1CS, CircuitBuilder

CIRCUIT_NAME = "contract_execution"
VERSION = "v1"
#: trace capacities in field elements (31 bytes each, the first holds the byte length)
CAPACITIES = (64, 256, 1024)
PUBLIC_INPUTS = ("R", "T", "rid_hi", "rid_lo", "req_hi", "req_lo", "O_hi", "O_lo")

__all__ = [
    "CIRCUIT_SPEC",
    "CAPACITIES",
    "PUBLIC_INPUTS",
    "TraceTooLarge",
    "ContractExecutionInstance",
    "circuit_id",
    "pick_capacity",
    "build",
    "compiled",
    "public_inputs_of",
    "instance",
    "witness_for",
]


class TraceTooLarge(ProofError, WitnessError):
    """The trace has more field elements than the largest capacity of the circuit."""

    code = "trace_too_large"


def circuit_id(capacity: int) -> str:
    """``contract_execution.v1/<capacity>``: the id keys and proofs carry."""
    return f"{CIRCUIT_NAME}.{VERSION}/{capacity}"


def pick_capacity(n_elements: int) -> int:
    """The smallest capacity holding ``n_elements``; :class:`TraceTooLarge` names the size otherwise."""
    for c in CAPACITIES:
        if n_elements <= c:
            return c
    raise TraceTooLarge(
        f"the trace is {n_elements} field elements ({(n_elements - 1) * 31} bytes or more); "
        f"the largest capacity of {CIRCUIT_NAME}.{VERSION} is {CAPACITIES[-1]} elements "
        f"({(CAPACITIES[-1] - 1) * 31} bytes)"
    )


@attrs.frozen
class ContractExecutionInstance:
    """One sealed execution as a circuit instance: the constraint system, the full witness, the public inputs."""

    circuit_id: str
    version: str
    capacity: int
    curve: str
    r1cs: R1CS = attrs.field(repr=False)
    witness: tuple[int, ...] = attrs.field(repr=False)
    public_inputs: tuple[int, ...]
    n_elements: int

    @property
    def constraint_count(self) -> int:
        """Number of R1CS constraints."""
        return len(self.r1cs.constraints)


class _Template:
    """A compiled circuit plus the builder whose hints recompute a witness from new inputs."""

    def __init__(self, capacity: int, curve: str):
        self.capacity = capacity
        self.cb = CircuitBuilder(get_field(curve))
        self.length = 0  # the element count the mask hints read
        self.inputs = _circuit(self.cb, capacity, self)
        self.r1cs = self.cb.compile()
        self.lock = threading.Lock()

    def witness(self, publics: dict[str, int], elements: list[int]) -> list[int]:
        """Run every hint for these inputs; returns the witness in circom wire order."""
        cb = self.cb
        with self.lock:
            values: list = [None] * len(cb._values)
            values[0] = 1
            for name in PUBLIC_INPUTS:
                values[self.inputs[name]] = publics[name] % cb.r
            for i in range(self.capacity):
                values[self.inputs[i]] = (elements[i] if i < len(elements) else 0) % cb.r
            self.length = len(elements)
            cb._values = values
            return cb.witness_values()


def _wire(lc) -> int:
    (w,) = lc.terms
    return w


def _circuit(cb: CircuitBuilder, capacity: int, tmpl: "_Template") -> dict:
    """Add the constraints of one capacity; returns the wire index of every input (by name / element index)."""
    if capacity % SPONGE_RATE:
        raise ValueError(f"capacity must be a multiple of {SPONGE_RATE}")
    pub = {name: cb.public_input(name) for name in PUBLIC_INPUTS}
    xs = [cb.private_input(f"x[{i}]") for i in range(capacity)]
    # 1. length mask, zero padding
    masks = []
    for i in range(capacity):
        m = cb.witness(f"m[{i}]", hint=lambda get, i=i: int(i < tmpl.length))
        cb.constrain(m, m - 1, 0, f"m[{i}] boolean")
        if i == 0:
            cb.assert_equal(m, 1, "m[0] = 1 (at least one element)")
        else:
            cb.constrain(m, 1 - masks[-1], 0, f"m[{i}] <= m[{i - 1}]")
        cb.constrain(xs[i], 1 - m, 0, f"x[{i}] = 0 past the length")
        masks.append(m)
    n_lc = sum(masks[1:], masks[0])
    n = cb.witness("n", hint=lambda get: get(n_lc))
    cb.assert_equal(n, n_lc, "n = sum of the mask")
    # 2. variable-length sponge: every chunk state, the last real one selected
    state: list = [n] + [cb.const(0)] * SPONGE_RATE
    chosen = cb.const(0)
    for k in range(capacity // SPONGE_RATE):
        state = [state[0]] + [state[1 + i] + xs[k * SPONGE_RATE + i] for i in range(SPONGE_RATE)]
        state = poseidon_permutation_gadget(cb, state, name=f"trace.p{k}")
        nxt = masks[(k + 1) * SPONGE_RATE] if (k + 1) * SPONGE_RATE < capacity else cb.const(0)
        sel = masks[k * SPONGE_RATE] - nxt
        chosen = chosen + cb.mul(sel, state[0], f"trace.sel{k}", f"trace: select chunk {k}")
    cb.assert_equal(chosen, pub["T"], "trace commitment = public T")
    # 3. the execution result hash from the public-input wires
    rh = poseidon_sponge_gadget(
        cb, [cb.const(RESULT_TAG), pub["rid_hi"], pub["rid_lo"], pub["req_hi"], pub["req_lo"], pub["T"], pub["O_hi"], pub["O_lo"]], name="result"
    )
    cb.assert_equal(rh, pub["R"], "result hash = public R")
    return {**{k: _wire(v) for k, v in pub.items()}, **{i: _wire(x) for i, x in enumerate(xs)}}


_cache: dict[tuple[int, str], _Template] = {}
_cache_lock = threading.Lock()


def build(capacity: int, curve: str) -> "_Template":
    """Compile (once per (capacity, curve), cached) the constraint system and its witness template."""
    key = (capacity, curve)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is None:
            if capacity not in CAPACITIES:
                raise ValueError(f"capacity {capacity} is not one of {CAPACITIES}")
            hit = _cache[key] = _Template(capacity, curve)
        return hit


def compiled(capacity: int, curve: str) -> R1CS:
    """The R1CS of one capacity on one curve (cached)."""
    return build(capacity, curve).r1cs


def public_inputs_of(sealed, curve: str) -> dict[str, int]:
    """The eight public inputs of a sealed execution, by name."""
    rid_hi, rid_lo = split128(sealed.resource_id)
    req_hi, req_lo = split128(sealed.request_hash)
    o_hi, o_lo = split128(sealed.effects_digest)
    return {
        "R": int.from_bytes(sealed.execution_result_hash, "big"),
        "T": int.from_bytes(sealed.trace_commitment, "big"),
        "rid_hi": rid_hi,
        "rid_lo": rid_lo,
        "req_hi": req_hi,
        "req_lo": req_lo,
        "O_hi": o_hi,
        "O_lo": o_lo,
    }


def witness_for(capacity: int, curve: str, publics: dict[str, int], elements: list[int]) -> list[int]:
    """The full witness (circom wire order) for given public inputs and trace elements.

    Runs the circuit's witness hints on the cached template; the result is not
    checked against the constraints here (the prover does that).
    """
    if len(elements) > capacity:
        raise TraceTooLarge(f"{len(elements)} elements do not fit capacity {capacity}")
    return build(capacity, curve).witness(publics, elements)


def instance(sealed, curve: str) -> ContractExecutionInstance:
    """The circuit instance of a sealed execution (the ``CircuitSpec.instance`` callable).

    Picks the smallest capacity for ``bytes_to_elements(sealed.trace_encoding)``;
    the sealed execution must have been committed on ``curve``.
    """
    if getattr(sealed, "curve", curve) != curve:
        raise ProofError(f"the execution was sealed with {sealed.curve} commitments; it cannot be proven on {curve}")
    elements = bytes_to_elements(sealed.trace_encoding)
    cap = pick_capacity(len(elements))
    r1cs = compiled(cap, curve)
    publics = public_inputs_of(sealed, curve)
    witness = witness_for(cap, curve, publics, elements)
    return ContractExecutionInstance(
        circuit_id=circuit_id(cap),
        version=VERSION,
        capacity=cap,
        curve=curve,
        r1cs=r1cs,
        witness=tuple(witness),
        public_inputs=tuple(witness[1 : 1 + r1cs.n_public]),
        n_elements=len(elements),
    )


def _instance(sealed, curve: str) -> Any:
    return instance(sealed, curve)


def public_inputs_of_transaction(tx, curve: str, proof_circuit_id: str = "") -> tuple[int, ...]:
    """The eight public inputs recomputed from a transaction alone, in circuit order.

    ``T`` is the Poseidon commitment of the trace the journal stands for, the
    request hash is recomputed from the call record, ``O`` from the effects the
    transaction carries, and ``R`` from those — nothing is taken on trust from
    the transaction's own ``trace_commitment`` / ``request_hash`` /
    ``execution_result_hash`` fields.
    """
    from ispc_core.journal import execution_hashes

    h = execution_hashes(tx, curve)
    sealed = _Sealed(bytes(tx.execution.resource_id), h.request_hash, h.effects_digest, h.execution_result_hash, h.trace_commitment)
    return tuple(public_inputs_of(sealed, curve)[name] for name in PUBLIC_INPUTS)


@attrs.frozen
class _Sealed:
    resource_id: bytes
    request_hash: bytes
    effects_digest: bytes
    execution_result_hash: bytes
    trace_commitment: bytes


def compile_member(proof_circuit_id: str, curve: str) -> R1CS:
    """The constraint system of ``contract_execution.v1/<capacity>`` (ValueError for another id)."""
    prefix = f"{CIRCUIT_NAME}.{VERSION}/"
    if not proof_circuit_id.startswith(prefix):
        raise ValueError(f"{proof_circuit_id!r} is not a {CIRCUIT_NAME}.{VERSION} circuit id")
    try:
        capacity = int(proof_circuit_id[len(prefix):])
    except ValueError:
        raise ValueError(f"{proof_circuit_id!r}: the capacity is not a number") from None
    return compiled(capacity, curve)


CIRCUIT_SPEC = CircuitSpec(
    circuit_id=CIRCUIT_NAME,
    version=VERSION,
    applies_to=("wasm", "onnx", "test"),
    instance=_instance,
    proves_computation=False,
    public_inputs=public_inputs_of_transaction,
    compile=compile_member,
    description=(
        "binds the execution result hash to a Poseidon-committed trace, the resource, the request and the "
        f"transaction's effects; capacities {', '.join(map(str, CAPACITIES))} trace elements"
    ),
)
