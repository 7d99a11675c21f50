"""The example MLP (16 → 8, ReLU) of ispc-onnx: matches onnxruntime, proves and verifies with Groth16 on
bn254, and no tampered public input, proof or model substitution verifies."""

from __future__ import annotations

import dataclasses

import attrs
import numpy as np
import pytest
from onnx import numpy_helper

from ispc_core.zk.errors import ConstraintUnsatisfied, FormatError
from ispc_core.zk.fixedpoint import bits_for
from ispc_zkml import InputError, compile_model, load_model
from ispc_zkml.testing import ort_run, unique_witness_violations

CURVE = "bn254"


@pytest.fixture(scope="module")
def cm(mlp_bytes):
    return compile_model(mlp_bytes)


@pytest.fixture(scope="module")
def model_b(mlp_bytes):
    """The same architecture with other weights: another model id, another circuit."""
    proto, _ = load_model(mlp_bytes)
    for t in proto.graph.initializer:
        if t.name == "W":
            w = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array((w[::-1] * 0.9).astype(np.float32), "W"))
    return proto.SerializeToString()


@pytest.fixture(scope="module")
def proven(cm, mlp_input, tmp_path_factory):
    from ispc_groth16.plugin import Groth16Prover

    prover = Groth16Prover(tmp_path_factory.mktemp("zkml") / "zkkeys")
    inst = cm.instance({"x": mlp_input})
    art = prover.prove(inst, CURVE)
    return prover, inst, art


def test_default_scale_layers_and_constraint_counts(cm):
    assert cm.scale == 16 and "/s16-" in cm.circuit_id and cm.circuit_id.startswith("onnx_inference.v1/")
    assert cm.inputs == {"x": (1, 16)} and cm.outputs == {"y": (1, 8)}
    by = {l.node: l for l in cm.layers}
    # inputs: a signed range check of bits_for(2^16) = 18 bits each (19 constraints)
    assert by["(inputs)"].constraints == 16 * (bits_for(1 << 16) + 1)
    assert by["dense"].constraints == 0 and by["bias"].constraints == 0  # weights are constants
    # relu: each neuron one rescale by 2^16 (16 remainder bits + b quotient bits + 2) and 1 for the ReLU
    assert by["relu"].constraints == sum(16 + b + 2 + 1 for b in _quotient_bits(cm))
    assert by["(outputs)"].constraints == 8
    assert cm.constraint_count == len(cm.r1cs.constraints) == sum(l.constraints for l in cm.layers)
    assert cm.public_input_names[:2] == ["mid_hi", "mid_lo"]
    assert cm.public_input_names[2] == "x[0, 0]" and cm.public_input_names[-1] == "y[0, 7]"
    assert len(cm.public_input_names) == 2 + 16 + 8
    assert "dense" in cm.report() and "total" in cm.report()


def _quotient_bits(cm):
    names = cm.wire_names()
    out = []
    for j in range(8):
        prefix = f"relu[0, {j}].q.bit["
        out.append(sum(1 for n in names if n.startswith(prefix)))
    return out


def test_outputs_match_onnxruntime_within_the_documented_error(cm, mlp_bytes, mlp_input):
    got = cm.run({"x": mlp_input})["y"]
    ref = ort_run(mlp_bytes, {"x": mlp_input})["y"]
    err = np.abs(got - ref)
    assert np.all(err <= cm.error_bound["y"] + 1e-6), (err, cm.error_bound["y"])
    assert cm.error_bound["y"].max() < 2e-4  # 16 fractional bits: ~ (16 inputs + 16 weights + 2) half-ulps
    assert err.max() < 5e-5


def test_worst_case_inputs_stay_inside_the_range_checks(cm, mlp_bytes):
    """The scale was chosen from the weights: inputs at the corners of [-1, 1]^16 still have witnesses."""
    proto, _ = load_model(mlp_bytes)
    w = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}["W"]
    for j in range(8):
        for sign in (1, -1):
            x = (sign * np.sign(w[:, j])).reshape(1, 16).astype(np.float32)
            inst = cm.instance({"x": x})
            ref = ort_run(mlp_bytes, {"x": x})["y"]
            assert np.all(np.abs(cm.dequantize(inst.outputs)["y"] - ref) <= cm.error_bound["y"] + 1e-5)


def test_every_wire_of_the_mlp_is_determined_by_its_public_inputs(cm, mlp_input):
    names = cm.wire_names()
    # the quotients, the ReLU outputs, the outputs, and the sign bits (the top quotient bits)
    picked = [i for i, n in enumerate(names) if n.endswith(".q") or n.endswith(".y") or n.startswith("y[")]
    picked += [i for i, n in enumerate(names) if n.startswith("relu[0, 3].")]
    assert len(picked) > 30
    assert unique_witness_violations(cm, {"x": mlp_input}, wires=picked) == []
    assert unique_witness_violations(cm, {"x": mlp_input}, wires=picked, delta=-1) == []


