"""File formats: round trips, malformed input, and interop with snarkjs / circomlibjs through Node."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ispc_core.zk.curves import get_backend
from ispc_core.zk.errors import FormatError, InvalidPoint, UnknownCurve
from ispc_core.zk.formats import (
    Groth16Proof,
    Groth16VerificationKey,
    groth16_proof_from_json,
    groth16_proof_to_json,
    groth16_vk_from_json,
    groth16_vk_to_json,
    public_from_json,
    public_to_json,
    read_r1cs,
    read_wtns,
    write_r1cs,
    write_wtns,
)
from ispc_core.zk.poseidon import poseidon_gadget
from ispc_core.zk.r1cs import CircuitBuilder

NODE_DIR = Path(__file__).resolve().parents[2] / "tools" / "node"
SNARKJS = NODE_DIR / "node_modules" / "snarkjs" / "build" / "cli.cjs"
@pytest.fixture
def needs_node_fixture():
    """Node.js is installed on every machine `make test` runs on; its absence is a failure."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the interop tests need Node.js (see README)")


needs_node = pytest.mark.usefixtures("needs_node_fixture")


def _circuit(curve="bn254"):
    cb = CircuitBuilder(curve)
    a = cb.private_input("a", 1)
    b = cb.private_input("b", 2)
    s = cb.public_input("s", 3)
    cb.constrain(a + b, 1, s, "sum")
    h = poseidon_gadget(cb, [a, b])
    out = cb.public_output("h", hint=lambda get: get(h))
    cb.assert_equal(out, h, "out")
    return cb.build()


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_r1cs_wtns_round_trip(curve):
    r1cs, w = _circuit(curve)
    r2 = read_r1cs(write_r1cs(r1cs))
    assert (r2.n_wires, r2.n_pub_out, r2.n_pub_in, r2.n_prv_in) == (r1cs.n_wires, 1, 1, 2)
    assert [(c.a, c.b, c.c) for c in r2.constraints] == [(c.a, c.b, c.c) for c in r1cs.constraints]
    assert r2.field == r1cs.field
    r2.check(w)
    f, w2 = read_wtns(write_wtns(r1cs.field, w))
    assert f == r1cs.field and w2 == w


def test_r1cs_malformed():
    data = write_r1cs(_circuit()[0])
    with pytest.raises(FormatError, match="magic"):
        read_r1cs(b"xxxx" + data[4:])
    with pytest.raises(FormatError, match="truncated"):
        read_r1cs(data[:-5])
    bad_prime = bytearray(data)
    bad_prime[12 + 12 + 4] ^= 1  # first byte of the prime in the header section
    with pytest.raises(FormatError, match="unknown field prime"):
        read_r1cs(bytes(bad_prime))
    with pytest.raises(FormatError, match="magic"):
        read_wtns(data)


def test_wtns_rejects_unreduced():
    r1cs, w = _circuit()
    with pytest.raises(FormatError, match="value 1"):
        write_wtns(r1cs.field, [1, r1cs.field.modulus])


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_snarkjs_json_round_trip(curve):
    be = get_backend(curve)
    g1, g2 = be.g1, be.g2
    proof = Groth16Proof(curve, g1.mul(g1.generator(), 3), g2.mul(g2.generator(), 5), g1.mul(g1.generator(), 7))
    js = json.loads(json.dumps(groth16_proof_to_json(proof)))
    assert js["curve"] == ("bn128" if curve == "bn254" else "bls12381")
    p2 = groth16_proof_from_json(js)
    assert g1.eq(p2.a, proof.a) and g2.eq(p2.b, proof.b) and g1.eq(p2.c, proof.c)
    vk = Groth16VerificationKey(curve, 2, g1.generator(), g2.generator(), g2.mul(g2.generator(), 2), g2.mul(g2.generator(), 3),
                                [g1.mul(g1.generator(), i + 1) for i in range(3)])
    vj = groth16_vk_to_json(vk)
    assert list(vj)[:7] == ["protocol", "curve", "nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2"]
    vk2 = groth16_vk_from_json(vj)
    assert vk2.n_public == 2 and all(g1.eq(a, b) for a, b in zip(vk2.ic, vk.ic))
    assert public_from_json(public_to_json([1, 2]), curve) == [1, 2]


