"""Visibility: committed inputs and committed weights. The default circuit (public inputs, fixed weights)
and its id are unchanged; each mode's outputs equal the default's; the public inputs are in the documented
order; the commitments bind (a changed committed value, or a changed commitment, has no satisfying
witness); and a Groth16 proof for one weight commitment does not verify with another."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from onnx import helper, numpy_helper

from ispc_core.zk.errors import WitnessError
from ispc_core.zk.fixedpoint import FixedPointOverflow, from_field
from ispc_zkml import InputError, compile_model, compile_params, load_model
from ispc_zkml.commitment import commit
from ispc_zkml.testing import make_model

n = helper.make_node
CURVE = "bn254"
SALT = 987654321


@pytest.fixture(scope="module")
def modes(mlp_bytes):
    return {
        (iv, w): compile_model(mlp_bytes, input_visibility=iv, weights=w)
        for iv in ("public", "committed")
        for w in ("fixed", "committed")
    }


@pytest.fixture(scope="module")
def mlp_b(mlp_bytes):
    """The MLP with its weight columns permuted: other weights, the same magnitudes (same circuit shape)."""
    proto, _ = load_model(mlp_bytes)
    for t in proto.graph.initializer:
        if t.name == "W":
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t)[:, ::-1].copy(), "W"))
    return proto.SerializeToString()


def test_the_default_circuit_and_its_id_are_unchanged(modes, mlp_bytes):
    cm = modes["public", "fixed"]
    assert cm.params == compile_params(16, {"x": 1.0}, {"x": (1, 16)}) == {
        "scale": 16, "input_range": {"x": (1.0).hex()}, "input_shapes": {"x": [1, 16]},
    }  # fmt: skip
    assert cm.circuit_id.endswith("/s16-d0e0573c6747")  # as compiled before visibility existed
    assert cm.constraint_count == 625 and cm.weight_commitment is None
    ids = {m.circuit_id for m in modes.values()}
    assert len(ids) == 4  # each mode is its own circuit
    assert modes["committed", "committed"].params["input_visibility"] == "committed"
    assert modes["committed", "committed"].params["weights"] == "committed"


def test_every_mode_computes_the_same_outputs(modes, mlp_input):
    want = modes["public", "fixed"].instance({"x": mlp_input}).outputs["y"]
    for key, cm in modes.items():
        inst = cm.instance({"x": mlp_input}, salt=SALT)
        assert np.array_equal(inst.outputs["y"], want), key


def test_the_public_inputs_are_in_the_documented_order(modes, mlp_input):
    names = {k: cm.public_input_names for k, cm in modes.items()}
    assert names["committed", "fixed"] == ["mid_hi", "mid_lo", "input_commitment"] + [f"y[0, {j}]" for j in range(8)]
    assert names["public", "committed"] == ["mid_hi", "mid_lo"] + [f"x[0, {j}]" for j in range(16)] + ["weight_commitment"] + [f"y[0, {j}]" for j in range(8)]
    assert names["committed", "committed"] == ["mid_hi", "mid_lo", "input_commitment", "weight_commitment"] + [f"y[0, {j}]" for j in range(8)]
    for key, cm in modes.items():
        inst = cm.instance({"x": mlp_input}, salt=SALT)
        xq = cm.quantize_inputs({"x": mlp_input})
        assert cm.public_inputs(xq, inst.outputs, salt=SALT) == inst.public_inputs, key
        assert np.array_equal(cm.outputs_of(inst.public_inputs)["y"], inst.outputs["y"])


def test_committed_inputs_a_verifier_needs_only_the_commitment(modes, mlp_input):
    cm = modes["committed", "fixed"]
    xq = cm.quantize_inputs({"x": mlp_input})
    inst = cm.instance({"x": mlp_input}, salt=SALT)
    c = cm.input_commitment(xq, SALT)
    assert cm.public_inputs_from(inst.outputs, input_commitment=c) == inst.public_inputs
    assert c != cm.input_commitment(xq, SALT + 1) != cm.input_commitment(xq, 0)  # the salt hides
    with pytest.raises(InputError, match="inputs of this circuit are public"):
        modes["public", "fixed"].public_inputs_from(inst.outputs, input_commitment=c)
    with pytest.raises(InputError, match="salt must be an integer"):
        cm.instance({"x": mlp_input}, salt=-1)


def _binds(cm, feeds, value_wires, commitment_name, salt=0):
    """Every committed value changed by ±1 with the public commitment kept: no satisfying witness."""
    honest = cm.witness(feeds, salt=salt)
    cm.r1cs.check(honest)
    pub = cm.wire(commitment_name)
    keep = cm._cb._values[pub]
    r = cm.r1cs.field.modulus
    values = list(cm._cb._values)
    for w in value_wires:
        for d in (1, -1):
            try:
                wit = cm.witness(feeds, salt=salt, pins={w: (values[w] + d) % r, pub: keep})
            except WitnessError:
                continue
            assert not cm.r1cs.is_satisfied(wit), cm.wire_names()[w]
    # and the commitment itself changed (every value kept)
    assert not cm.r1cs.is_satisfied(cm.witness(feeds, salt=salt, pins={pub: (keep + 1) % r}))


def test_the_input_commitment_binds(modes, mlp_input):
    cm = modes["committed", "fixed"]
    wires = [int(w) for w in cm._input_wires["x"].reshape(-1)] + [cm.wire("input_salt")]
    _binds(cm, {"x": mlp_input}, wires, "input_commitment", SALT)


def test_the_weight_commitment_binds(modes, mlp_input):
    cm = modes["public", "committed"]
    names = cm.wire_names()
    wires = [i for i, nm in enumerate(names) if cm._cb._kind[i] == "prv" and nm.startswith(("dense.w[", "bias.w["))]
    assert len(wires) == 16 * 8 + 8 and cm.weight_values[:3] == tuple(from_field(cm._cb._values[w], cm.r1cs.field.modulus) for w in wires[:3])
    _binds(cm, {"x": mlp_input}, wires[::9] + [cm.wire("weight_salt")], "weight_commitment")
    r = cm.r1cs.field.modulus
    assert cm.weight_commitment == commit(cm.weight_values, cm.weight_widths, 0, CURVE, r, cm.r1cs.field.bits - 2)


def test_committed_inputs_are_range_checked_in_the_circuit(modes, mlp_bytes):
    cm = modes["committed", "fixed"]
    assert cm.layers[0].constraints == 16 * 19  # the verifier cannot check what it never sees
    with pytest.raises(InputError, match="input_check='verifier' cannot hold for committed inputs"):
        compile_model(mlp_bytes, input_visibility="committed", input_check="verifier")
    with pytest.raises(InputError, match="input_visibility must be one of"):
        compile_model(mlp_bytes, input_visibility="private")
    with pytest.raises(InputError, match="weights must be one of"):
        compile_model(mlp_bytes, weights="secret")
    outside = {"x": np.full((1, 16), 1 << 17, dtype=np.int64)}  # beyond the 18-bit signed range check
    with pytest.raises(FixedPointOverflow):  # no witness: the range check has no bits for it
        cm.witness(outside, quantized=True)


def test_every_wire_of_a_committed_circuit_is_determined(tmp_path):
    """A small Gemm + Relu with both committed: no internal wire can change (the committed values and
    the commitments themselves are the statement, tested above)."""
    w = np.array([[0.5, -0.25], [0.125, 0.75], [-0.5, 0.25]], np.float32)
    m = make_model([n("Gemm", ["x", "W", "b"], ["h"]), n("Relu", ["h"], ["y"])], {"x": [1, 3]}, {"y": [1, 2]}, {"W": w, "b": np.array([0.1, -0.2], np.float32)})
    cm = compile_model(m, scale=6, input_visibility="committed", weights="committed")
    feeds = {"x": np.array([[0.5, -0.75, 0.25]], np.float32)}
    honest = cm.witness(feeds, salt=7)
    cm.r1cs.check(honest)
    kinds, names = cm._cb._kind, cm.wire_names()
    values = list(cm._cb._values)
    r = cm.r1cs.field.modulus
    skip = {cm.wire("input_commitment"), cm.wire("weight_commitment"), cm.wire("mid_hi"), cm.wire("mid_lo")}
    bad = []
    for i in range(1, len(names)):
        if kinds[i] == "prv" or i in skip:
            continue  # committed values, the salts, the commitments: the statement itself
        try:
            wit = cm.witness(feeds, salt=7, pins={i: (values[i] + 1) % r})
        except WitnessError:
            continue
        if cm.r1cs.is_satisfied(wit):
            bad.append(names[i])
    assert bad == []


def test_committed_modes_on_bls12_381(mlp_bytes, mlp_input):
    cm = compile_model(mlp_bytes, input_visibility="committed", weights="committed", curve="bls12-381", scale=8)
    inst = cm.instance({"x": mlp_input}, salt=SALT)
    assert cm.public_inputs(cm.quantize_inputs({"x": mlp_input}), inst.outputs, salt=SALT) == inst.public_inputs


def test_a_proof_for_one_weight_commitment_does_not_verify_with_another(mlp_bytes, mlp_b, mlp_input, tmp_path):
    from ispc_groth16.plugin import Groth16Prover

    a = compile_model(mlp_bytes, weights="committed", scale=8)
    b = compile_model(mlp_b, weights="committed", scale=8)
    assert a.weight_commitment != b.weight_commitment
    # the same architecture and magnitudes: the very same constraint system, only the commitment differs
    assert [(c.a, c.b, c.c) for c in a.r1cs.constraints] == [(c.a, c.b, c.c) for c in b.r1cs.constraints]
    prover = Groth16Prover(tmp_path / "keys")
    inst = a.instance({"x": mlp_input})
    art = prover.prove(inst, CURVE)
    assert prover.verify(art)
    i = a.public_input_names.index("weight_commitment")
    pub = list(art.public_inputs)
    pub[i] = b.weight_commitment
    assert not prover.verify(attrs.evolve(art, public_inputs=tuple(pub)))
    # nor with B's model id and commitment (B's statement, A's proof)
    pub[:2] = b.public_inputs(b.quantize_inputs({"x": mlp_input}), inst.outputs)[:2]
    assert not prover.verify(attrs.evolve(art, public_inputs=tuple(pub)))


def test_committed_weights_of_conv_and_the_int8_path_compute_the_same_outputs():
    from pathlib import Path

    rng = np.random.default_rng(5)
    k = (rng.standard_normal((2, 1, 2, 2)) * 0.5).astype(np.float32)
    conv = make_model([n("Conv", ["x", "K", "B"], ["h"], kernel_shape=[2, 2]), n("Relu", ["h"], ["y"])], {"x": [1, 1, 3, 3]}, {"y": [1, 2, 2, 2]}, {"K": k, "B": np.array([0.1, -0.1], np.float32)})
    int8 = (Path(__file__).resolve().parents[2] / "ispc-onnx" / "examples" / "mlp_int8.onnx").read_bytes()
    for m, feeds in ((conv, {"x": rng.uniform(-1, 1, (1, 1, 3, 3)).astype(np.float32)}), (int8, {"x": rng.uniform(-1, 1, (1, 16)).astype(np.float32)})):
        fixed = compile_model(m, scale=8)
        cw = compile_model(m, scale=8, weights="committed")
        assert len(cw.weight_values) > 0 and cw.constraint_count > fixed.constraint_count
        inst = cw.instance(feeds)
        assert all(np.array_equal(inst.outputs[o], fixed.instance(feeds).outputs[o]) for o in inst.outputs)