def test_a_forged_output_one_unit_off_is_refused_by_the_prover(cm, mlp_input, proven):
    prover, inst, _ = proven
    w = cm.wire("relu[0, 0].q")
    bad = cm.witness({"x": mlp_input}, pins={w: inst.witness[cm.r1cs.wire_names.index("relu[0, 0].q")] + 1})
    pub = tuple(bad[1 : 1 + cm.r1cs.n_public])
    assert cm.outputs_of(pub)["y"][0, 0] == inst.outputs["y"][0, 0] + 1  # the forgery changed the output…
    forged = dataclasses.replace(inst, witness=tuple(bad), public_inputs=pub)
    with pytest.raises(ConstraintUnsatisfied):  # …and has no proof
        prover.prove(forged, CURVE)


def test_groth16_proves_and_verifies_and_the_verifier_recomputes_the_public_inputs(cm, mlp_input, proven):
    prover, inst, art = proven
    assert prover.verify(art)
    assert art.circuit_id == cm.circuit_id and art.constraint_count == cm.constraint_count
    # what a verifier holds: the model bytes (→ id and circuit), the inputs and the claimed outputs
    assert cm.public_inputs(cm.quantize_inputs({"x": mlp_input}), inst.outputs) == art.public_inputs
    assert prover.key_info(art.verification_key_hash)["circuit_id"] == cm.circuit_id


@pytest.mark.parametrize("position", ["mid_hi", "mid_lo", "x[0, 0]", "x[0, 15]", "y[0, 0]", "y[0, 7]"])
def test_a_changed_public_input_fails_verification(cm, proven, position):
    prover, inst, art = proven
    i = cm.public_input_names.index(position)
    pub = list(art.public_inputs)
    pub[i] = (pub[i] + 1) % cm.r1cs.field.modulus
    assert not prover.verify(attrs.evolve(art, public_inputs=tuple(pub)))


def test_a_tampered_proof_fails_verification(proven):
    prover, inst, art = proven
    for at in (0, 40, 100):
        bad = bytearray(art.proof)
        bad[at] ^= 1
        try:
            assert not prover.verify(attrs.evolve(art, proof=bytes(bad)))
        except (FormatError, ValueError):
            pass  # a point off the curve is refused before the pairing


def test_a_proof_for_model_a_does_not_verify_as_model_b(cm, model_b, mlp_input, proven):
    prover, inst, art = proven
    cb = compile_model(model_b)
    assert cb.model_id != cm.model_id and cb.circuit_id != cm.circuit_id
    inst_b = cb.instance({"x": mlp_input})
    art_b = prover.prove(inst_b, CURVE)
    assert prover.verify(art_b) and art_b.verification_key_hash != art.verification_key_hash
    # A's proof under B's key, B's circuit id, B's recomputed public inputs (with A's outputs or B's)
    xq = cm.quantize_inputs({"x": mlp_input})
    assert not prover.verify(attrs.evolve(art, verification_key_hash=art_b.verification_key_hash, circuit_id=cb.circuit_id))
    assert not prover.verify(attrs.evolve(art, public_inputs=cb.public_inputs(xq, inst.outputs)))
    assert not prover.verify(attrs.evolve(art, public_inputs=cb.public_inputs(xq, inst_b.outputs)))
    assert not prover.verify(
        attrs.evolve(art, verification_key_hash=art_b.verification_key_hash, circuit_id=cb.circuit_id, public_inputs=art_b.public_inputs)
    )
    # and B's proof does not pass as A's
    assert not prover.verify(attrs.evolve(art_b, verification_key_hash=art.verification_key_hash, circuit_id=cm.circuit_id))


def test_inputs_range_checked_by_the_verifier_instead(cm, mlp_bytes, mlp_input, proven):
    """input_check="verifier": no input constraints; public_inputs() is the range check, and refuses."""
    prover = proven[0]
    cv = compile_model(mlp_bytes, input_check="verifier")
    assert cv.circuit_id != cm.circuit_id and cv.params["input_check"] == "verifier"
    assert cv.layers[0].constraints == 0
    assert cv.constraint_count == cm.constraint_count - 16 * (bits_for(1 << 16) + 1)
    inst = cv.instance({"x": mlp_input})
    assert np.array_equal(inst.outputs["y"], cm.instance({"x": mlp_input}).outputs["y"])
    art = prover.prove(inst, CURVE)
    assert prover.verify(art)
    xq = cv.quantize_inputs({"x": mlp_input})
    assert cv.public_inputs(xq, inst.outputs) == art.public_inputs
    xq["x"][0, 3] = (1 << 16) + 1  # just outside [-1, 1]
    with pytest.raises(InputError, match=r"input 'x'\[0, 3\] = 65537 / 2\^16 is outside the declared range"):
        cv.public_inputs(xq, inst.outputs)
    with pytest.raises(InputError, match="expected integers of shape"):
        cv.public_inputs({"x": np.zeros((2, 16), np.int64)}, inst.outputs)
    with pytest.raises(InputError, match="input_check must be one of"):
        compile_model(mlp_bytes, input_check="nobody")
