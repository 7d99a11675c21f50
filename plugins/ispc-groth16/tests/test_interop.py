"""Interop with snarkjs 0.7.6 (tools/node): proofs both ways, a ceremony .zkey imported and used, the zk CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.zk.formats import write_r1cs, write_wtns
from ispc_core.zk.r1cs import CircuitBuilder
from ispc_groth16.files import prove_files, verify_files
from ispc_groth16.plugin import Groth16Prover

SNARKJS = Path(__file__).resolve().parents[3] / "tools" / "node" / "node_modules" / ".bin" / "snarkjs"
@pytest.fixture(autouse=True)
def _snarkjs_installed():
    """snarkjs is installed by `make test` (npm ci --prefix tools/node); its absence is a failure."""
    if not SNARKJS.exists() or shutil.which("node") is None:
        pytest.fail("snarkjs is not installed: run `make test` (it runs npm ci --prefix tools/node)")


def snarkjs(*args, cwd=None) -> str:
    res = subprocess.run([str(SNARKJS), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def chain(curve, n=20):
    cb = CircuitBuilder(curve)
    x = cb.public_input("x", 3)
    t = x
    for i in range(n):
        t = cb.mul(t, t) + i
    out = cb.public_input("out", cb.get(t))
    cb.assert_equal(t, out, "out")
    return cb.build()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("interop")
    r1cs, wit = chain("bn254")
    (d / "c.r1cs").write_bytes(write_r1cs(r1cs))
    (d / "c.wtns").write_bytes(write_wtns(r1cs.field, wit))
    return d, r1cs, wit


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_our_proof_verifies_in_snarkjs_and_snarkjs_proof_verifies_here(files):
    d, r1cs, wit = files
    res = cli("zk", "setup", "--scheme", "groth16", d / "c.r1cs", "-o", d / "keys")
    assert res.exit_code == 0, res.output
    res = cli("zk", "prove", "--scheme", "groth16", d / "keys", d / "c.wtns", "-o", d / "proof.json", "--public", d / "public.json")
    assert res.exit_code == 0, res.output
    assert "OK" in snarkjs("groth16", "verify", d / "keys" / "verification_key.json", d / "public.json", d / "proof.json")
    # snarkjs proves with our key; we verify its proof
    snarkjs("groth16", "prove", d / "keys" / "circuit.zkey", d / "c.wtns", d / "sproof.json", d / "spublic.json")
    res = cli("zk", "verify", d / "keys" / "verification_key.json", d / "spublic.json", d / "sproof.json")
    assert res.exit_code == 0 and "valid" in res.output
    # invalid -> 1, malformed -> 2
    pub = json.loads((d / "spublic.json").read_text())
    (d / "bad_public.json").write_text(json.dumps([str(int(pub[0]) + 1), *pub[1:]]))
    res = cli("zk", "verify", d / "keys" / "verification_key.json", d / "bad_public.json", d / "sproof.json")
    assert res.exit_code == 1 and "invalid" in res.output
    (d / "junk.json").write_text('{"protocol": "groth16", "curve": "bn128", "pi_a": ["1", "3", "1"]}')
    res = cli("zk", "verify", d / "keys" / "verification_key.json", d / "spublic.json", d / "junk.json")
    assert res.exit_code == 2 and res.output.count("\n") == 1
    (d / "short.json").write_text(json.dumps(pub[:1]))
    assert cli("zk", "verify", d / "keys" / "verification_key.json", d / "short.json", d / "sproof.json").exit_code == 2
    # an unsatisfied witness names its constraint, writes nothing
    bad = list(wit)
    bad[2] += 1
    (d / "bad.wtns").write_bytes(write_wtns(r1cs.field, bad))
    res = cli("zk", "prove", d / "keys", d / "bad.wtns", "-o", d / "never.json", "--public", d / "never_pub.json")
    assert res.exit_code == 1 and "constraint" in res.output and not (d / "never.json").exists()


def test_a_snarkjs_ceremony_zkey_is_imported_and_proves(files, tmp_path):
    d, r1cs, wit = files
    w = tmp_path
    snarkjs("powersoftau", "new", "bn128", "6", w / "pot0.ptau")
    snarkjs("powersoftau", "contribute", w / "pot0.ptau", w / "pot1.ptau", "--name=first", "-e=some entropy")
    snarkjs("powersoftau", "prepare", "phase2", w / "pot1.ptau", w / "final.ptau")
    snarkjs("groth16", "setup", d / "c.r1cs", w / "final.ptau", w / "c0.zkey")
    snarkjs("zkey", "contribute", w / "c0.zkey", w / "c1.zkey", "--name=second", "-e=more entropy")
    snarkjs("zkey", "export", "verificationkey", w / "c1.zkey", w / "vk.json")
    # the zkey as is: prove here, verify with snarkjs and here
    proof, public = prove_files(w / "c1.zkey", d / "c.wtns")
    (w / "p.json").write_text(json.dumps(proof))
    (w / "pub.json").write_text(json.dumps(public))
    assert "OK" in snarkjs("groth16", "verify", w / "vk.json", w / "pub.json", w / "p.json")
    assert verify_files(json.loads((w / "vk.json").read_text()), public, proof)
    # imported into a node key store for a circuit id: the prover uses it
    prover = Groth16Prover(w / "zkkeys")
    h = prover.import_zkey(w / "c1.zkey", "chain/20", r1cs=r1cs)

    class Inst:
        circuit_id, version, curve = "chain/20", "v1", "bn254"

    inst = Inst()
    inst.r1cs, inst.witness, inst.public_inputs = r1cs, tuple(wit), tuple(wit[1:3])
    art = prover.prove(inst, "bn254")
    assert art.verification_key_hash == h and prover.verify(art)
    # the verification_key.json the key store writes for it is snarkjs' own export, vk_alphabeta_12 included
    stored = json.loads((prover.keystore.key_dir("chain/20", "bn254") / "verification_key.json").read_text())
    assert stored == json.loads((w / "vk.json").read_text())
    # a zkey for another circuit is refused at import
    r2, _ = chain("bn254", n=21)
    from ispc_core.zk.errors import FormatError

    with pytest.raises(FormatError):
        prover.import_zkey(w / "c1.zkey", "chain/21", r1cs=r2)


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_vk_alphabeta_12_equals_the_snarkjs_export_of_the_same_zkey(curve, tmp_path):
    r1cs, _ = chain(curve, n=4)
    (tmp_path / "c.r1cs").write_bytes(write_r1cs(r1cs))
    res = cli("zk", "setup", "--scheme", "groth16", tmp_path / "c.r1cs", "-o", tmp_path / "keys")
    assert res.exit_code == 0, res.output
    ours = json.loads((tmp_path / "keys" / "verification_key.json").read_text())
    snarkjs("zkey", "export", "verificationkey", tmp_path / "keys" / "circuit.zkey", tmp_path / "sj_vk.json")
    theirs = json.loads((tmp_path / "sj_vk.json").read_text())
    assert ours["vk_alphabeta_12"] == theirs["vk_alphabeta_12"]
    assert ours == theirs  # every field, in snarkjs' layout
    assert list(ours) == list(theirs)  # and in its order
