"""Groth16 soundness: tampered proofs, public inputs and keys are rejected; bad input fails before any pairing."""

from __future__ import annotations

import hashlib
import json

import pytest

from ispc_core.specs import ProofArtifact
from ispc_core.zk.curves import get_backend
from ispc_core.zk.errors import ConstraintUnsatisfied, FormatError, InvalidPoint, ZKError
from ispc_core.zk.formats.zkey import read_zkey, write_zkey
from ispc_core.zk.r1cs import CircuitBuilder
from ispc_groth16.data_structures import Proof, VerifyingKey
from ispc_groth16.generator import generate_parameters
from ispc_groth16.keystore import KeyStore
from ispc_groth16.plugin import Groth16Prover
from ispc_groth16.prover import create_proof, prepare_proving_key
from ispc_groth16.verifier import verify_proof


def small_circuit(curve, x=3, y=5, k=0):
    """x public, y private: (x*y)^2 + k = out (public)."""
    cb = CircuitBuilder(curve)
    out = cb.public_output("out", hint=lambda get: (get(t) ** 2 + k))
    xw = cb.public_input("x", x)
    yw = cb.private_input("y", y)
    t = cb.mul(xw, yw, "t")
    cb.constrain(t, t, out - k, "square")
    return cb.build()


class Inst:
    def __init__(self, circuit_id, r1cs, witness, curve):
        self.circuit_id, self.version, self.r1cs, self.witness, self.curve = circuit_id, "v1", r1cs, tuple(witness), curve
        self.public_inputs = tuple(witness[1 : 1 + r1cs.n_public])


@pytest.fixture(scope="module", params=["bn254", "bls12-381"])
def setup(request):
    curve = request.param
    r1cs, wit = small_circuit(curve)
    pk = generate_parameters(r1cs, curve)
    proof = create_proof(prepare_proving_key(pk), wit)
    return curve, r1cs, wit, pk, proof


def test_a_proof_verifies_and_round_trips(setup):
    curve, r1cs, wit, pk, proof = setup
    pub = wit[1:3]
    assert verify_proof(pk.vk, proof, pub)
    again = Proof.from_bytes(curve, proof.to_bytes())
    assert again.to_bytes() == proof.to_bytes() and verify_proof(pk.vk, again, pub)
    assert verify_proof(pk.vk, Proof.from_json(json.loads(json.dumps(proof.to_json()))), pub)
    assert VerifyingKey.from_bytes(pk.vk.to_bytes()).hash() == pk.vk.hash()
    assert VerifyingKey.from_json(pk.vk.to_json()).hash() == pk.vk.hash()


def test_proofs_are_randomized(setup):
    curve, r1cs, wit, pk, proof = setup
    other = create_proof(prepare_proving_key(pk), wit)
    assert other.to_bytes() != proof.to_bytes() and verify_proof(pk.vk, other, wit[1:3])


def test_changing_any_byte_of_the_proof_is_rejected(setup):
    curve, r1cs, wit, pk, proof = setup
    raw = proof.to_bytes()
    for i in range(len(raw)):
        for flip in (0x01, 0x80):
            bad = bytearray(raw)
            bad[i] ^= flip
            try:
                ok = verify_proof(pk.vk, Proof.from_bytes(curve, bytes(bad)), wit[1:3])
            except (FormatError, InvalidPoint):
                ok = False
            assert not ok, f"byte {i} ^ {flip:#x} accepted"


def test_changing_any_public_input_is_rejected(setup):
    curve, r1cs, wit, pk, proof = setup
    pub = wit[1:3]
    for i in range(len(pub)):
        bad = list(pub)
        bad[i] += 1
        assert not verify_proof(pk.vk, proof, bad)


def test_another_circuits_verifying_key_rejects(setup):
    curve, r1cs, wit, pk, proof = setup
    r2, w2 = small_circuit(curve, k=1)
    other = generate_parameters(r2, curve)
    assert not verify_proof(other.vk, proof, wit[1:3])
    same_circuit_other_setup = generate_parameters(r1cs, curve)
    assert not verify_proof(same_circuit_other_setup.vk, proof, wit[1:3])


def _no_pairing(monkeypatch, curve):
    be = get_backend(curve)

    def boom(pairs):
        raise AssertionError("a pairing ran on malformed input")

    monkeypatch.setattr(be, "pairing_check", boom)


