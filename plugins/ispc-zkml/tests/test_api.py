"""The four-step API (:mod:`ispc_zkml.api`) on the example MLP: compile, setup, prove, verify with Groth16 and
PLONK; a proof is refused by another model's directory, after any tampering, and for inputs outside the
declared range; bad input is a typed error and writes nothing."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from onnx import helper, numpy_helper

from ispc_core.commitment import split128
from ispc_core.errors import RequestError
from ispc_core.zk.formats import read_r1cs
from ispc_zkml import InputError, ModelError, UnsupportedOperator, api, compile_model, load_model
from ispc_zkml.api import ArtifactError
from ispc_zkml.testing import make_model

EXAMPLES = Path(__file__).resolve().parents[2] / "ispc-onnx" / "examples"

MLP = EXAMPLES / "mlp.onnx"
MLP_INPUT = EXAMPLES / "mlp_input.json"


def _doc(path) -> dict:
    return json.loads(path.read_text())


def _write(path, doc) -> object:
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def mlp_dir(work):
    """The MLP compiled and set up for Groth16."""
    d = work / "mlp.zk"
    api.compile(MLP, d)
    api.setup(d)
    return d


@pytest.fixture(scope="module")
def proof(mlp_dir, work):
    res = api.prove(mlp_dir, MLP_INPUT, work / "proof.json")
    return res


@pytest.fixture(scope="module")
def model_b(mlp_bytes, work):
    """Another model of the same shape (other weights), compiled and set up in its own directory."""
    proto, _ = load_model(mlp_bytes)
    for t in proto.graph.initializer:
        if t.name == "W":
            t.CopyFrom(numpy_helper.from_array((numpy_helper.to_array(t)[::-1] * 0.9).astype(np.float32), "W"))
    path = work / "mlp_b.onnx"
    path.write_bytes(proto.SerializeToString())
    d = work / "mlp_b.zk"
    api.compile(path, d)
    api.setup(d)
    return d


def test_compile_writes_model_settings_and_r1cs(mlp_dir, mlp_bytes):
    cm = compile_model(mlp_bytes)
    s = _doc(mlp_dir / "settings.json")
    assert (mlp_dir / "model.onnx").read_bytes() == mlp_bytes
    assert s["circuit_id"] == cm.circuit_id and s["model_sha256"] == hashlib.sha256(mlp_bytes).hexdigest()
    assert s["scale"] == 16 and s["curve"] == "bn254" and s["compile_params"] == cm.params
    assert s["constraints"] == cm.constraint_count == 625 and s["public_inputs"] == 26
    assert s["inputs"] == [{"name": "x", "shape": [1, 16], "range": 1.0, "scale": 16}]
    assert s["outputs"][0]["name"] == "y" and s["outputs"][0]["shape"] == [1, 8] and s["outputs"][0]["scale"] == 16
    assert s["error_bound_max"] == pytest.approx(float(cm.error_bound["y"].max()))
    assert [l["node"] for l in s["layers"]] == [l.node for l in cm.layers]
    assert sum(l["constraints"] for l in s["layers"]) == 625
    raw = (mlp_dir / "model.r1cs").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == s["r1cs_sha256"]
    r1cs = read_r1cs(raw)
    assert len(r1cs.constraints) == 625 and r1cs.n_public == 26
    keys = _doc(mlp_dir / "keys.json")
    assert set(keys) == {"groth16"} and (mlp_dir / keys["groth16"]["verification_key"]).is_file()


def test_groth16_round_trip(mlp_dir, proof, mlp_bytes, mlp_input):
    cm = compile_model(mlp_bytes)
    want = cm.run({"x": mlp_input})["y"]
    np.testing.assert_array_equal(proof.outputs["y"], want)
    d = proof.document
    assert d["circuit_id"] == cm.circuit_id and d["scheme"] == "groth16" and d["curve"] == "bn254"
    assert np.array_equal(np.array(d["outputs"]["y"]), want)
    assert [int(v) for v in d["public_inputs"]] == list(cm.public_inputs(cm.quantize_inputs({"x": mlp_input}), cm.instance({"x": mlp_input}).outputs))
    assert set(proof.timings) == {"compile", "witness", "keys", "prove"}
    v = api.verify(mlp_dir, proof.path)
    assert v and v.valid and v.reason == "valid" and v.scheme == "groth16"
    np.testing.assert_array_equal(v.outputs["y"], want)
    assert api.verify(mlp_dir, d).valid  # a parsed document works as well


def test_plonk_round_trip_with_a_development_srs(work, mlp_input, mlp_bytes):
    from ispc_core.zk.formats.ptau import generate_insecure_ptau

    d = work / "mlp-plonk.zk"
    api.compile(MLP, d)
    ptau = work / "dev11.ptau"
    ptau.write_bytes(generate_insecure_ptau("bn254", 11, lagrange=False))
    res = api.setup(d, scheme="plonk", ptau=ptau)
    assert res.scheme == "plonk" and res.verification_key.is_file() and (d / "keys" / "srs.ptau").is_file()
    api.setup(d)  # groth16 too: prove must then be told which
    with pytest.raises(InputError, match="choose the scheme"):
        api.prove(d, {"x": mlp_input}, work / "p.json")
    assert not (work / "p.json").exists()
    pr = api.prove(d, {"x": mlp_input}, work / "proof-plonk.json", scheme="plonk")
    assert pr.document["scheme"] == "plonk"
    v = api.verify(d, pr.path)
    assert v.valid and v.scheme == "plonk"
    np.testing.assert_array_equal(v.outputs["y"], compile_model(mlp_bytes).run({"x": mlp_input})["y"])
    # a groth16 proof of the same directory verifies as well, each under its own key
    assert api.verify(d, api.prove(d, {"x": mlp_input}, work / "proof-g.json", scheme="groth16").path).valid
    # the proof names the plonk key; relabelled as groth16 it is refused
    doc = _doc(pr.path)
    doc["scheme"] = "groth16"
    assert not api.verify(d, doc).valid


def test_a_proof_for_model_a_is_refused_by_the_directory_of_model_b(mlp_dir, proof, model_b):
    v = api.verify(model_b, proof.path)
    assert not v.valid and "is for circuit" in v.reason
    sb = _doc(model_b / "settings.json")
    kb = _doc(model_b / "keys.json")["groth16"]
    forged = copy.deepcopy(proof.document)
    forged["circuit_id"] = sb["circuit_id"]  # claims B's circuit
    assert "not this directory's groth16 key" in api.verify(model_b, forged).reason
    forged["verification_key_hash"] = kb["verification_key_hash"]  # and B's key
    assert "another model" in api.verify(model_b, forged).reason
    hi, lo = split128(bytes.fromhex(sb["model_sha256"]))
    forged["public_inputs"][:2] = [str(hi), str(lo)]  # and B's model id: the pairing fails
    v = api.verify(model_b, forged)
    assert not v.valid and "does not verify" in v.reason
    # B's own proof on the same input verifies in B and is refused by A
    pb = api.prove(model_b, MLP_INPUT, model_b.parent / "proof-b.json")
    assert api.verify(model_b, pb.path).valid and not api.verify(mlp_dir, pb.path).valid


def _bump(v: str, r: int) -> str:
    return str((int(v) + 1) % r)


def test_tampered_proofs_are_invalid(mlp_dir, proof):
    from ispc_core.zk.fields import get_field

    r = get_field("bn254").modulus
    base = proof.document
    # an output changed in the public inputs and in the stated outputs alike: the pairing fails
    t = copy.deepcopy(base)
    t["public_inputs"][-8] = _bump(t["public_inputs"][-8], r)
    t["outputs"]["y"][0][0] += 2.0**-16
    t["outputs_quantized"]["y"][0][0] += 1
    assert "does not verify" in api.verify(mlp_dir, t).reason
    # only the stated output changed: not what the proof states
    t = copy.deepcopy(base)
    t["outputs"]["y"][0][1] = 5.0
    assert "outputs written" in api.verify(mlp_dir, t).reason
    t = copy.deepcopy(base)
    del t["outputs_quantized"]["y"]
    assert not api.verify(mlp_dir, t).valid
    # an input changed
    t = copy.deepcopy(base)
    t["public_inputs"][2] = _bump(t["public_inputs"][2], r)
    assert "does not verify" in api.verify(mlp_dir, t).reason
    # another proof's bytes (same circuit, another input)
    other = api.prove(mlp_dir, {"x": np.zeros((1, 16))}, mlp_dir.parent / "zero.json").document
    t = copy.deepcopy(base)
    t["proof"] = other["proof"]
    assert "does not verify" in api.verify(mlp_dir, t).reason
    # a public input dropped
    t = copy.deepcopy(base)
    del t["public_inputs"][5]
    assert not api.verify(mlp_dir, t).valid


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d.pop("proof"), "'proof' is missing"),
        (lambda d: d.update(proof="zz"), "hex"),
        (lambda d: d.update(proof=d["proof"][:-2]), "malformed proof"),
        (lambda d: d.update(format="other"), "not an ispc-zkml-proof"),
        (lambda d: d["public_inputs"].__setitem__(3, "-1"), "not a decimal field element"),
        (lambda d: d["public_inputs"].__setitem__(3, str(2**254 * 4)), "not a decimal field element"),
        (lambda d: d.update(curve="p256"), "unknown curve"),
    ],
)
def test_malformed_proof_files_raise(mlp_dir, proof, edit, match):
    t = copy.deepcopy(proof.document)
    edit(t)
    with pytest.raises(ArtifactError, match=match):
        api.verify(mlp_dir, t)


def test_unreadable_proof_and_directory_raise(mlp_dir, work):
    (work / "garbage.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not a readable JSON"):
        api.verify(mlp_dir, work / "garbage.json")
    with pytest.raises(ArtifactError, match="no such file"):
        api.verify(mlp_dir, work / "missing.json")
    with pytest.raises(ArtifactError, match="not a directory made by"):
        api.verify(work / "nowhere", work / "garbage.json")
    bare = work / "bare.zk"
    api.compile(MLP, bare)
    with pytest.raises(ArtifactError, match="has no keys"):
        api.prove(bare, MLP_INPUT, work / "never.json")
    assert not (work / "never.json").exists()


@pytest.mark.parametrize(
    "inputs, match",
    [
        ({"x": np.full((1, 16), 1.5)}, "outside the declared range"),
        ({"y": np.zeros((1, 16))}, "unknown input"),
        ({}, "missing input"),
        ({"x": np.zeros((2, 16))}, "has shape"),
        ({"x": [["a"] * 16]}, "not an array of numbers"),
        ({"x": [float("nan")] * 16}, "NaN"),
        ({"input_data": [[0.0] * 16, [1.0]]}, "one list per model input"),
    ],
)
def test_bad_inputs_are_typed_errors_and_write_nothing(mlp_dir, work, inputs, match):
    out = work / "bad-proof.json"
    with pytest.raises(InputError, match=match):
        api.prove(mlp_dir, inputs, out)
    assert not out.exists()


def test_input_files_in_every_accepted_shape(mlp_dir, work, mlp_input, proof):
    flat = mlp_input.reshape(-1).tolist()
    for i, doc in enumerate([{"input_data": [flat]}, {"x": flat}, {"inputs": {"x": mlp_input.tolist()}}]):
        p = _write(work / f"in{i}.json", doc)
        res = api.prove(mlp_dir, p, work / f"p{i}.json")
        np.testing.assert_array_equal(res.outputs["y"], proof.outputs["y"])
    with pytest.raises(InputError, match="no such file"):
        api.prove(mlp_dir, work / "nope.json", work / "p.json")


def test_compile_refuses_bad_models_and_options_and_writes_nothing(work):
    bad = work / "sin.onnx"
    bad.write_bytes(make_model([helper.make_node("Sin", ["x"], ["y"], name="sine")], {"x": [1, 4]}, {"y": [1, 4]}))
    with pytest.raises(UnsupportedOperator, match="'sine': operator Sin"):
        api.compile(bad, work / "sin.zk")
    garbage = work / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        api.compile(garbage, work / "garbage.zk")
    with pytest.raises(InputError, match="curve must be one of"):
        api.compile(MLP, work / "c.zk", curve="p256")
    with pytest.raises(InputError, match="declared range"):
        api.compile(MLP, work / "r.zk", input_range=-1.0)
    for name in ("sin.zk", "garbage.zk", "c.zk", "r.zk"):
        assert not (work / name).exists()
    assert not [p for p in work.iterdir() if p.name.startswith(".")]  # no temporary directory left behind


def test_committed_weights_round_trip_and_bind_the_commitment(work, mlp_input, mlp_bytes):
    """Committed weights: the salt stays in secrets.json (verify needs none of it), settings.json names the
    commitment, and a proof whose public inputs carry another weight commitment is refused."""
    d = work / "cw.zk"
    res = api.compile(MLP, d, weights="committed")
    s = res.settings
    assert s["options"]["weights"] == "committed" and s["weight_commitment"] is not None
    salt = int(_doc(d / "secrets.json")["weight_salt"])
    assert str(salt) not in (d / "settings.json").read_text()
    cm = compile_model(mlp_bytes, weights="committed", weight_salt=salt)
    assert s["circuit_id"] == cm.circuit_id and s["weight_commitment"] == str(cm.weight_commitment)
    api.setup(d)
    pr = api.prove(d, {"x": mlp_input}, work / "cw-proof.json")
    assert pr.document["weight_commitment"] == s["weight_commitment"]
    np.testing.assert_array_equal(pr.outputs["y"], compile_model(mlp_bytes).run({"x": mlp_input})["y"])
    (d / "secrets.json").rename(d / "secrets.moved")  # a verifier has no salt
    v = api.verify(d, pr.path)
    assert v.valid
    pos = 2 + 16  # model id, inputs, then the weight commitment
    forged = copy.deepcopy(pr.document)
    forged["public_inputs"][pos] = str(int(forged["public_inputs"][pos]) + 1)
    forged["weight_commitment"] = forged["public_inputs"][pos]
    assert "another weight commitment" in api.verify(d, forged).reason
    forged = copy.deepcopy(pr.document)
    forged["weight_commitment"] = "5"
    assert "weight commitment written" in api.verify(d, forged).reason
    with pytest.raises(ArtifactError, match="secrets"):
        api.prove(d, {"x": mlp_input}, work / "cw-never.json")  # the prover needs it
    assert not (work / "cw-never.json").exists()


def test_committed_inputs_round_trip(work, mlp_input, mlp_bytes):
    """Committed inputs: the proof states their salted commitment, not the inputs; the salt is returned, not written."""
    with pytest.raises(InputError, match="input_check='verifier' cannot hold"):
        api.compile(MLP, work / "ci-bad.zk", input_visibility="committed", input_check="verifier")
    assert not (work / "ci-bad.zk").exists()
    d = work / "ci.zk"
    api.compile(MLP, d, input_visibility="committed")
    api.setup(d)
    pr = api.prove(d, {"x": mlp_input}, work / "ci-proof.json")
    assert pr.input_salt is not None and str(pr.input_salt) not in pr.path.read_text()
    cm = compile_model(mlp_bytes, input_visibility="committed")
    want = cm.input_commitment(cm.quantize_inputs({"x": mlp_input}), pr.input_salt)
    assert pr.document["input_commitment"] == str(want) and len(pr.document["public_inputs"]) == 2 + 1 + 8
    v = api.verify(d, pr.path)
    assert v.valid and v.input_commitment == want
    np.testing.assert_array_equal(v.outputs["y"], compile_model(mlp_bytes).run({"x": mlp_input})["y"])
    again = api.prove(d, {"x": mlp_input}, work / "ci-proof2.json", input_salt=7)
    assert again.input_salt == 7 and again.document["input_commitment"] == str(cm.input_commitment(cm.quantize_inputs({"x": mlp_input}), 7))
    forged = copy.deepcopy(pr.document)
    forged["public_inputs"][2] = again.document["public_inputs"][2]  # another commitment, the same outputs
    forged["input_commitment"] = forged["public_inputs"][2]
    assert "does not verify" in api.verify(d, forged).reason


def test_an_existing_directory_is_replaced_only_with_force(work):
    d = work / "again.zk"
    api.compile(MLP, d)
    api.setup(d)
    (d / "notes.txt").write_text("mine")
    with pytest.raises(RequestError, match="already holds a compiled model"):
        api.compile(MLP, d, scale=8)
    assert _doc(d / "settings.json")["scale"] == 16
    api.compile(MLP, d, scale=8, force=True)
    assert _doc(d / "settings.json")["scale"] == 8
    assert not (d / "keys.json").exists() and not (d / "keys").exists()  # stale keys removed
    assert (d / "notes.txt").read_text() == "mine"
    other = work / "other"
    other.mkdir()
    (other / "x").write_text("")
    with pytest.raises(RequestError, match="holds no compiled model"):
        api.compile(MLP, other)


def test_keys_that_are_not_the_recorded_ones_are_refused_and_left_alone(work, mlp_input):
    d = work / "rekeyed.zk"
    api.compile(MLP, d)
    api.setup(d)
    keys = _doc(d / "keys.json")
    keys["groth16"]["verification_key_hash"] = "00" * 32  # keys.json names another key than the store holds
    (d / "keys.json").write_text(json.dumps(keys))
    before = sorted((p.relative_to(d), p.stat().st_mtime_ns) for p in (d / "keys").rglob("*"))
    with pytest.raises(ArtifactError, match="missing; run setup again"):
        api.prove(d, {"x": mlp_input}, work / "rekeyed.json")
    import shutil

    shutil.rmtree(d / "keys")
    api.setup(d)  # a new key; keys.json now names it
    keys_new = _doc(d / "keys.json")
    (d / "keys.json").write_text(json.dumps({"groth16": {**keys_new["groth16"], "r1cs_sha256": "ab" * 32}}))
    with pytest.raises(ArtifactError, match="another circuit"):
        api.prove(d, {"x": mlp_input}, work / "rekeyed.json")
    assert not (work / "rekeyed.json").exists() and before


def test_a_changed_model_file_is_refused(work, mlp_input):
    d = work / "changed.zk"
    api.compile(MLP, d)
    api.setup(d)
    data = bytearray((d / "model.onnx").read_bytes())
    (d / "model.onnx").write_bytes(bytes(data) + b"\x00")
    with pytest.raises(ArtifactError, match="changed since compile"):
        api.prove(d, {"x": mlp_input}, work / "changed.json")
    assert not (work / "changed.json").exists()


def test_input_check_verifier_leaves_the_range_check_to_verify(work, mlp_input):
    """With input_check="verifier" the circuit does not range-check the inputs: a forger proves an input
    just outside the declared range (a valid Groth16 proof), and verify refuses it from the public inputs."""
    from ispc_core.specs import ProverServices
    from ispc_core.plugins import PluginManager

    d = work / "verifier.zk"
    res = api.compile(MLP, d, input_check="verifier")
    assert res.settings["constraints"] == 625 - 16 * 19 and res.settings["options"]["input_check"] == "verifier"
    api.setup(d)
    ok = api.prove(d, {"x": mlp_input}, work / "v-ok.json")
    assert api.verify(d, ok.path).valid
    # the forger: the same circuit, an input one unit past the range, proven with the directory's key
    cm = compile_model(MLP, input_check="verifier")
    q = cm.quantize_inputs({"x": mlp_input})
    q["x"][0, 0] = (1 << 16) + 1
    wit = cm.witness(q, quantized=True)
    cm.r1cs.check(wit)  # the circuit alone accepts it
    prover = PluginManager().get("ispc_provers", "groth16").factory(ProverServices(home=d, config=None, keystore_dir=d / "keys"))
    inst = type("I", (), {"circuit_id": cm.circuit_id, "version": "v1", "curve": "bn254", "r1cs": cm.r1cs, "witness": wit, "public_inputs": tuple(wit[1 : 1 + cm.r1cs.n_public])})()
    art = prover.prove(inst, "bn254")
    assert prover.verify(art)  # a valid proof of the bare circuit
    forged = copy.deepcopy(ok.document)
    forged["proof"], forged["public_inputs"] = art.proof.hex(), [str(v) for v in art.public_inputs]
    outs = cm.outputs_of(art.public_inputs)["y"]
    forged["outputs"]["y"] = (np.asarray(outs, dtype=np.float64) / 2.0**16).tolist()
    forged["outputs_quantized"]["y"] = np.asarray(outs, dtype=np.int64).tolist()
    v = api.verify(d, forged)
    assert not v.valid and "outside the declared range" in v.reason


def test_an_integer_output_is_proven_and_read_at_scale_0(work):
    """ArgMax's index is an integer output (scale 0): settings.json records its scale and verify reads it unscaled."""
    import onnx
    from onnx import TensorProto

    w = np.array([[0.5, -0.25, 0.75], [0.125, 0.5, -0.5]], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["z"]), helper.make_node("ArgMax", ["z"], ["k"], axis=1, keepdims=1)],
        "argmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("k", TensorProto.INT64, [1, 1])],
        initializer=[numpy_helper.from_array(w, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path = work / "argmax.onnx"
    path.write_bytes(model.SerializeToString())
    res = api.compile(path, work / "argmax.zk")
    assert res.settings["outputs"][0]["scale"] == 0
    api.setup(work / "argmax.zk")
    x = np.array([[0.25, 0.75]])
    pr = api.prove(work / "argmax.zk", {"x": x}, work / "argmax-proof.json")
    v = api.verify(work / "argmax.zk", pr.path)
    assert v.valid and v.outputs["k"].tolist() == [[int(np.argmax(x @ w))]] == pr.document["outputs"]["k"]
