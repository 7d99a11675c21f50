"""Proving and verifying on both curves, and every soundness claim with its negative test."""

from __future__ import annotations

import pytest

from ispc_core.zk.curves import get_backend
from ispc_core.zk.curves.params import CURVES as SPECS
from ispc_core.zk.errors import ConstraintUnsatisfied, FormatError, InvalidPoint
from ispc_core.zk.formats.plonk_json import (
    PROOF_EVALS,
    PROOF_POINTS,
    plonk_proof_from_json,
    plonk_proof_to_json,
    plonk_vk_from_json,
    plonk_vk_to_json,
)
from ispc_plonk.circuit import from_r1cs
from ispc_plonk.keys import derive_keys, vk_hash
from ispc_plonk.prover import prove
from ispc_plonk.scheme import proof_from_bytes, proof_to_bytes
from ispc_plonk.verifier import verify

from .conftest import CURVES, sample_circuit


@pytest.fixture(scope="module")
def proofs(keys):
    return {c: prove(keys[c][2], keys[c][1]) for c in CURVES}


@pytest.mark.parametrize("curve", CURVES)
def test_valid_proof_verifies(curve, keys, proofs):
    r1cs, wit, pk = keys[curve]
    proof, public = proofs[curve]
    assert public == r1cs.public_values(wit)
    assert verify(pk.vk, proof, public)
    # and after a round trip through bytes and snarkjs JSON
    assert verify(pk.vk, proof_from_bytes(curve, proof_to_bytes(proof)), public)
    assert verify(plonk_vk_from_json(plonk_vk_to_json(pk.vk)), plonk_proof_from_json(plonk_proof_to_json(proof)), public)


@pytest.mark.parametrize("curve", CURVES)
def test_proofs_are_randomized(curve, keys, proofs):
    proof2, _ = prove(keys[curve][2], keys[curve][1])
    assert proof2.points["A"] != proofs[curve][0].points["A"]


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("name", PROOF_POINTS)
def test_changed_commitment_rejected(curve, name, keys, proofs):
    pk = keys[curve][2]
    proof, public = proofs[curve]
    be = get_backend(curve)
    g = be.g1
    p = proof.points[name]
    bad = g.to_affine(g.add(g.from_affine(p), g.generator()))
    tampered = type(proof)(curve, {**proof.points, name: bad}, dict(proof.evals))
    assert not verify(pk.vk, tampered, public)


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("name", PROOF_EVALS)
def test_changed_evaluation_rejected(curve, name, keys, proofs):
    pk = keys[curve][2]
    proof, public = proofs[curve]
    r = SPECS[curve].r
    tampered = type(proof)(curve, dict(proof.points), {**proof.evals, name: (proof.evals[name] + 1) % r})
    assert not verify(pk.vk, tampered, public)


@pytest.mark.parametrize("curve", CURVES)
def test_changed_public_input_rejected(curve, keys, proofs):
    pk = keys[curve][2]
    proof, public = proofs[curve]
    r = SPECS[curve].r
    for i in range(len(public)):
        bad = list(public)
        bad[i] = (bad[i] + 1) % r
        assert not verify(pk.vk, proof, bad)
    assert not verify(pk.vk, proof, public[:-1])
    assert not verify(pk.vk, proof, public + [0])
    non_canonical = list(public)
    non_canonical[0] += r  # same residue, not canonical
    assert not verify(pk.vk, proof, non_canonical)


@pytest.mark.parametrize("curve", CURVES)
def test_a_zero_public_input_is_bound_too(curve, srs):
    """The verifier skips zero public inputs in PI(xi)'s sum: a proof with x = 0 verifies, and moving x
    (to 1, or to r - 1) or the output fails; a proof for x = 1 does not verify as x = 0."""
    r1cs, wit = sample_circuit(curve, x0=0)
    pk = derive_keys(from_r1cs(r1cs), srs[curve])
    public = r1cs.public_values(wit)
    assert 0 in public
    proof, stated = prove(pk, wit)
    assert stated == public and verify(pk.vk, proof, public)
    r = SPECS[curve].r
    for i in range(len(public)):
        for delta in (1, r - 1):
            bad = list(public)
            bad[i] = (bad[i] + delta) % r
            assert not verify(pk.vk, proof, bad)
    r1, w1 = sample_circuit(curve, x0=1)
    p1, public1 = prove(pk, w1)
    assert public1 != public and verify(pk.vk, p1, public1) and not verify(pk.vk, p1, public)


@pytest.mark.parametrize("curve", CURVES)
def test_foreign_verifying_key_rejected(curve, keys, proofs, srs):
    proof, public = proofs[curve]
    # another circuit, same SRS
    r1cs2, _ = sample_circuit(curve, steps=13)
    pk2 = derive_keys(from_r1cs(r1cs2), srs[curve])
    assert not verify(pk2.vk, proof, public)
    # the same circuit, another SRS (another tau)
    from ispc_core.zk.formats.ptau import generate_insecure_ptau, read_ptau

    other = read_ptau(generate_insecure_ptau(curve, 6, lagrange=False))
    pk3 = derive_keys(from_r1cs(keys[curve][0]), other)
    assert vk_hash(pk3.vk) != vk_hash(keys[curve][2].vk)
    assert not verify(pk3.vk, proof, public)


@pytest.mark.parametrize("curve", CURVES)
def test_keys_are_deterministic(curve, keys, srs):
    r1cs = keys[curve][0]
    again = derive_keys(from_r1cs(r1cs), srs[curve])
    assert vk_hash(again.vk) == vk_hash(keys[curve][2].vk)
    assert plonk_vk_to_json(again.vk) == plonk_vk_to_json(keys[curve][2].vk)


