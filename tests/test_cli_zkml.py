"""``ispc zkml compile | setup | prove | verify`` on the example MLP, through click's CliRunner: the round trip,
the exit codes of ``ispc zk verify`` (0 valid, 1 invalid, 2 malformed), one ``error:`` line for bad input,
and nothing written on failure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from ispc_core.cli import main
import ispc_zkml  # noqa: F401  (installed by `make install`; these tests must not skip without it)

EXAMPLES = Path(__file__).resolve().parents[1] / "plugins" / "ispc-onnx" / "examples"
MLP, MLP_INPUT = EXAMPLES / "mlp.onnx", EXAMPLES / "mlp_input.json"


def cli(tmp_path, *args):
    return CliRunner().invoke(main, ["--home", str(tmp_path / "home"), *map(str, args)])


def ok(tmp_path, *args):
    res = cli(tmp_path, *args)
    assert res.exit_code == 0, (res.output, res.exception)
    return res


def error_line(res) -> str:
    lines = [l for l in res.stderr.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The MLP compiled and set up (Groth16), and a proof of its example input."""
    t = tmp_path_factory.mktemp("cli-zkml")
    ok(t, "zkml", "compile", MLP, "-o", t / "mlp.zk")
    res = ok(t, "zkml", "setup", t / "mlp.zk")
    assert "WARNING: single-party development setup" in res.stderr
    ok(t, "zkml", "prove", t / "mlp.zk", MLP_INPUT, "-o", t / "proof.json")
    return t


def test_round_trip_prints_the_proven_outputs(work):
    res = ok(work, "zkml", "verify", work / "mlp.zk", work / "proof.json")
    lines = res.stdout.splitlines()
    assert lines[0] == "valid" and lines[1].startswith("y = [[")
    proven = json.loads(lines[1][4:])
    doc = json.loads((work / "proof.json").read_text())
    assert proven == doc["outputs"]["y"]
    j = json.loads(ok(work, "zkml", "verify", work / "mlp.zk", work / "proof.json", "--json").stdout)
    assert j["valid"] is True and j["outputs"] == doc["outputs"] and j["scheme"] == "groth16"


def test_json_shapes(work, tmp_path):
    j = json.loads(ok(tmp_path, "zkml", "compile", MLP, "-o", tmp_path / "m.zk", "--scale", "8", "--json").stdout)
    assert j["scale"] == 8 and j["constraints"] == 369 and j["circuit_id"].startswith("onnx_inference.v1/")
    assert {"model_sha256", "curve", "public_inputs", "error_bound_max", "inputs", "outputs", "dir"} <= set(j)
    s = json.loads(ok(tmp_path, "zkml", "setup", tmp_path / "m.zk", "--json").stdout)
    assert s["scheme"] == "groth16" and len(s["verification_key_hash"]) == 64 and Path(s["verification_key"]).is_file()
    p = json.loads(ok(tmp_path, "zkml", "prove", tmp_path / "m.zk", MLP_INPUT, "-o", tmp_path / "p.json", "--json").stdout)
    assert p["scheme"] == "groth16" and p["proof_bytes"] > 0 and set(p["timings"]) == {"compile", "witness", "keys", "prove"}


def test_a_tampered_proof_is_invalid_exit_1(work):
    doc = json.loads((work / "proof.json").read_text())
    doc["outputs"]["y"][0][0] += 1.0
    (work / "t1.json").write_text(json.dumps(doc))
    res = cli(work, "zkml", "verify", work / "mlp.zk", work / "t1.json")
    assert res.exit_code == 1 and res.stdout.startswith("invalid: the outputs written")
    doc = json.loads((work / "proof.json").read_text())
    doc["public_inputs"][2] = str(int(doc["public_inputs"][2]) + 1)
    (work / "t2.json").write_text(json.dumps(doc))
    res = cli(work, "zkml", "verify", work / "mlp.zk", work / "t2.json", "--json")
    assert res.exit_code == 1 and json.loads(res.stdout)["valid"] is False


def test_a_proof_for_another_model_is_invalid_exit_1(work):
    import onnx

    proto = onnx.load(str(MLP))
    for t in proto.graph.initializer:
        if t.name == "b":
            t.CopyFrom(numpy_helper.from_array((numpy_helper.to_array(t) + 0.5).astype(np.float32), "b"))
    onnx.save(proto, str(work / "b.onnx"))
    ok(work, "zkml", "compile", work / "b.onnx", "-o", work / "b.zk")
    ok(work, "zkml", "setup", work / "b.zk")
    res = cli(work, "zkml", "verify", work / "b.zk", work / "proof.json")
    assert res.exit_code == 1 and "is for circuit" in res.stdout


def test_malformed_proof_exit_2(work):
    (work / "bad.json").write_text("{")
    res = cli(work, "zkml", "verify", work / "mlp.zk", work / "bad.json")
    assert res.exit_code == 2 and "not a readable JSON document" in error_line(res)
    doc = json.loads((work / "proof.json").read_text())
    doc["proof"] = doc["proof"][:-4]
    (work / "short.json").write_text(json.dumps(doc))
    res = cli(work, "zkml", "verify", work / "mlp.zk", work / "short.json")
    assert res.exit_code == 2 and "malformed proof" in error_line(res)
    res = cli(work, "zkml", "verify", work / "mlp.zk", work / "missing.json")
    assert res.exit_code == 2 and "no such file" in error_line(res)


