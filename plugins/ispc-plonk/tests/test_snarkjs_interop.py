"""Interop with snarkjs 0.7.6 (its CLI on the same .r1cs, .wtns and .ptau): keys, proofs, zkeys, both ways."""

from __future__ import annotations

import json
import subprocess

import pytest

from ispc_core.zk.formats import write_r1cs, write_wtns
from ispc_core.zk.formats.plonk_json import plonk_proof_from_json, plonk_proof_to_json, plonk_vk_to_json
from ispc_plonk.prover import prove
from ispc_plonk.scheme import PlonkProver
from ispc_plonk.verifier import verify
from ispc_plonk.zkey import read_zkey, write_zkey

from .conftest import CURVES


def _sj(node_bin, cwd, *args):
    p = subprocess.run(node_bin + list(args), cwd=cwd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


@pytest.fixture(scope="module", params=CURVES)
def sjdir(request, tmp_path_factory, keys, ptau_files, srs, node_bin):
    curve = request.param
    d = tmp_path_factory.mktemp(f"sj-{curve}")
    r1cs, wit, pk = keys[curve]
    (d / "c.r1cs").write_bytes(write_r1cs(r1cs))
    (d / "c.wtns").write_bytes(write_wtns(r1cs.field, wit))
    (d / "pot.ptau").write_bytes(ptau_files[curve].read_bytes())
    (d / "ours.zkey").write_bytes(write_zkey(pk, srs[curve]))
    (d / "ours_vk.json").write_text(json.dumps(plonk_vk_to_json(pk.vk)))
    rc, out = _sj(node_bin, d, "plonk", "setup", "c.r1cs", "pot.ptau", "sj.zkey")
    assert rc == 0, out
    rc, out = _sj(node_bin, d, "zkey", "export", "verificationkey", "sj.zkey", "sj_vk.json")
    assert rc == 0, out
    return curve, d


def test_same_verification_key_and_zkey(sjdir, keys):
    curve, d = sjdir
    assert json.loads((d / "sj_vk.json").read_text()) == plonk_vk_to_json(keys[curve][2].vk)
    assert (d / "sj.zkey").read_bytes() == (d / "ours.zkey").read_bytes()


def test_snarkjs_proof_verifies_here(sjdir, keys, node_bin):
    curve, d = sjdir
    rc, out = _sj(node_bin, d, "plonk", "prove", "sj.zkey", "c.wtns", "sj_proof.json", "sj_public.json")
    assert rc == 0, out
    proof = plonk_proof_from_json(json.loads((d / "sj_proof.json").read_text()))
    public = [int(v) for v in json.loads((d / "sj_public.json").read_text())]
    assert verify(keys[curve][2].vk, proof, public)
    # and through the file interface of `ispc zk verify`
    prover = PlonkProver(d / "ks")
    vk_json = json.loads((d / "sj_vk.json").read_text())
    pj = json.loads((d / "sj_proof.json").read_text())
    assert prover.verify_files(vk_json, json.loads((d / "sj_public.json").read_text()), pj)
    pj["eval_a"] = str((int(pj["eval_a"]) + 1))
    assert not prover.verify_files(vk_json, json.loads((d / "sj_public.json").read_text()), pj)


def test_our_proof_verifies_with_snarkjs(sjdir, keys, node_bin):
    curve, d = sjdir
    _, wit, pk = keys[curve]
    proof, public = prove(pk, wit)
    (d / "our_proof.json").write_text(json.dumps(plonk_proof_to_json(proof)))
    (d / "our_public.json").write_text(json.dumps([str(v) for v in public]))
    rc, out = _sj(node_bin, d, "plonk", "verify", "sj_vk.json", "our_public.json", "our_proof.json")
    assert rc == 0 and "OK" in out, out
    bad = [str(public[0] + 1)] + [str(v) for v in public[1:]]
    (d / "bad_public.json").write_text(json.dumps(bad))
    rc, out = _sj(node_bin, d, "plonk", "verify", "sj_vk.json", "bad_public.json", "our_proof.json")
    assert rc != 0 and "Invalid" in out


def test_zkeys_cross(sjdir, keys, node_bin):
    curve, d = sjdir
    _, wit, pk = keys[curve]
    # snarkjs proves with the zkey written here
    rc, out = _sj(node_bin, d, "plonk", "prove", "ours.zkey", "c.wtns", "p2.json", "pub2.json")
    assert rc == 0, out
    assert verify(pk.vk, plonk_proof_from_json(json.loads((d / "p2.json").read_text())),
                  [int(v) for v in json.loads((d / "pub2.json").read_text())])
    # we prove with the zkey snarkjs wrote, through `ispc zk prove`'s interface
    proof_json, public_json = PlonkProver(d / "ks").prove_files(d / "sj.zkey", d / "c.wtns")
    (d / "p3.json").write_text(json.dumps(proof_json))
    (d / "pub3.json").write_text(json.dumps(public_json))
    rc, out = _sj(node_bin, d, "plonk", "verify", "sj_vk.json", "pub3.json", "p3.json")
    assert rc == 0 and "OK" in out, out
    assert read_zkey(d / "sj.zkey").vk.points == pk.vk.points


def test_setup_files_matches_snarkjs(sjdir, keys):
    curve, d = sjdir
    info = PlonkProver(d / "ks").setup_files(d / "c.r1cs", d / "ours_setup", ptau=d / "pot.ptau")
    assert json.loads((d / "ours_setup" / "verification_key.json").read_text()) == json.loads((d / "sj_vk.json").read_text())
    assert (d / "ours_setup" / "circuit.zkey").read_bytes() == (d / "sj.zkey").read_bytes()
    assert info["curve"] == curve and info["domain_size"] == keys[curve][2].n
