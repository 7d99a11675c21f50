"""Red-team tests for onnx_inference.v1: forgeries an attacker would try, each shown refused, with the reason.

Two kinds of attacker.

* **The witness forger** (no node): knows the circuit and writes the witness itself. :func:`_raw_forge`
  pins the wires a forgery needs and recomputes the rest by the circuit's hints — except that a hint
  which *refuses* (a range check driven out of its range) gives 0 instead of stopping, so what refuses
  the forgery is a constraint, never a hint. Each forgery is a *coordinated* change (several wires at
  once, the ones an attack on that gadget has to move together), beyond the single-wire changes of
  :func:`ispc_zkml.testing.unique_witness_violations` that the operator tests already make.
* **The transaction forger**: node A proves a call honestly; the forger edits the transaction through
  the public API (re-hashes, signs with its own keys) and submits it to node B, which holds only A's
  keys and the deployed model. Each edit is refused by the named check, nothing written.
"""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ispc_core.context import CallRequest
from ispc_core.coordinator import Manager
from ispc_core.journal import decode_arg, encode_arg
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.zk.errors import WitnessError
from ispc_zkml import compile_model
from ispc_zkml.circuit import NODE_INPUT_CHECK
from ispc_zkml.testing import as_attacker, copy_tx, make_model, refused

n = helper.make_node
SCALE = 8
f32 = lambda v: np.array(v, np.float32)  # noqa: E731


# ---------------------------------------------------------------------------------------
# the witness forger
# ---------------------------------------------------------------------------------------
def _raw_forge(cm, feeds, pins: dict[str, int]) -> list[int]:
    """The witness with the named wires pinned (signed values, mapped to the field) and every other
    wire from its hint; a hint that refuses (or divides by a forged zero) gives 0 (a forger is not bound by the hints)."""
    cb, r = cm._cb, cm.r1cs.field.modulus
    saved = list(cb._hints)

    def lenient(h):
        def run(get):
            try:
                return h(get)
            except (WitnessError, ArithmeticError):  # out of range, or a division by a forged zero
                return 0

        return run

    cb._hints = [h if h is None else lenient(h) for h in saved]
    try:
        return cm.witness(feeds, pins={cm.wire(k): v % r for k, v in pins.items()})
    finally:
        cb._hints = saved


def _honest(cm, feeds) -> dict[str, int]:
    """Every named wire's signed value in the honest witness."""
    from ispc_core.zk.fixedpoint import from_field

    wit = cm.witness(feeds)
    assert cm.r1cs.is_satisfied(wit)
    r = cm.r1cs.field.modulus
    return {name: from_field(v, r) for name, v in zip(cm._cb._names, cm._cb._values)}


def _no_witness(cm, feeds, pins) -> None:
    wit = _raw_forge(cm, feeds, pins)
    assert not cm.r1cs.is_satisfied(wit), pins