@pytest.mark.parametrize("curve", CURVES)
def test_unsatisfied_witness_raises(curve, keys):
    r1cs, wit, pk = keys[curve]
    bad = list(wit)
    bad[-1] = (bad[-1] + 1) % SPECS[curve].r
    with pytest.raises(ConstraintUnsatisfied) as exc:
        prove(pk, bad)
    assert exc.value.index >= 0
    assert "R1CS constraint" in str(exc.value)


def _off_curve_g1_bytes(curve: str) -> bytes:
    spec = SPECS[curve]
    n = spec.fq_bytes
    x = 1
    while True:
        rhs = (x**3 + spec.b1) % spec.q
        if pow(rhs, (spec.q - 1) // 2, spec.q) != 1:  # no y: x is not on the curve
            b = bytearray(x.to_bytes(n, "big"))
            b[0] |= 0x80
            return bytes(b)
        x += 1


def _non_subgroup_g1_bytes(curve: str) -> bytes:
    spec = SPECS[curve]
    n = spec.fq_bytes
    x = 1
    while True:
        rhs = (x**3 + spec.b1) % spec.q
        if pow(rhs, (spec.q - 1) // 2, spec.q) == 1:
            b = bytearray(x.to_bytes(n, "big"))
            b[0] |= 0x80
            data = bytes(b)
            from ispc_core.zk.curves import serialization as ser

            aff = ser.g1_from_bytes(spec, data)
            be = get_backend(curve)
            if not be.g1.in_subgroup(be.g1.from_affine(aff, check=False)):
                return data
        x += 1


@pytest.mark.parametrize("curve", CURVES)
def test_malformed_proof_bytes_rejected_before_pairing(curve, proofs):
    proof, _ = proofs[curve]
    good = proof_to_bytes(proof)
    n = SPECS[curve].fq_bytes
    with pytest.raises(FormatError):
        proof_from_bytes(curve, good[:-1])
    with pytest.raises(InvalidPoint) as exc:
        proof_from_bytes(curve, _off_curve_g1_bytes(curve) + good[n:])
    assert exc.value.check in ("on-curve", "encoding")
    bad_eval = good[: 9 * n] + SPECS[curve].r.to_bytes(32, "big") + good[9 * n + 32 :]
    with pytest.raises(FormatError, match="non-canonical"):
        proof_from_bytes(curve, bad_eval)


def test_wrong_subgroup_point_rejected():
    # bls12-381 G1 has a cofactor: a curve point outside the subgroup must be refused
    curve = "bls12-381"
    data = _non_subgroup_g1_bytes(curve)
    with pytest.raises(InvalidPoint) as exc:
        get_backend(curve).g1.from_bytes(data)
    assert exc.value.check == "subgroup"


@pytest.mark.parametrize("curve", CURVES)
def test_malformed_json_rejected(curve, keys, proofs):
    pk = keys[curve][2]
    proof, _ = proofs[curve]
    pj = plonk_proof_to_json(proof)
    r = SPECS[curve].r
    for bad in (
        {**pj, "eval_a": str(r)},
        {**pj, "eval_b": "-1"},
        {**pj, "eval_c": "0x10"},
        {**pj, "A": ["1", "3", "1"]},
        {k: v for k, v in pj.items() if k != "Wxi"},
        {**pj, "protocol": "groth16"},
    ):
        with pytest.raises((FormatError, InvalidPoint)):
            plonk_proof_from_json(bad)
    vj = plonk_vk_to_json(pk.vk)
    for bad in ({**vj, "Qm": ["1", "3", "1"]}, {**vj, "k1": str(r + 2)}, {**vj, "w": "5"}, {**vj, "power": -1}):
        with pytest.raises((FormatError, InvalidPoint)):
            plonk_vk_from_json(bad)


def test_vk_g2_outside_subgroup_rejected(keys):
    # a bn254 twist point outside the order-r subgroup as X_2
    from ispc_core.zk.curves import serialization as ser

    spec = SPECS["bn254"]
    vj = plonk_vk_to_json(keys["bn254"][2].vk)
    be = get_backend("bn254")
    x0 = 1
    while True:
        data = bytearray(int(0).to_bytes(32, "big") + x0.to_bytes(32, "big"))  # x1 || x0
        data[0] |= 0x80
        try:
            aff = ser.g2_from_bytes(spec, bytes(data))
        except InvalidPoint:
            x0 += 1
            continue
        if not be.g2.in_subgroup(be.g2.from_affine(aff, check=False)):
            break
        x0 += 1
    (a0, a1), (b0, b1) = aff
    bad = {**vj, "X_2": [[str(a0), str(a1)], [str(b0), str(b1)], ["1", "0"]]}
    with pytest.raises(InvalidPoint) as exc:
        plonk_vk_from_json(bad)
    assert exc.value.check == "subgroup"


@pytest.mark.parametrize("curve", CURVES)
def test_a_key_without_gate_sources_labels_the_failing_gate_by_position(curve, keys):
    """A key read from a .zkey does not know which R1CS constraint made each gate: the message says where the
    gate is, after the public-input gates, instead of calling every gate a public-input gate."""
    import copy

    r1cs, wit, pk = keys[curve]
    bare = copy.copy(pk)
    bare.gate_source, bare.constraint_labels = [], []
    bad = list(wit)
    bad[-1] = (bad[-1] + 1) % SPECS[curve].r
    with pytest.raises(ConstraintUnsatisfied) as exc:
        prove(bare, bad)
    message = str(exc.value)
    assert "public-input gate" not in message.split("(after")[0]
    assert f"after the {pk.n_public} public-input gates" in message