def test_bad_input_exit_2_with_a_message_and_nothing_written(work):
    (work / "far.json").write_text(json.dumps({"inputs": {"x": [[2.0] * 16]}}))
    res = cli(work, "zkml", "prove", work / "mlp.zk", work / "far.json", "-o", work / "never.json")
    assert res.exit_code == 2 and "outside the declared range" in error_line(res) and "Traceback" not in res.output
    assert not (work / "never.json").exists()
    (work / "short-in.json").write_text(json.dumps({"x": [0.5] * 3}))
    res = cli(work, "zkml", "prove", work / "mlp.zk", work / "short-in.json", "-o", work / "never.json")
    assert res.exit_code == 2 and "has shape" in error_line(res)
    assert not (work / "never.json").exists()


def test_compile_errors_exit_2_and_write_nothing(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    res = cli(tmp_path, "zkml", "compile", tmp_path / "junk.onnx", "-o", tmp_path / "j.zk")
    assert res.exit_code == 2 and "not a valid ONNX model" in error_line(res)
    res = cli(tmp_path, "zkml", "compile", MLP, "-o", tmp_path / "n.zk", "--input-range", "0")
    assert res.exit_code == 2 and "declared range" in error_line(res)
    res = cli(tmp_path, "zkml", "compile", tmp_path / "missing.onnx", "-o", tmp_path / "m.zk")
    assert res.exit_code == 2 and "cannot read the model" in error_line(res)
    assert not any(tmp_path.glob("*.zk"))


def test_existing_directory_exit_1_unless_force(work, tmp_path):
    ok(tmp_path, "zkml", "compile", MLP, "-o", tmp_path / "d.zk")
    res = cli(tmp_path, "zkml", "compile", MLP, "-o", tmp_path / "d.zk")
    assert res.exit_code == 1 and "--force" in error_line(res)
    ok(tmp_path, "zkml", "compile", MLP, "-o", tmp_path / "d.zk", "--force", "--scale", "10")
    assert json.loads((tmp_path / "d.zk" / "settings.json").read_text())["scale"] == 10


def test_prove_without_keys_exit_2(tmp_path):
    ok(tmp_path, "zkml", "compile", MLP, "-o", tmp_path / "k.zk")
    res = cli(tmp_path, "zkml", "prove", tmp_path / "k.zk", MLP_INPUT, "-o", tmp_path / "p.json")
    assert res.exit_code == 2 and "zkml setup" in error_line(res)
    res = cli(tmp_path, "zkml", "setup", tmp_path / "k.zk", "--scheme", "plonk", "--ptau", tmp_path / "none.ptau")
    assert res.exit_code == 2 and "no such file" in error_line(res)
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "k.zk" / "keys.json").exists()


def test_plonk_through_the_cli(tmp_path):
    ok(tmp_path, "srs", "new", "--insecure", "--power", "11", "--no-lagrange", "-o", tmp_path / "dev.ptau")
    ok(tmp_path, "zkml", "compile", MLP, "-o", tmp_path / "p.zk")
    ok(tmp_path, "zkml", "setup", tmp_path / "p.zk", "--scheme", "plonk", "--ptau", tmp_path / "dev.ptau")
    ok(tmp_path, "zkml", "prove", tmp_path / "p.zk", MLP_INPUT, "-o", tmp_path / "proof.json")
    res = ok(tmp_path, "zkml", "verify", tmp_path / "p.zk", tmp_path / "proof.json")
    assert res.stdout.startswith("valid\ny = ")


def test_committed_inputs_and_weights_through_the_cli(tmp_path):
    ok(tmp_path, "zkml", "compile", MLP, "-o", tmp_path / "c.zk", "--input-visibility", "committed", "--weights", "committed", "--weight-salt", "11")
    assert json.loads((tmp_path / "c.zk" / "secrets.json").read_text()) == {"weight_salt": "11"}
    ok(tmp_path, "zkml", "setup", tmp_path / "c.zk")
    p = json.loads(ok(tmp_path, "zkml", "prove", tmp_path / "c.zk", MLP_INPUT, "-o", tmp_path / "p.json", "--input-salt", "5", "--json").stdout)
    assert p["input_salt"] == "5" and p["input_commitment"]
    res = ok(tmp_path, "zkml", "verify", tmp_path / "c.zk", tmp_path / "p.json")
    assert res.stdout.startswith("valid\n") and f"input commitment {p['input_commitment']}" in res.stdout
    res = cli(tmp_path, "zkml", "prove", tmp_path / "c.zk", MLP_INPUT, "-o", tmp_path / "q.json", "--input-salt", "x1")
    assert res.exit_code == 2 and "--input-salt" in error_line(res) and not (tmp_path / "q.json").exists()