def _qmodel(nodes, inputs, outputs, inits=None) -> bytes:
    """Float inputs; outputs ``{name: (elem_type, shape)}`` (integer outputs for the int8 path)."""
    g = helper.make_graph(
        nodes, "t", [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info(k, t, s) for k, (t, s) in outputs.items()],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m.SerializeToString()


def test_the_raw_forger_reproduces_the_honest_witness():
    """Sanity: with no pin the forger's witness is the honest one (so a refusal below is the pin's)."""
    cm = compile_model(make_model([n("Sigmoid", ["x"], ["y"])], {"x": [1, 2]}, {"y": [1, 2]}), scale=SCALE)
    feeds = {"x": f32([[0.3, -0.7]])}
    assert _raw_forge(cm, feeds, {}) == cm.witness(feeds)
    assert cm.r1cs.is_satisfied(_raw_forge(cm, feeds, {}))


def test_a_half_rounded_the_other_way_by_quantize_linear_is_refused():
    """x / y_scale = 2.5 exactly: ONNX gives 2 (half to even). The forger wants 3: it clears the tie bit
    (then r' = r − 1 = −1), or lowers q_u and clears it (then r' = 2d − 1 > 2d − 2), or keeps q_u and the
    tie but drops the parity correction."""
    m = _qmodel([n("QuantizeLinear", ["x", "s", "z"], ["q"], name="ql")], {"x": [1, 2]}, {"q": (TensorProto.INT8, [1, 2])},
                {"s": f32(1 / 16), "z": np.array(0, np.int8)})  # fmt: skip
    cm = compile_model(m, scale=SCALE, input_range=1.0)
    feeds = {"x": f32([[2.5, -2.5]]) / 16}
    h = _honest(cm, feeds)
    assert [int(v) for v in cm.instance(feeds).outputs["q"].reshape(-1)] == [2, -2]
    for j in range(2):
        t = f"ql[0, {j}]"
        assert h[f"{t}.tie"] == 1
        _no_witness(cm, feeds, {f"{t}.tie": 0})
        _no_witness(cm, feeds, {f"{t}.q": h[f"{t}.q"] - 1, f"{t}.tie": 0})
        _no_witness(cm, feeds, {f"{t}.odd_tie": 1 - h[f"{t}.odd_tie"]})
        _no_witness(cm, feeds, {f"{t}.q": h[f"{t}.q"] + 1, f"{t}.tie": 1})


def test_a_tie_claimed_where_there_is_none_is_refused():
    """x / y_scale = 2.25: no tie. Setting the tie bit (to round 'to even' a value that is not a half)
    forces r' = r, and t·r' = 0 fails."""
    m = _qmodel([n("QuantizeLinear", ["x", "s", "z"], ["q"], name="ql")], {"x": [1, 1]}, {"q": (TensorProto.INT8, [1, 1])},
                {"s": f32(1 / 16), "z": np.array(0, np.int8)})  # fmt: skip
    cm = compile_model(m, scale=SCALE, input_range=1.0)
    feeds = {"x": f32([[3.25]]) / 16}  # 3.25 -> 3; a forged tie would give q_u = 3 odd -> 2
    h = _honest(cm, feeds)
    assert h["ql[0, 0].tie"] == 0
    _no_witness(cm, feeds, {"ql[0, 0].tie": 1})


@pytest.mark.parametrize("x", [[[0.5, -0.25, 0.75, 0.0]], [[0.0, 0.0, 0.0, 0.0]]], ids=["data", "all-zero"])
def test_dynamic_quantize_scale_zero_point_and_all_zero_bit_cannot_be_forged(x):
    """DynamicQuantizeLinear's data-dependent quantities: the [D = 0] bit flipped, the zero point or the
    scale moved by one (each with the remainder it then needs recomputed), the running max or min moved."""
    m = _qmodel([n("DynamicQuantizeLinear", ["x"], ["y", "ys", "yz"], name="dq")], {"x": [1, 4]},
                {"y": (TensorProto.UINT8, [1, 4]), "ys": (TensorProto.FLOAT, []), "yz": (TensorProto.UINT8, [])})  # fmt: skip
    cm = compile_model(m, scale=SCALE)
    feeds = {"x": f32(x)}
    h = _honest(cm, feeds)
    _no_witness(cm, feeds, {"dq.all_zero": 1 - h["dq.all_zero"]})
    for w in ("dq.zero_point.q", "dq.scale.q"):
        for d in (1, -1):
            _no_witness(cm, feeds, {w: h[w] + d})
    for j in range(4):
        for w in (f"dq.max{j}.sel", f"dq.min{j}.sel"):
            _no_witness(cm, feeds, {w: h[w] + 1})


def test_a_sigmoid_evaluated_on_another_segment_is_refused():
    """The forger selects the neighbouring segment's polynomial and shifts u by the segment width to keep
    x = j·2^t + u — u would leave [0, 2^t), and no t bits hold it."""
    cm = compile_model(make_model([n("Sigmoid", ["x"], ["y"])], {"x": [1, 2]}, {"y": [1, 2]}), scale=SCALE, input_range=4.0)
    feeds = {"x": f32([[1.5, -2.25]])}
    h = _honest(cm, feeds)
    t = SCALE  # segments of width 1 = 2^8 grid points at scale 8
    for e in range(2):
        tag = f"Sigmoid#0[0, {e}]"
        j = next(k for k in range(16) if h[f"{tag}.seg[{k}]"] == 1)
        u = sum(h[f"{tag}.u[{i}]"] << i for i in range(t))
        for other in (j - 1, j + 1):
            pins = {f"{tag}.seg[{k}]": int(k == other) for k in range(16)}
            shifted = u + (j - other) * (1 << t)  # what x = j'·2^t + u' needs
            pins |= {f"{tag}.u[{i}]": (shifted >> i) & 1 for i in range(t)}  # its low t bits: the best a forger can do
            _no_witness(cm, feeds, pins)
        # the segment and the quotient of the polynomial's rescale moved together
        _no_witness(cm, feeds, {f"{tag}.seg[{j}]": 0, f"{tag}.seg[{j + 1}]": 1, f"{tag}.sigmoid.q": h[f"{tag}.sigmoid.q"] + 1})


def test_softmax_outputs_cannot_be_traded_against_each_other():
    """Moving one unit from one probability to another keeps the sum; each quotient is still proven."""
    m = make_model([n("Softmax", ["x"], ["y"], name="sm")], {"x": [1, 3]}, {"y": [1, 3]})
    cm = compile_model(m, scale=SCALE)
    feeds = {"x": f32([[0.5, -0.25, 0.75]])}
    h = _honest(cm, feeds)
    for a, b in ((0, 1), (1, 2), (2, 0)):
        _no_witness(cm, feeds, {f"sm[0][{a}].div.q": h[f"sm[0][{a}].div.q"] + 1, f"sm[0][{b}].div.q": h[f"sm[0][{b}].div.q"] - 1})
    # a forged maximum (the second element's selection bit cleared): every exp shifts, the divisions follow
    _no_witness(cm, feeds, {"sm[0].max2.sel": 0})


def test_a_clip_or_maxpool_selection_bit_flipped_with_its_range_bits_is_refused():
    """The forger flips the [x >= lo] (or [a >= m]) bit *and* writes the range check's bits for the
    flipped sign — the recomposition then needs x − lo + 2^(b−1) on the other side of 2^(b−1)."""
    m = make_model([n("Clip", ["x", "lo", "hi"], ["y"], name="c")], {"x": [1, 3]}, {"y": [1, 3]},
                   {"lo": f32(-0.5), "hi": f32(0.25)})  # fmt: skip
    cm = compile_model(m, scale=SCALE)
    feeds = {"x": f32([[-0.75, 0.0, 0.5]])}
    h = _honest(cm, feeds)
    for e in range(3):
        for side in ("lo", "hi"):
            tag = f"c[0, {e}].{side}"
            bits = sorted((w for w in h if w.startswith(tag + ".bit[")), key=lambda w: int(w.split("[")[-1][:-1]))
            top = bits[-1]
            pins = {top: 1 - h[top]}
            _no_witness(cm, feeds, pins)
            pins |= {w: 1 - h[w] for w in bits[:-1]}  # every bit inverted: the other sign's nearest value
            _no_witness(cm, feeds, pins)
    mp = make_model([n("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], name="mp")], {"x": [1, 1, 2, 2]}, {"y": [1, 1, 1, 1]})
    cm = compile_model(mp, scale=SCALE)
    feeds = {"x": f32([[[[0.25, 0.5], [0.5, -0.75]]]])}  # a tie at the top
    h = _honest(cm, feeds)
    for j in (1, 2, 3):
        tag = f"mp[0, 0, 0, 0].max{j}"
        bits = [w for w in h if w.startswith(tag + ".bit[")]
        top = max(bits, key=lambda w: int(w.split("[")[-1][:-1]))
        _no_witness(cm, feeds, {top: 1 - h[top]})


def test_argmax_with_a_tie_cannot_name_the_other_index_even_with_its_gaps_rewritten():
    """ONNX's first index of a tied maximum: the forger names the later one, with its one-hot bits,
    and writes the gap bits as the low bits of the (negative) gap — the recomposition fails."""
    m = _qmodel([n("ArgMax", ["x"], ["i"], axis=1, keepdims=0, name="am")], {"x": [1, 4]}, {"i": (TensorProto.INT64, [1])})
    cm = compile_model(m, scale=SCALE)
    feeds = {"x": f32([[0.5, -0.25, 0.5, 0.125]])}
    h = _honest(cm, feeds)
    assert h["am[0].index"] == 0
    for other in (1, 2, 3):
        pins = {"am[0].index": other} | {f"am[0].onehot[{j}]": int(j == other) for j in range(4)}
        _no_witness(cm, feeds, pins)


# ---------------------------------------------------------------------------------------
# the transaction forger
# ---------------------------------------------------------------------------------------
GROTH16 = {"proof.mode": "sync", "proof.scheme": "groth16", "proof.curve": "bn254"}
W23 = f32([[0.5, -0.25, 1.0], [0.75, 0.5, -0.5]])
X = f32([[0.5, -0.25]])
Z = f32([[0.125, 0.0, -0.5]])


def _two_input_model() -> bytes:
    """y = x @ W − z: two inputs of different shapes and a symbolic batch N (the node's circuit: N = 1)."""
    return make_model([n("MatMul", ["x", "W"], ["m"]), n("Sub", ["m", "z"], ["y"])], {"x": ["N", 2], "z": ["N", 3]}, {"y": ["N", 3]}, {"W": W23})


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Node A deploys the model and calls it twice (by position and by name), proven with Groth16."""
    root = tmp_path_factory.mktemp("zkml-attacks")
    (root / "m.onnx").write_bytes(_two_input_model())
    with Manager.open(root / "a", overrides=GROTH16) as a:
        dep = a.deploy(root / "m.onnx")
        pos = a.call(CallRequest(dep.resource_id, "run", caller="alice", args=(X, Z)))
        named = a.call(CallRequest(dep.resource_id, "run", caller="alice", named_inputs={"x": X, "z": Z}))
        (_, deploy), *_ = a.node.mempool.list()
        return {"pos": pos, "named": named, "deploy": deploy, "chain": a.chain_overrides(), "home": root / "a", "model": root / "m.onnx"}


@pytest.fixture
def node_b(tmp_path, chain):
    (tmp_path / "b").mkdir()
    shutil.copytree(chain["home"] / "zkkeys", tmp_path / "b" / "zkkeys")
    with Manager.open(tmp_path / "b", overrides={**chain["chain"], **GROTH16}) as b:
        b.submit_transaction(chain["deploy"])
        yield b








def _set_output(t: pb.Transaction, new: np.ndarray, *, dtype=None, values_too: bool = True) -> None:
    """A new first output: in the return data and the journal's result.set (and the return values)."""
    ex = t.execution
    name, arr = decode_arg(bytes(ex.return_values[0]))
    old = arr.tobytes()
    new = np.asarray(new, dtype=dtype or arr.dtype)
    head_old = encode_arg((name, arr))
    head_new = encode_arg((name, new))
    if values_too:
        ex.return_values[0] = head_new
    # the tensor codec of the return data carries the same dtype header and bytes
    from ispc_onnx.tensorcodec import decode_tensors, encode_tensors

    tensors = decode_tensors(bytes(ex.return_data))
    enc_old = encode_tensors(tensors)
    enc_new = encode_tensors([(name, new)] + list(tensors[1:]))
    assert bytes(ex.return_data) == enc_old
    ex.return_data = enc_new
    for entry in ex.journal:  # result.set's argument: the same bytes, canonically encoded
        entry.args[:] = [encode_arg(enc_new) if decode_arg(bytes(a)) == enc_old else bytes(a) for a in entry.args]
    assert head_old != head_new or old == new.tobytes()


def test_the_honest_calls_are_accepted(chain, node_b):
    for k in ("pos", "named"):
        assert node_b.submit_transaction(chain[k].transaction) == chain[k].tx_id


def test_a_duplicated_named_input_is_refused(chain, node_b):
    """named_inputs [x, x', z]: which x would the proof be about? Neither — the call record is malformed."""
    f = copy_tx(chain["named"].transaction)
    ex = f.execution
    entries = [(nv.name, bytes(nv.value)) for nv in ex.named_inputs]
    del ex.named_inputs[:]
    for name, value in [entries[0], (entries[0][0], encode_arg(X * 0)), *entries[1:]]:
        ex.named_inputs.add(name=name, value=value)
    msg = refused(node_b, as_attacker(f), "structure")
    assert "each name once" in msg


def test_named_and_positional_inputs_together_are_refused(chain, node_b):
    f = copy_tx(chain["named"].transaction)
    f.execution.args.extend([encode_arg(X), encode_arg(Z)])
    assert "both named and positional" in refused(node_b, as_attacker(f), "proof")


def test_a_missing_or_extra_input_is_refused(chain, node_b):
    f = copy_tx(chain["pos"].transaction)
    del f.execution.args[1]
    assert "1 positional input(s); the model takes 2" in refused(node_b, as_attacker(f), "proof")
    g = copy_tx(chain["named"].transaction)
    g.execution.named_inputs[1].name = "zz"  # x, zz: sorted, each once, but not the model's
    assert "the model takes" in refused(node_b, as_attacker(g), "proof")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1.5], ids=["nan", "inf", "-inf", "out-of-range"])
def test_a_non_finite_or_out_of_range_input_is_refused(chain, node_b, bad):
    f = copy_tx(chain["pos"].transaction)
    x = X.copy()
    x[0, 1] = bad
    f.execution.args[0] = encode_arg(x)
    msg = refused(node_b, as_attacker(f), "proof")
    assert "cannot recompute the public inputs" in msg
    assert ("NaN or infinity" in msg) if not np.isfinite(bad) else ("outside the declared range" in msg)


def test_inputs_swapped_by_position_are_refused(chain, node_b):
    """The two positional arguments exchanged (shapes differ: another circuit) or one input's value moved."""
    f = copy_tx(chain["pos"].transaction)
    f.execution.args[0], f.execution.args[1] = bytes(f.execution.args[1]), bytes(f.execution.args[0])
    msg = refused(node_b, as_attacker(f), "proof")
    assert "circuit" in msg
    g = copy_tx(chain["pos"].transaction)
    g.execution.args[1] = encode_arg(Z[:, ::-1].copy())
    assert "public input 4 is not the value recomputed" in refused(node_b, as_attacker(g), "proof")


def test_an_input_of_another_batch_size_needs_another_circuit(chain, node_b):
    """x of shape [2, 2] (a batch of two): the verifier compiles the circuit of those shapes, whose id is
    not the proof's — a proof of the batch-1 circuit says nothing about it."""
    f = copy_tx(chain["pos"].transaction)
    f.execution.args[0] = encode_arg(np.concatenate([X, X]))
    msg = refused(node_b, as_attacker(f), "proof")
    assert "is not the circuit this node derives" in msg or "this call's circuit is" in msg


def test_outputs_of_another_dtype_off_the_grid_or_not_the_return_values_are_refused(chain, node_b):
    res = chain["pos"]
    _, y = decode_arg(bytes(res.transaction.execution.return_values[0]))
    f = copy_tx(res.transaction)
    _set_output(f, y, dtype=np.float32)  # the same numbers as float32
    assert "is float32; the proven outputs are float64" in refused(node_b, as_attacker(f), "proof")
    g = copy_tx(res.transaction)
    _set_output(g, y + 2.0**-20)
    assert "not a multiple of 2^-16" in refused(node_b, as_attacker(g), "proof")
    h = copy_tx(res.transaction)
    _set_output(h, y + 2.0**-16, values_too=False)  # the data moved, the return values kept
    assert "the return values are not the result's tensors" in refused(node_b, as_attacker(h), "proof")
    k = copy_tx(res.transaction)
    _set_output(k, y + 2.0**-16)  # both moved by one unit
    assert "is not the value recomputed from the transaction" in refused(node_b, as_attacker(k), "proof")


def test_a_proof_relabelled_with_another_scale_or_parameters_is_refused(chain, node_b):
    """The same model at another scale, or with another input range: other circuit ids. A's key is the
    key of its own circuit only, and the node derives one circuit per call."""
    res = chain["pos"]
    model = chain["model"]
    for cid in (
        compile_model(model, scale=12, input_check=NODE_INPUT_CHECK).circuit_id,
        compile_model(model, input_range=2.0, input_check=NODE_INPUT_CHECK).circuit_id,
        compile_model(model, input_check="circuit").circuit_id,
    ):
        assert cid != res.proof.circuit_id and cid.startswith(res.proof.circuit_id.rsplit("/", 1)[0])
        f = copy_tx(res.transaction)
        for out in f.outputs:
            if out.HasField("state"):
                out.state.zk_proof.circuit_id = cid
        assert "is the key of" in refused(node_b, as_attacker(f), "proof")


def test_a_proof_moved_between_two_calls_is_refused(chain, node_b):
    """The positional call's proof on the named call's record (the same inputs and outputs): the public
    inputs are the same — the statement is — so only the hashes bind it; the forger recomputes them."""
    f = copy_tx(chain["named"].transaction)
    p = [o.state.zk_proof for o in chain["pos"].transaction.outputs if o.HasField("state")][0]
    for out in f.outputs:
        if out.HasField("state"):
            out.state.zk_proof.CopyFrom(p)
    # the proof states exactly what this record carries: accepted, and rightly (it is a proof of the same
    # statement); what a forger cannot do is change the statement (the tests above)
    assert node_b.submit_transaction(as_attacker(f))


# ---------------------------------------------------------------------------------------
# the call record means one thing: what the engine would run
# ---------------------------------------------------------------------------------------
def test_a_named_tensor_in_the_call_record_is_refused(chain, node_b):
    """The engine never takes a named tensor as an input, so a record holding one — even labelled with
    another input's name, to swap what the inputs mean — is malformed, positional or named."""
    f = copy_tx(chain["pos"].transaction)
    f.execution.args[:] = [encode_arg(("z", X)), encode_arg(("x", Z))]
    assert "holds a named tensor" in refused(node_b, as_attacker(f), "proof")
    g = copy_tx(chain["named"].transaction)
    for nv in g.execution.named_inputs:
        nv.value = encode_arg((nv.name, decode_arg(bytes(nv.value))))
    assert "holds a named tensor" in refused(node_b, as_attacker(g), "proof")


@pytest.mark.parametrize("dtype, check", [("float16", "proof"), ("int32", "proof"), ("uint8", "structure"), ("bool", "structure")])
def test_an_input_recorded_in_a_dtype_the_engine_refuses_is_refused(chain, node_b, dtype, check):
    f = copy_tx(chain["pos"].transaction)
    f.execution.args[0] = encode_arg(np.zeros((1, 2), dtype=dtype))
    msg = refused(node_b, as_attacker(f), check)
    assert f"holds {np.dtype(dtype)} values" in msg if check == "proof" else "does not decode" in msg


def test_a_float64_record_means_the_list_the_engine_converts_and_an_audit_agrees(chain, node_b):
    """float64 is what a list of numbers is recorded as; the engine converts the list to float32, and so
    does the verifier: x + 2^-40 *is* x for this model. Re-executing the record (an audit) runs that list
    through the engine and gets the same outputs, so proof checkers and auditors agree."""
    from ispc_core.verify import verify_transaction

    f = copy_tx(chain["pos"].transaction)
    f.execution.args[0] = encode_arg(X.astype(np.float64) + 2.0**-40)
    f = as_attacker(f)
    assert verify_transaction(node_b, f, check_ledger=False).valid
    audit = verify_transaction(node_b, f, check_ledger=False, reexecute=True)
    assert audit.valid, audit.reason


def test_a_negative_zero_output_is_refused(chain, node_b):
    """The proven outputs write zero as +0.0; a record with -0.0 is not one of them (one statement, one
    byte string)."""
    f = copy_tx(chain["pos"].transaction)
    _, y = decode_arg(bytes(f.execution.return_values[0]))
    moved = y.copy()
    moved.flat[0] = -0.0
    _set_output(f, moved)
    assert "holds -0.0" in refused(node_b, as_attacker(f), "proof")
