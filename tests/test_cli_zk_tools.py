"""``ispc zk r1cs info | wtns check | export verificationkey | export calldata`` and ``zk setup``'s guard,
checked against snarkjs 0.7 (tools/node) on the same files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ispc_core.cli import main
from ispc_core.zk.formats import write_r1cs, write_wtns
from ispc_core.zk.r1cs import CircuitBuilder

SNARKJS = Path(__file__).resolve().parents[1] / "tools" / "node" / "node_modules" / ".bin" / "snarkjs"


@pytest.fixture(autouse=True)
def _snarkjs_installed():
    """snarkjs is installed by `make test` (npm ci --prefix tools/node); its absence is a failure."""
    if not SNARKJS.exists() or shutil.which("node") is None:
        pytest.fail("snarkjs is not installed: run `make test` (it runs npm ci --prefix tools/node)")


def snarkjs(*args) -> str:
    res = subprocess.run([str(SNARKJS), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(*args) -> str:
    res = cli(*args)
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stdout


def circuit(curve: str):
    """x public, y = x^5 + 3 private-ish chain, out public."""
    cb = CircuitBuilder(curve)
    x = cb.public_input("x", 3)
    t = x
    for i in range(4):
        t = cb.mul(t, x) + i
    out = cb.public_input("out", cb.get(t))
    cb.assert_equal(t, out, "out")
    return cb.build()


@pytest.fixture(scope="module", params=["bn254", "bls12-381"])
def groth16_files(request, tmp_path_factory):
    curve = request.param
    d = tmp_path_factory.mktemp(f"zktools-{curve}")
    r1cs, wit = circuit(curve)
    (d / "c.r1cs").write_bytes(write_r1cs(r1cs))
    (d / "c.wtns").write_bytes(write_wtns(r1cs.field, wit))
    home = d / "home"
    ok("--home", home, "zk", "setup", d / "c.r1cs", "-o", d / "keys")
    ok("--home", home, "zk", "prove", d / "keys", d / "c.wtns", "-o", d / "proof.json", "--public", d / "public.json")
    return d, r1cs, wit


def _snarkjs_info_lines(text: str) -> list[str]:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # snarkjs colours its log lines
    return [line.split("snarkJS: ", 1)[1] for line in plain.splitlines() if "snarkJS: " in line]


def test_r1cs_info_matches_snarkjs(groth16_files):
    d, r1cs, _ = groth16_files
    ours = ok("zk", "r1cs", "info", d / "c.r1cs").splitlines()
    assert ours == _snarkjs_info_lines(snarkjs("r1cs", "info", d / "c.r1cs"))
    data = json.loads(ok("zk", "r1cs", "info", d / "c.r1cs", "--json"))
    assert data["constraints"] == len(r1cs.constraints) and data["wires"] == r1cs.n_wires
    assert data["curve"] == r1cs.field.name and data["public_inputs"] == r1cs.n_pub_in


def test_wtns_check(groth16_files, tmp_path):
    d, r1cs, wit = groth16_files
    assert "satisfies all" in ok("zk", "wtns", "check", d / "c.r1cs", d / "c.wtns")
    snarkjs("wtns", "check", d / "c.r1cs", d / "c.wtns")  # snarkjs agrees
    bad = list(wit)
    bad[-1] = (bad[-1] + 1) % r1cs.field.modulus
    (tmp_path / "bad.wtns").write_bytes(write_wtns(r1cs.field, bad))
    res = cli("zk", "wtns", "check", d / "c.r1cs", tmp_path / "bad.wtns")
    assert res.exit_code == 1 and res.stderr.startswith("error: the witness does not satisfy the circuit: constraint ")
    assert res.stderr.count("\n") == 1
    short = wit[:-1]
    (tmp_path / "short.wtns").write_bytes(write_wtns(r1cs.field, short))
    res = cli("zk", "wtns", "check", d / "c.r1cs", tmp_path / "short.wtns")
    assert res.exit_code == 2 and "wires" in res.stderr
    (tmp_path / "junk.wtns").write_bytes(b"junk")
    assert cli("zk", "wtns", "check", d / "c.r1cs", tmp_path / "junk.wtns").exit_code == 2
    assert cli("zk", "wtns", "check", d / "c.r1cs", tmp_path / "missing.wtns").exit_code == 2


def test_export_verificationkey_matches_snarkjs(groth16_files, tmp_path):
    d, _, _ = groth16_files
    snarkjs("zkey", "export", "verificationkey", d / "keys" / "circuit.zkey", tmp_path / "theirs.json")
    theirs = json.loads((tmp_path / "theirs.json").read_text())
    ours = json.loads(ok("zk", "export", "verificationkey", d / "keys" / "circuit.zkey"))
    assert ours == theirs
    ok("zk", "export", "verificationkey", d / "keys" / "circuit.zkey", "-o", tmp_path / "vk.json")
    assert json.loads((tmp_path / "vk.json").read_text()) == theirs


def test_export_verificationkey_rejects_a_damaged_zkey(groth16_files, tmp_path):
    d, _, _ = groth16_files
    raw = bytearray((d / "keys" / "circuit.zkey").read_bytes())
    raw[len(raw) // 2] ^= 0x40
    (tmp_path / "bad.zkey").write_bytes(bytes(raw))
    res = cli("zk", "export", "verificationkey", tmp_path / "bad.zkey")
    assert res.exit_code == 2 and res.stderr.startswith("error: malformed input: ") and res.stderr.count("\n") == 1
    (tmp_path / "junk.zkey").write_bytes(b"zkey junk")
    assert cli("zk", "export", "verificationkey", tmp_path / "junk.zkey").exit_code == 2


def test_export_calldata_matches_snarkjs(groth16_files):
    d, _, _ = groth16_files
    ours = ok("zk", "export", "calldata", d / "public.json", d / "proof.json")
    assert ours == snarkjs("zkey", "export", "soliditycalldata", d / "public.json", d / "proof.json")


def test_export_calldata_rejects_malformed_documents(groth16_files, tmp_path):
    d, _, _ = groth16_files
    proof = json.loads((d / "proof.json").read_text())
    proof["pi_a"][1] = str(int(proof["pi_a"][1]) + 1)  # off the curve
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    res = cli("zk", "export", "calldata", d / "public.json", tmp_path / "proof.json")
    assert res.exit_code == 2 and res.stderr.startswith("error: malformed input: ")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    res = cli("zk", "export", "calldata", tmp_path / "deep.json", d / "proof.json")
    assert res.exit_code == 2 and "nested more than" in res.stderr
    (tmp_path / "plain.json").write_text(json.dumps({"protocol": "fflonk"}))
    assert cli("zk", "export", "calldata", d / "public.json", tmp_path / "plain.json").exit_code == 2


def test_zk_setup_refuses_to_overwrite_keys_and_warns(tmp_path):
    r1cs, _ = circuit("bn254")
    (tmp_path / "c.r1cs").write_bytes(write_r1cs(r1cs))
    home = tmp_path / "home"
    res = cli("--home", home, "zk", "setup", tmp_path / "c.r1cs", "-o", tmp_path / "keys")
    assert res.exit_code == 0, res.output
    assert "WARNING: single-party development setup" in res.stderr
    stages = [line for line in res.stderr.splitlines() if line.startswith("zk setup groth16: ")]
    assert len(stages) >= 3  # a line per stage without a TTY
    before = (tmp_path / "keys" / "circuit.zkey").read_bytes()
    res = cli("--home", home, "zk", "setup", tmp_path / "c.r1cs", "-o", tmp_path / "keys")
    assert res.exit_code == 1 and res.stderr.startswith("error: ") and "--force" in res.stderr
    assert (tmp_path / "keys" / "circuit.zkey").read_bytes() == before
    ok("--home", home, "zk", "setup", tmp_path / "c.r1cs", "-o", tmp_path / "keys", "--force")
    assert (tmp_path / "keys" / "circuit.zkey").read_bytes() != before


# --- PLONK ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plonk_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("zktools-plonk")
    r1cs, wit = circuit("bn254")
    (d / "c.r1cs").write_bytes(write_r1cs(r1cs))
    (d / "c.wtns").write_bytes(write_wtns(r1cs.field, wit))
    home = d / "home"
    ok("--home", home, "srs", "new", "--insecure", "--power", "6", "-o", d / "s.ptau")
    ok("--home", home, "zk", "setup", "--scheme", "plonk", d / "c.r1cs", "-o", d / "keys", "--ptau", d / "s.ptau")
    ok("--home", home, "zk", "prove", "--scheme", "plonk", d / "keys", d / "c.wtns", "-o", d / "proof.json", "--public", d / "public.json")
    return d


def test_plonk_export_verificationkey_and_calldata_match_snarkjs(plonk_files, tmp_path):
    d = plonk_files
    snarkjs("zkey", "export", "verificationkey", d / "keys" / "circuit.zkey", tmp_path / "theirs.json")
    assert json.loads(ok("zk", "export", "verificationkey", d / "keys" / "circuit.zkey")) == json.loads((tmp_path / "theirs.json").read_text())
    ours = ok("zk", "export", "calldata", d / "public.json", d / "proof.json")
    assert ours == snarkjs("zkey", "export", "soliditycalldata", d / "public.json", d / "proof.json")
