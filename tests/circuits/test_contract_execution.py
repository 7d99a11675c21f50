"""contract_execution.v1: the constraints bind every public input and every witness element.

R1CS-level checks (fast): an honest witness satisfies the system; changing any
public input or any witness element breaks a constraint; elements past the
length, or a different length claim, are rejected; capacity selection and the
too-large error. Proof-level tests live in plugins/ispc-groth16/tests.
"""

from __future__ import annotations

import hashlib
import random
from types import SimpleNamespace

import pytest

from ispc_core import commitment
from ispc_core.zk.circuits import contract_execution as ce
from ispc_core.zk.errors import ConstraintUnsatisfied

CURVE = "bn254"


def sealed_for(trace: bytes, curve: str = CURVE):
    rid = hashlib.sha256(b"resource").digest()
    req = hashlib.sha256(b"request").digest()
    eff = hashlib.sha256(b"effects").digest()
    t = commitment.trace_commitment(trace, curve)
    return SimpleNamespace(
        resource_id=rid, request_hash=req, effects_digest=eff, trace_encoding=trace, trace_commitment=t,
        execution_result_hash=commitment.result_hash(rid, req, t, eff, curve), curve=curve,
    )


@pytest.fixture(scope="module")
def inst():
    return ce.instance(sealed_for(b"ISPCTRC1" + bytes(range(256)) * 2), CURVE)


def test_honest_witness_satisfies_and_public_inputs_are_the_execution(inst):
    s = sealed_for(b"ISPCTRC1" + bytes(range(256)) * 2)
    inst.r1cs.check(list(inst.witness))
    assert inst.circuit_id == "contract_execution.v1/64" and inst.version == "v1"
    assert inst.r1cs.n_public == 8 and inst.r1cs.wire_names[1:9] == list(ce.PUBLIC_INPUTS)
    pub = inst.public_inputs
    assert pub[0] == int.from_bytes(s.execution_result_hash, "big")
    assert pub[1] == int.from_bytes(s.trace_commitment, "big")
    assert (pub[2], pub[3]) == commitment.split128(s.resource_id)
    assert (pub[4], pub[5]) == commitment.split128(s.request_hash)
    assert (pub[6], pub[7]) == commitment.split128(s.effects_digest)
    n = len(commitment.bytes_to_elements(s.trace_encoding))
    assert inst.n_elements == n and list(inst.witness[9 : 9 + n]) == commitment.bytes_to_elements(s.trace_encoding)


@pytest.mark.parametrize("index", range(1, 9))
def test_changing_any_public_input_breaks_a_constraint(inst, index):
    w = list(inst.witness)
    w[index] = (w[index] + 1) % inst.r1cs.field.modulus
    with pytest.raises(ConstraintUnsatisfied):
        inst.r1cs.check(w)


def test_changing_any_witness_element_breaks_a_constraint(inst):
    r = inst.r1cs.field.modulus
    rng = random.Random(5)
    n = inst.r1cs.n_wires
    # every trace element and mask wire, and a sample of the internal wires
    names = inst.r1cs.wire_names
    idx = [i for i, nm in enumerate(names) if nm.startswith(("x[", "m[")) or nm == "n"]
    idx += rng.sample(range(9, n), 150)
    for i in sorted(set(idx)):
        w = list(inst.witness)
        w[i] = (w[i] + rng.randrange(1, r)) % r
        assert not inst.r1cs.is_satisfied(w), f"wire {i} ({names[i]}) is unconstrained"


def test_elements_past_the_length_are_rejected(inst):
    names = inst.r1cs.wire_names
    w = list(inst.witness)
    last_pad = names.index(f"x[{ce.CAPACITIES[0] - 1}]")
    w[last_pad] = 7  # padding cannot carry data
    with pytest.raises(ConstraintUnsatisfied) as err:
        inst.r1cs.check(w)
    assert "past the length" in str(err.value)


def test_a_longer_length_claim_is_rejected(inst):
    """Claim one more (zero) element: the mask and n change, the commitment does not match T."""
    names = inst.r1cs.wire_names
    w = list(inst.witness)
    n = inst.n_elements
    w[names.index(f"m[{n}]")] = 1
    w[names.index("n")] = n + 1
    assert not inst.r1cs.is_satisfied(w)


def test_a_prefix_of_the_trace_does_not_satisfy(inst):
    """Dropping the last element (length n - 1, element zeroed) gives another commitment."""
    names = inst.r1cs.wire_names
    w = list(inst.witness)
    n = inst.n_elements
    w[names.index(f"m[{n - 1}]")] = 0
    w[names.index(f"x[{n - 1}]")] = 0
    w[names.index("n")] = n - 1
    assert not inst.r1cs.is_satisfied(w)


def test_every_length_within_the_capacity_recomputes_the_native_commitment():
    for size in (0, 1, 30, 31, 32, 93, 94, 31 * 63):  # 1 .. 64 elements, chunk boundaries included
        s = sealed_for(bytes(range(256)) * (size // 256 + 1))
        s = sealed_for(s.trace_encoding[:size])
        inst = ce.instance(s, CURVE)
        assert inst.capacity == 64
        inst.r1cs.check(list(inst.witness))


def test_capacity_choice_and_the_too_large_error():
    assert ce.pick_capacity(1) == 64 and ce.pick_capacity(64) == 64
    assert ce.pick_capacity(65) == 256 and ce.pick_capacity(1024) == 1024
    with pytest.raises(ce.TraceTooLarge) as err:
        ce.pick_capacity(1025)
    assert "1025 field elements" in str(err.value) and "1024" in str(err.value)
    big = sealed_for(b"\x01" * (31 * 1024 + 1))
    with pytest.raises(ce.TraceTooLarge):
        ce.instance(big, CURVE)


def test_a_commitment_of_another_curve_is_refused():
    s = sealed_for(b"abc", "bls12-381")
    with pytest.raises(Exception) as err:
        ce.instance(s, CURVE)
    assert "bls12-381" in str(err.value)


def test_the_circuit_spec_is_registered():
    from ispc_core.plugins import PluginManager

    spec = PluginManager().get("ispc_circuits", "contract_execution")
    assert spec is ce.CIRCUIT_SPEC and spec.version == "v1" and set(spec.applies_to) == {"wasm", "onnx", "test"}
