"""The node-facing prover: SRS from configuration, key store, artifacts, re-derivation on a second node, CLI."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import attrs
import pytest
from click.testing import CliRunner

from ispc_core.specs import ProverServices
from ispc_core.zk.errors import ConstraintUnsatisfied, FormatError
from ispc_plonk import scheme
from ispc_plonk.plugin import ispc_provers, make_prover
from ispc_plonk.scheme import PlonkProver, SRSNotFound

from .conftest import sample_circuit


def _instance(curve, **kw):
    r1cs, wit = sample_circuit(curve, **kw)
    return SimpleNamespace(circuit_id="sample.v1/1", version="v1", curve=curve, r1cs=r1cs, witness=tuple(wit),
                           public_inputs=tuple(r1cs.public_values(wit)))


def test_hook_and_entry_point():
    from importlib.metadata import entry_points

    (spec,) = ispc_provers()
    assert spec.name == "plonk" and spec.curves == ("bn254", "bls12-381")
    assert any(ep.name == "plonk" and ep.value == "ispc_plonk.plugin" for ep in entry_points(group="ispc"))


def test_missing_srs_names_the_command(tmp_path):
    p = PlonkProver(tmp_path / "zkkeys")
    with pytest.raises(SRSNotFound, match=r"ispc srs new --insecure --curve bn254 --power \d+") as exc:
        p.prove(_instance("bn254"), "bn254")
    assert "ispc srs import" in str(exc.value)
    assert not (tmp_path / "zkkeys" / "srs.ptau").exists()  # never made silently


def test_config_ptau_setting(tmp_path, ptau_files):
    from ispc_core.config import load_config

    shutil.copy(ptau_files["bn254"], tmp_path / "my.ptau")
    cfg = load_config(tmp_path, overrides={"proof.scheme": "plonk"}, environ={})
    cfg = attrs.evolve(cfg, plugin={"plonk": {"ptau": "my.ptau"}})
    prover = make_prover(ProverServices(home=tmp_path, config=cfg, keystore_dir=tmp_path / "zkkeys"))
    assert prover.ptau_path == tmp_path / "my.ptau"
    assert prover.srs("bn254").power == 7


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_prove_verify_artifact_and_second_node(curve, tmp_path, ptau_files, monkeypatch):
    ks1, ks2 = tmp_path / "a" / "zkkeys", tmp_path / "b" / "zkkeys"
    for ks in (ks1, ks2):
        ks.mkdir(parents=True)
        shutil.copy(ptau_files[curve], ks / "srs.ptau")
    inst = _instance(curve)
    node1 = PlonkProver(ks1, curve=curve)
    art = node1.prove(inst, curve)
    assert art.proving_scheme == "plonk" and art.curve == curve and art.public_inputs == inst.public_inputs
    assert node1.verify(art) and node1.has_verification_key(art.verification_key_hash)
    assert (ks1 / "plonk" / curve / "sample.v1-1" / "proving_key.ispc-zkey").exists()
    # tampering
    assert not node1.verify(attrs.evolve(art, public_inputs=(art.public_inputs[0] + 1,) + art.public_inputs[1:]))
    assert not node1.verify(attrs.evolve(art, verification_key_hash=bytes(32)))
    assert not node1.verify(attrs.evolve(art, proving_scheme="groth16"))
    flipped = bytearray(art.proof)
    flipped[-1] ^= 1
    assert not node1.verify(attrs.evolve(art, proof=bytes(flipped)))
    with pytest.raises(FormatError):
        node1.verify(attrs.evolve(art, proof=art.proof[:-1]))
    # a second node sharing only the SRS and the circuit definition derives the same key
    monkeypatch.setattr(
        scheme, "CIRCUIT_RESOLVERS",
        [(lambda: ["sample.v1/1"], lambda cid, c: sample_circuit(c)[0] if cid == "sample.v1/1" else None)],
    )
    node2 = PlonkProver(ks2, curve=curve)
    assert not (ks2 / "plonk").exists()
    # an unknown hash is rejected at once: verification never derives keys
    assert not node2.has_verification_key(art.verification_key_hash) and not node2.verify(art)
    assert not (ks2 / "plonk").exists()
    assert node2.derive_known_keys(curve) == ["sample.v1/1"]  # ahead of time, on purpose
    assert node2.has_verification_key(art.verification_key_hash)
    assert node2.verify(art)
    # a reloaded prover finds the stored proving key instead of deriving it again
    node3 = PlonkProver(ks1, curve=curve)
    art2 = node3.prove(inst, curve)
    assert art2.verification_key_hash == art.verification_key_hash and node3.verify(art2)


def test_unknown_key_without_circuit_is_refused(tmp_path, ptau_files, monkeypatch):
    ks = tmp_path / "zkkeys"
    ks.mkdir()
    shutil.copy(ptau_files["bn254"], ks / "srs.ptau")
    monkeypatch.setattr(scheme, "CIRCUIT_RESOLVERS", [])
    art = PlonkProver(ks, curve="bn254").prove(_instance("bn254"), "bn254")
    fresh = PlonkProver(tmp_path / "fresh", curve="bn254")
    assert not fresh.has_verification_key(art.verification_key_hash)
    assert not fresh.verify(art)


def test_unsatisfied_instance_names_the_constraint(tmp_path, ptau_files):
    ks = tmp_path / "zkkeys"
    ks.mkdir()
    shutil.copy(ptau_files["bn254"], ks / "srs.ptau")
    inst = _instance("bn254")
    w = list(inst.witness)
    w[2] = (w[2] + 1)  # the public input x: breaks the first square
    bad = SimpleNamespace(**{**vars(inst), "witness": tuple(w)})
    with pytest.raises(ConstraintUnsatisfied) as exc:
        PlonkProver(ks).prove(bad, "bn254")
    assert exc.value.index >= 0


def test_cli_srs(tmp_path, ptau_files):
    from ispc_core.cli import main

    home = tmp_path / "home"
    run = CliRunner().invoke
    res = run(main, ["--home", str(home), "srs", "new", "--power", "4", "--curve", "bn254"])
    assert res.exit_code != 0 and "--insecure" in res.output
    res = run(main, ["--home", str(home), "srs", "new", "--insecure", "--power", "4", "--curve", "bn254"])
    assert res.exit_code == 0, res.output
    assert "INSECURE" in res.output and (home / "zkkeys" / "srs.ptau").exists()
    res = run(main, ["--home", str(home), "srs", "new", "--insecure", "--power", "4", "--curve", "bn254"])
    assert res.exit_code != 0 and "--force" in res.output
    trunc = tmp_path / "t.ptau"
    trunc.write_bytes(ptau_files["bn254"].read_bytes()[:5000])
    res = run(main, ["--home", str(home), "srs", "import", str(trunc), "-o", str(tmp_path / "x.ptau")])
    assert res.exit_code != 0 and "section 2 (tauG1)" in res.output and not (tmp_path / "x.ptau").exists()
    res = run(main, ["--home", str(home), "srs", "import", str(ptau_files["bls12-381"]), "-o", str(tmp_path / "y.ptau")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "y.ptau").read_bytes() == ptau_files["bls12-381"].read_bytes()


def test_key_store_zkey_leaves_out_the_lagrange_section_and_loads_without_deriving(tmp_path, ptau_files, keys, srs, monkeypatch):
    """The stored key is the snarkjs container without section 13 (which grows as public inputs x domain);
    a restarted prover reads it — and a key store of an earlier version, holding a whole zkey under the
    old name — without deriving again."""
    from ispc_core.zk.formats.binfile import read_binfile
    from ispc_plonk.zkey import read_zkey, write_zkey

    _, _, pk = keys["bn254"]
    full, short = write_zkey(pk, srs["bn254"]), write_zkey(pk, srs["bn254"], lagrange=False)
    assert 13 in read_binfile(full, b"zkey", 1)[1] and 13 not in read_binfile(short, b"zkey", 1)[1]
    assert len(full) - len(short) == max(pk.n_public, 1) * 5 * pk.n * 32 + 12  # the section and its header
    a, b = read_zkey(full), read_zkey(short)
    assert a.vk == b.vk and all((a.coefs[k] == b.coefs[k]).all() for k in a.coefs)

    ks = tmp_path / "zkkeys"
    ks.mkdir()
    shutil.copy(ptau_files["bn254"], ks / "srs.ptau")
    inst = _instance("bn254")
    art = PlonkProver(ks, curve="bn254").prove(inst, "bn254")
    d = ks / "plonk" / "bn254" / "sample.v1-1"
    assert read_binfile((d / scheme.STORED_PK).read_bytes(), b"zkey", 1)[1].keys() == read_binfile(short, b"zkey", 1)[1].keys()
    assert not (d / scheme.LEGACY_PK).exists()

    def no_derive(*a, **k):
        raise AssertionError("the stored key was derived again")

    monkeypatch.setattr(scheme, "derive_keys", no_derive)
    again = PlonkProver(ks, curve="bn254").prove(inst, "bn254")
    assert again.verification_key_hash == art.verification_key_hash
    # an earlier version's store: the whole snarkjs zkey as proving_key.zkey
    (d / scheme.STORED_PK).unlink()
    (d / scheme.LEGACY_PK).write_bytes(write_zkey(read_zkey(short), srs["bn254"]))
    legacy = PlonkProver(ks, curve="bn254").prove(inst, "bn254")
    assert legacy.verification_key_hash == art.verification_key_hash and PlonkProver(ks).verify(legacy)


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_a_zero_public_input_forged_through_the_prover_api_is_rejected(curve, tmp_path, ptau_files):
    """The verifier leaves zero public inputs out of PI(xi)'s sum: an artifact whose zero input is changed
    (to 1, to r - 1) or whose nonzero input is zeroed must still fail PlonkProver.verify."""
    from ispc_core.zk.fields import get_field

    ks = tmp_path / "zkkeys"
    ks.mkdir()
    shutil.copy(ptau_files[curve], ks / "srs.ptau")
    prover = PlonkProver(ks, curve=curve)
    art = prover.prove(_instance(curve, x0=0), curve)
    assert prover.verify(art) and 0 in art.public_inputs
    r = get_field(curve).modulus
    pub = list(art.public_inputs)
    for i, x in enumerate(pub):
        for forged in ({1, r - 1} if x == 0 else {0}):
            bad = pub[:i] + [forged] + pub[i + 1 :]
            assert not prover.verify(attrs.evolve(art, public_inputs=tuple(bad))), (i, forged)