def test_bad_public_inputs_fail_before_any_pairing(setup, monkeypatch):
    curve, r1cs, wit, pk, proof = setup
    _no_pairing(monkeypatch, curve)
    r = get_backend(curve).curve.r
    with pytest.raises(FormatError, match="public inputs"):
        verify_proof(pk.vk, proof, wit[1:2])
    with pytest.raises(FormatError, match="public inputs"):
        verify_proof(pk.vk, proof, wit[1:3] + [0])
    with pytest.raises(FormatError, match="canonical"):
        verify_proof(pk.vk, proof, [wit[1] + r, wit[2]])
    with pytest.raises(FormatError, match="canonical"):
        verify_proof(pk.vk, proof, [-1, wit[2]])


def test_off_curve_wrong_subgroup_and_non_canonical_points_fail_before_any_pairing(setup, monkeypatch):
    curve, r1cs, wit, pk, proof = setup
    spec = get_backend(curve).curve
    js = proof.to_json()
    _no_pairing(monkeypatch, curve)
    off = json.loads(json.dumps(js))
    off["pi_a"][1] = str((int(off["pi_a"][1]) + 1) % spec.q)
    with pytest.raises(InvalidPoint) as e:
        Proof.from_json(off)
    assert e.value.check == "on-curve"
    big = json.loads(json.dumps(js))
    big["pi_c"][0] = str(int(big["pi_c"][0]) + spec.q)
    with pytest.raises((InvalidPoint, FormatError)):
        Proof.from_json(big)
    # a G2 point on the twist but outside the prime-order subgroup
    from ispc_core.zk.curves import fq

    x = 1
    while True:
        rhs = fq.fq2_add(fq.fq2_mul(fq.fq2_mul((x, 1), (x, 1), spec.q), (x, 1), spec.q), spec.b2, spec.q)
        y = fq.fq2_sqrt(rhs, spec.q)
        if y is not None:
            break
        x += 1
    sub = json.loads(json.dumps(js))
    sub["pi_b"] = [[str(x), "1"], [str(y[0]), str(y[1])], ["1", "0"]]
    with pytest.raises(InvalidPoint) as e:
        Proof.from_json(sub)
    assert e.value.check == "subgroup"
    # non-canonical bytes: an x coordinate >= q in the compressed encoding
    raw = bytearray(proof.to_bytes())
    s1 = 32 if curve == "bn254" else 48
    flags = raw[0] & 0xE0
    qb = bytearray(spec.q.to_bytes(s1, "big"))
    qb[0] |= flags
    raw[:s1] = qb
    with pytest.raises((InvalidPoint, FormatError)):
        Proof.from_bytes(curve, bytes(raw))
    with pytest.raises(FormatError):
        Proof.from_bytes(curve, proof.to_bytes()[:-1])
    with pytest.raises(FormatError):
        verify_proof(pk.vk, Proof(("bls12-381" if curve == "bn254" else "bn254"), proof.a, proof.b, proof.c), wit[1:3])