def test_snarkjs_json_negative():
    be = get_backend("bn254")
    proof = Groth16Proof("bn254", be.g1.generator(), be.g2.generator(), be.g1.generator())
    js = groth16_proof_to_json(proof)
    bad = dict(js, pi_a=["1", "3", "1"])
    with pytest.raises(InvalidPoint, match="on the curve"):
        groth16_proof_from_json(bad)
    with pytest.raises(FormatError, match="protocol"):
        groth16_proof_from_json(dict(js, protocol="plonk"))
    with pytest.raises(UnknownCurve):
        groth16_proof_from_json(dict(js, curve="secp256k1"))
    with pytest.raises(FormatError, match="missing field 'pi_c'"):
        groth16_proof_from_json({k: v for k, v in js.items() if k != "pi_c"})
    vk = Groth16VerificationKey("bn254", 1, be.g1.generator(), be.g2.generator(), be.g2.generator(), be.g2.generator(), [be.g1.generator()] * 2)
    vj = groth16_vk_to_json(vk)
    with pytest.raises(FormatError, match="IC"):
        groth16_vk_from_json(dict(vj, nPublic=3))
    with pytest.raises(FormatError, match="alphabeta"):
        groth16_vk_from_json(dict(vj, vk_alphabeta_12=[["1"]]))
    with pytest.raises(FormatError, match="entry 0"):
        public_from_json([str(be.curve.r)], "bn128")


# ---------------------------------------------------------------- Node interop
def _node(*args, cwd=None):
    return subprocess.run(["node", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


@needs_node
@pytest.mark.parametrize("curve,snarkjs_curve", [("bn254", "bn-128"), ("bls12-381", "bls12-381")])
def test_snarkjs_accepts_r1cs_and_wtns(tmp_path, curve, snarkjs_curve):
    assert SNARKJS.exists(), "run `npm ci --prefix tools/node` first"
    r1cs, w = _circuit(curve)
    (tmp_path / "c.r1cs").write_bytes(write_r1cs(r1cs))
    (tmp_path / "w.wtns").write_bytes(write_wtns(r1cs.field, w))
    info = _node(SNARKJS, "r1cs", "info", tmp_path / "c.r1cs")
    assert info.returncode == 0, info.stderr
    assert f"Curve: {snarkjs_curve}" in info.stdout
    assert f"# of Constraints: {len(r1cs.constraints)}" in info.stdout
    assert "# of Private Inputs: 2" in info.stdout and "# of Outputs: 1" in info.stdout
    chk = _node(SNARKJS, "wtns", "check", tmp_path / "c.r1cs", tmp_path / "w.wtns")
    assert "WITNESS IS CORRECT" in chk.stdout, chk.stdout + chk.stderr
    bad = list(w)
    bad[1] = (bad[1] + 1) % r1cs.field.modulus
    (tmp_path / "bad.wtns").write_bytes(write_wtns(r1cs.field, bad))
    chk = _node(SNARKJS, "wtns", "check", tmp_path / "c.r1cs", tmp_path / "bad.wtns")
    assert "WITNESS IS CORRECT" not in chk.stdout


@needs_node
def test_snarkjs_exports_read_back(tmp_path):
    """snarkjs `wtns export json` of our .wtns equals our witness."""
    r1cs, w = _circuit()
    (tmp_path / "w.wtns").write_bytes(write_wtns(r1cs.field, w))
    res = _node(SNARKJS, "wtns", "export", "json", tmp_path / "w.wtns", tmp_path / "w.json")
    assert res.returncode == 0, res.stderr
    assert [int(x) for x in json.loads((tmp_path / "w.json").read_text())] == w


@needs_node
def test_poseidon_vectors_regenerate_identically():
    res = _node(NODE_DIR / "poseidon_vectors.mjs", cwd=NODE_DIR)
    assert res.returncode == 0, res.stderr
    committed = json.loads((Path(__file__).parent / "data" / "poseidon_bn254_vectors.json").read_text())
    assert json.loads(res.stdout) == committed