def test_zkey_round_trip_and_truncation(setup):
    curve, r1cs, wit, pk, proof = setup
    data = write_zkey(pk.zkey)
    assert write_zkey(read_zkey(data)) == data
    for cut in (10, len(data) // 2, len(data) - 1):
        with pytest.raises(FormatError):
            read_zkey(data[:cut])


def test_prover_plugin_keys_artifacts_and_typed_errors(tmp_path):
    curve = "bn254"
    prover = Groth16Prover(tmp_path / "zkkeys")
    r1cs, wit = small_circuit(curve)
    art = prover.prove(Inst("small/1", r1cs, wit, curve), curve)
    assert art.proving_scheme == "groth16" and art.curve == curve and art.circuit_id == "small/1"
    assert art.constraint_count == len(r1cs.constraints) and len(art.proof) == 128
    assert prover.has_verification_key(art.verification_key_hash)
    assert prover.verify(art)
    d = prover.keystore.key_dir("small/1", curve)
    assert hashlib.sha256((d / "vk.bin").read_bytes()).digest() == art.verification_key_hash
    assert json.loads((d / "verification_key.json").read_text())["protocol"] == "groth16"
    # a second prover on the same key store reuses the key; on another key store the hash is unknown
    assert Groth16Prover(tmp_path / "zkkeys").prove(Inst("small/1", r1cs, wit, curve), curve).verification_key_hash == art.verification_key_hash
    elsewhere = Groth16Prover(tmp_path / "other")
    assert not elsewhere.has_verification_key(art.verification_key_hash) and not elsewhere.verify(art)
    # tampered artifacts
    import attrs

    assert not prover.verify(attrs.evolve(art, public_inputs=(art.public_inputs[0] + 1, art.public_inputs[1])))
    assert not prover.verify(attrs.evolve(art, circuit_id="other/1"))
    assert not prover.verify(attrs.evolve(art, verification_key_hash=b"\x00" * 32))
    assert not prover.verify(attrs.evolve(art, proving_scheme="plonk"))
    assert not prover.verify(attrs.evolve(art, curve="bls12-381"))  # the stored key is for bn254
    with pytest.raises(FormatError):
        prover.verify(attrs.evolve(art, proof=art.proof[:-1]))
    # a vk file changed on disk no longer verifies anything: its meta.json still names the hash,
    # so verification reports the damaged file (a typed error) instead of "unknown key"
    (d / "vk.bin").write_bytes((d / "vk.bin").read_bytes()[:-1] + b"\x00")
    from ispc_groth16.keystore import CorruptKeyFile

    with pytest.raises(CorruptKeyFile, match="vk.bin is corrupt"):
        Groth16Prover(tmp_path / "zkkeys").verify(art)


def test_an_unsatisfied_witness_names_the_constraint_and_writes_nothing(tmp_path):
    curve = "bn254"
    prover = Groth16Prover(tmp_path / "zkkeys")
    r1cs, wit = small_circuit(curve)
    bad = list(wit)
    bad[1] = (bad[1] + 1) % r1cs.field.modulus  # out no longer (x*y)^2
    with pytest.raises(ConstraintUnsatisfied) as e:
        prover.prove(Inst("small/1", r1cs, bad, curve), curve)
    assert e.value.label == "square"
    assert not (tmp_path / "zkkeys").exists()
    with pytest.raises(ZKError):
        prover.prove(Inst("small/1", r1cs, wit, "bn254"), "secp256k1")


def test_a_stored_key_for_another_constraint_system_is_not_used(tmp_path):
    prover = Groth16Prover(tmp_path / "zkkeys")
    r1cs, wit = small_circuit("bn254")
    h1 = prover.setup("small/1", r1cs, "bn254")
    r2, w2 = small_circuit("bn254", k=1)
    h2 = Groth16Prover(tmp_path / "zkkeys").prove(Inst("small/1", r2, w2, "bn254"), "bn254").verification_key_hash
    assert h1 != h2  # a new key was made for the new constraint system
    assert KeyStore(tmp_path / "zkkeys").has_verification_key(h2)


def test_a_forged_public_input_fails_under_the_wide_keys_mixed_window_table():
    """A key with more than 32 public inputs verifies through the fixed-base table with 8-bit windows on
    the two low bytes and 4-bit ones above (a zkML key's ~800 inputs). Small, negative (r - |v|) and
    full-width inputs verify; each one negated, moved by one, moved past the low bytes (+2^16) or swapped
    for its neighbour fails the pairing."""
    from ispc_core.zk.r1cs import CircuitBuilder
    from ispc_groth16.generator import generate_parameters
    from ispc_groth16.prover import create_proof, prepare_proving_key
    from ispc_groth16.verifier import prepare_verifying_key, verify_proof

    cb = CircuitBuilder("bn254")
    r = cb.r
    values = [(i * 977) % 60000 for i in range(14)] + [r - 1 - (i * 313) % 60000 for i in range(14)]
    values += [(1 << 200) + 12345 * i for i in range(12)] + [0, 1]
    wires = [cb.public_input(f"x{i}", v) for i, v in enumerate(values)]
    acc = cb.const(0)
    for i, w in enumerate(wires):
        acc = acc + cb.mul(w, w, f"sq{i}")
    out = cb.witness("sum", hint=lambda get: get(acc))
    cb.assert_equal(out, acc)
    r1cs, wit = cb.build()
    pk = generate_parameters(r1cs, "bn254")
    proof = create_proof(prepare_proving_key(pk), wit)
    pvk = prepare_verifying_key(pk.vk)
    assert pvk.ic_table is not None and pvk.ic_table.c == 4  # the mixed-window table is the one under test
    pub = r1cs.public_values(wit)
    assert verify_proof(pvk, proof, pub)
    for i, x in enumerate(pub):
        for forged in {(r - x) % r, (x + 1) % r, (x - 1) % r, (x + (1 << 16)) % r, pub[(i + 1) % len(pub)]} - {x}:
            bad = pub[:i] + [forged] + pub[i + 1 :]
            assert not verify_proof(pvk, proof, bad), (i, forged)
