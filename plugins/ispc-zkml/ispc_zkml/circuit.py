"""``onnx_inference.v1`` as a node circuit: how an ONNX call's transaction becomes the statement.

Public inputs (exactly :mod:`ispc_zkml.compiler`'s, in this order)::

    0, 1     mid_hi, mid_lo   the resource id (sha256 of the deployed model), high and low 128 bits
    2 …      X                every graph input element at scale 2^s, from the transaction's call
                              record (``execution.named_inputs``, else ``execution.args`` in graph
                              input order): plain tensors of the model's element type, or float64 /
                              int64 (a list of numbers) converted to it exactly as the engine does
    … end    Y                every graph output element at scale 2^s, from the call's result
                              (``execution.return_data``: what the journal's ``result.set`` wrote)

Witness and constraints: the compiled model (:mod:`ispc_zkml.compiler`).

Where each public input comes from is the whole point: a verifier recomputes
all of them from the transaction and the model bytes **its own ledger** holds
for the resource id (never from the transaction), compiles the same circuit,
and checks the key was made for it. So an accepted proof says: *the outputs
this transaction carries are the fixed-point evaluation of the deployed model
on the inputs this transaction carries.*

The call's result is the fixed-point outputs. Under this circuit the ONNX
engine returns :func:`evaluate`'s tensors — float64, each exactly ``Y / 2^s``
— as the call's values and ``result.set`` data, and reports onnxruntime's
float outputs and the largest deviation beside them (never signed). A
verifier refuses a result whose values are not on the ``2^-s`` grid, are not
float64, or differ from the return values.

Node parameters (deterministic from the model bytes and the call's input
shapes, so every node derives the same circuit id):

* ``scale``: the model's ``metadata_props`` entry ``ispc.zkml.scale`` if set,
  else the compiler's default choice;
* the input range: ``ispc.zkml.input_range`` (a number, or a JSON object by
  input name) if set, else ``1.0``; a call whose inputs lie outside it is
  refused when it runs (:class:`~ispc_core.errors.InvalidArguments`);
* symbolic dimensions: those of the call's inputs;
* the inputs' range check is the verifier's (``input_check="verifier"``): a
  verifier recomputes the public inputs from the transaction and refuses any
  input outside the declared range, which saves the constraints of a wide
  input layer;
* visibility: inputs public, outputs public, weights fixed.

What it does not prove: anything about onnxruntime's float result (the
deviation is reported, with the compiler's worst-case bound in
:attr:`~ispc_zkml.compiler.CompiledModel.error_bound`), and nothing about
calls on other kinds.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Mapping, Sequence

import numpy as np
import onnx

from ispc_core.errors import InvalidArguments, RequestError
from ispc_core.zk.errors import WitnessError

from .compiler import FAMILY, CompiledModel, compile_model
from .errors import InputError, ModelError

#: where a node checks the inputs' declared range (see the module docstring)
NODE_INPUT_CHECK = "verifier"
#: model metadata keys a deployer sets to choose the node circuit's parameters
SCALE_KEY = "ispc.zkml.scale"
RANGE_KEY = "ispc.zkml.input_range"
DEFAULT_INPUT_RANGE = 1.0
#: compiled circuits kept per process (keyed by model id, input shapes and curve)
CACHE_SIZE = 16

#: witnesses kept from a call's evaluation for its proof (the same inputs, the same circuit)
WITNESS_CACHE = 4

_cache: OrderedDict[tuple, CompiledModel] = OrderedDict()
_witnesses: OrderedDict[tuple, list[int]] = OrderedDict()
_models: OrderedDict[bytes, "_ModelFacts"] = OrderedDict()
_lock = threading.Lock()

#: the dtypes a list of numbers is recorded as (``np.asarray`` of Python floats / ints); the engine
#: converts such a list to the model's element type, and so does :func:`call_inputs`
LIST_DTYPES = (np.dtype("<f8"), np.dtype("<i8"))

_NP_OF_ONNX = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.FLOAT16: np.float16,
}


class _ModelFacts:
    """What the node parameters need from a model, read once per model id."""

    def __init__(self, code: bytes) -> None:
        try:
            proto = onnx.load_from_string(code)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the model's fault
            raise ModelError(f"the deployed model does not parse: {exc}") from None
        init = {t.name for t in proto.graph.initializer}
        self.inputs: list[tuple[str, Any]] = []
        self.declared: dict[str, tuple[int, ...]] = {}
        for vi in proto.graph.input:
            if vi.name in init:
                continue
            t = vi.type.tensor_type
            self.inputs.append((vi.name, _NP_OF_ONNX.get(t.elem_type)))
            self.declared[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim)
        props = {p.key: p.value for p in proto.metadata_props}
        self.scale = _scale_of(props.get(SCALE_KEY))
        self.input_range = _range_of(props.get(RANGE_KEY), [n for n, _ in self.inputs])


def _scale_of(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        s = int(raw)
    except ValueError:
        raise ModelError(f"model metadata {SCALE_KEY} = {raw!r} is not an integer") from None
    if not 1 <= s <= 62:
        raise ModelError(f"model metadata {SCALE_KEY} = {s} is outside 1..62")
    return s


def _range_of(raw: str | None, names: Sequence[str]) -> float | dict[str, float]:
    if raw is None:
        return DEFAULT_INPUT_RANGE
    try:
        value = json.loads(raw)
    except ValueError:
        raise ModelError(f"model metadata {RANGE_KEY} = {raw!r} is not JSON (a number or an object by input name)") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict) and set(value) == set(names) and all(isinstance(v, (int, float)) for v in value.values()):
        return {k: float(v) for k, v in value.items()}
    raise ModelError(f"model metadata {RANGE_KEY} must be a number or an object with a number for each of {', '.join(names)}")


def _facts(code: bytes) -> _ModelFacts:
    mid = hashlib.sha256(code).digest()
    with _lock:
        hit = _models.get(mid)
        if hit is not None:
            _models.move_to_end(mid)
            return hit
    facts = _ModelFacts(code)
    with _lock:
        _models[mid] = facts
        while len(_models) > CACHE_SIZE:
            _models.popitem(last=False)
    return facts


def compiled(code: bytes, shapes: Mapping[str, Sequence[int]] | None, curve: str) -> CompiledModel:
    """The node circuit of ``code`` for inputs of these shapes (the declared ones with symbolic
    dimensions 1 if None), on ``curve``; compiled once per process and kept (LRU)."""
    facts = _facts(code)
    shapes = dict(facts.declared) if shapes is None else {k: tuple(int(d) for d in v) for k, v in shapes.items()}
    key = (hashlib.sha256(code).digest(), tuple(sorted(shapes.items())), curve)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    cm = compile_model(
        code, scale=facts.scale, input_range=facts.input_range, input_shapes=shapes, curve=curve, input_check=NODE_INPUT_CHECK
    )
    with _lock:
        _cache[key] = cm
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return cm


# ---------------------------------------------------------------------------------------
# reading a transaction
# ---------------------------------------------------------------------------------------
def call_inputs(execution, code: bytes) -> dict[str, np.ndarray]:
    """The model inputs a transaction's call record carries, as the engine saw them (cast to the
    model's declared element type), by input name."""
    from ispc_core.journal import decode_arg

    facts = _facts(code)
    names = [n for n, _ in facts.inputs]
    if execution.named_inputs:
        raw = {nv.name: nv.value for nv in execution.named_inputs}
        if execution.args:
            raise RequestError("the call record carries both named and positional inputs")
        if sorted(raw) != sorted(names):
            raise RequestError(f"the call record names inputs {sorted(raw)}; the model takes {names}")
    else:
        if len(execution.args) != len(names):
            raise RequestError(f"the call record carries {len(execution.args)} positional input(s); the model takes {len(names)}")
        raw = dict(zip(names, execution.args))
    out = {}
    for name, dtype in facts.inputs:
        value = decode_arg(bytes(raw[name]))
        if isinstance(value, tuple):
            raise RequestError(f"input {name!r}: the call record holds a named tensor; an ONNX call's inputs are plain tensors")
        arr = np.asarray(value)
        if dtype is None or arr.dtype not in (np.dtype(dtype), *LIST_DTYPES):
            raise RequestError(
                f"input {name!r}: the call record holds {arr.dtype} values; the engine takes {np.dtype(dtype) if dtype else 'floats'} "
                "(or a list of numbers, recorded as float64 or int64)"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            out[name] = arr.astype(dtype)  # exactly the engine's conversion of a list (ispc_onnx.engine.coerce_input)
    return out


def _scale_of_output(cm: CompiledModel, name: str) -> int:
    scales = getattr(cm, "output_scales", None) or {}
    return int(scales.get(name, cm.scale))


def result_tensors(cm: CompiledModel, outputs_q: Mapping[str, Any]) -> list[tuple[str, np.ndarray]]:
    """The call's result for quantized outputs: float64 tensors exactly ``Y / 2^s`` (int64 at scale 0)."""
    out = []
    for name, shape in cm.outputs.items():
        q = np.asarray(outputs_q[name], dtype=object).reshape(shape)
        s = _scale_of_output(cm, name)
        if s == 0:
            out.append((name, q.astype(np.int64)))
        else:
            out.append((name, np.ldexp(q.astype(np.float64), -s)))
    return out


def claimed_outputs(execution, cm: CompiledModel) -> dict[str, np.ndarray]:
    """The quantized outputs a transaction's result states; :class:`RequestError` unless they are
    exactly the tensors :func:`result_tensors` makes (names, order, dtype, shape, the ``2^-s`` grid),
    in the return data and in the return values alike."""
    from ispc_core.journal import decode_arg
    from ispc_onnx.tensorcodec import decode_tensors

    tensors = decode_tensors(bytes(execution.return_data))
    names = [n for n, _ in tensors]
    if names != list(cm.outputs):
        raise RequestError(f"the result holds tensors {names}; the model's outputs are {list(cm.outputs)}")
    values = [decode_arg(bytes(v)) for v in execution.return_values]
    if len(values) != len(tensors) or any(
        not isinstance(v, tuple) or v[0] != n or not np.array_equal(np.asarray(v[1]), a) or np.asarray(v[1]).dtype != a.dtype
        for v, (n, a) in zip(values, tensors)
    ):
        raise RequestError("the return values are not the result's tensors")
    out = {}
    for name, arr in tensors:
        shape = tuple(cm.outputs[name])
        s = _scale_of_output(cm, name)
        if arr.shape != shape:
            raise RequestError(f"output {name!r} has shape {list(arr.shape)}; the circuit's is {list(shape)}")
        if s == 0:
            if arr.dtype != np.int64:
                raise RequestError(f"output {name!r} is {arr.dtype}; an index output is int64")
            out[name] = np.array([int(v) for v in arr.reshape(-1)], dtype=object).reshape(shape)
            continue
        if arr.dtype != np.float64:
            raise RequestError(f"output {name!r} is {arr.dtype}; the proven outputs are float64 on the 2^-{s} grid")
        if np.any((arr == 0) & np.signbit(arr)):
            raise RequestError(f"output {name!r} holds -0.0; the proven outputs write zero as +0.0")
        scaled = np.ldexp(arr, s)
        if not np.all(np.isfinite(scaled)) or not np.array_equal(scaled, np.rint(scaled)) or np.any(np.abs(scaled) >= 2.0**53):
            raise RequestError(f"output {name!r} holds a value that is not a multiple of 2^-{s}")
        out[name] = np.array([int(v) for v in scaled.reshape(-1)], dtype=object).reshape(shape)
    return out


def _circuit_for(code: bytes, inputs: Mapping[str, np.ndarray], curve: str) -> CompiledModel:
    return compiled(code, {k: v.shape for k, v in inputs.items()}, curve)


def _witness(cm: CompiledModel, q: Mapping[str, np.ndarray]) -> list[int]:
    """The witness of quantized inputs ``q``: computed once, when the engine evaluates the call, and
    reused by its proof in the same process (the hints of a LeNet-size model take seconds)."""
    h = hashlib.sha256()
    for name in sorted(q):
        h.update(name.encode() + b"\0" + ",".join(str(int(v)) for v in np.asarray(q[name]).reshape(-1)).encode() + b";")
    key = (cm.circuit_id, cm.curve, h.digest())
    with _lock:
        hit = _witnesses.get(key)
    if hit is not None:
        return hit
    wit = cm.witness(q, quantized=True)
    with _lock:
        _witnesses[key] = wit
        while len(_witnesses) > WITNESS_CACHE:
            _witnesses.popitem(last=False)
    return wit


# ---------------------------------------------------------------------------------------
# the CircuitSpec callables
# ---------------------------------------------------------------------------------------
def evaluate(code: bytes, inputs: Mapping[str, Any], curve: str = "bn254") -> list[tuple[str, np.ndarray]]:
    """The call's result under ``onnx_inference.v1``: the circuit's fixed-point outputs on these
    inputs (named float64 tensors on the ``2^-s`` grid). An input outside the declared range is
    :class:`~ispc_core.errors.InvalidArguments` naming the element.

    >>> evaluate(model_bytes, {"x": x})            # doctest: +SKIP
    [('y', array([[1.58421326, 0.        , ...]]))]
    """
    arrays = {k: np.asarray(v) for k, v in inputs.items()}
    cm = _circuit_for(code, arrays, curve)
    try:
        q = cm.quantize_inputs(arrays)
    except InputError as exc:
        raise InvalidArguments(f"{exc} (the range {FAMILY} proves for this model; a deployer sets it with the model metadata {RANGE_KEY})") from None
    wit = _witness(cm, q)
    pub = wit[1 : 1 + cm.r1cs.n_public]
    return result_tensors(cm, cm.outputs_of(pub))


def instance(sealed, curve: str, *, code: bytes):
    """The circuit instance of one sealed ONNX call: the witness from the call record's inputs,
    checked against the constraints and against the outputs the transaction carries."""
    ex = sealed.transaction.execution
    inputs = call_inputs(ex, code)
    cm = _circuit_for(code, inputs, curve)
    claimed = claimed_outputs(ex, cm)
    inst = cm.instance_of_witness(_witness(cm, cm.quantize_inputs(inputs)))
    for name, q in inst.outputs.items():
        if not np.array_equal(np.asarray(q, dtype=object), claimed[name]):
            raise WitnessError(f"output {name!r} of the transaction is not the circuit's output on its inputs")
    return inst


def public_inputs(tx, curve: str, proof_circuit_id: str = "", *, code: bytes) -> tuple[int, ...]:
    """Every public input recomputed from a transaction and the deployed model (see the module docstring)."""
    ex = tx.execution
    inputs = call_inputs(ex, code)
    cm = _circuit_for(code, inputs, curve)
    if proof_circuit_id and proof_circuit_id != cm.circuit_id:
        raise RequestError(f"the proof is for {proof_circuit_id}; this call's circuit is {cm.circuit_id}")
    try:
        q = cm.quantize_inputs(inputs)
    except InputError as exc:
        raise RequestError(str(exc)) from None
    return cm.public_inputs(q, claimed_outputs(ex, cm))


def compile_member(proof_circuit_id: str, curve: str, *, code: bytes, tx=None):
    """The constraint system of ``proof_circuit_id`` for the deployed model: the circuit of the
    transaction's input shapes (or the declared shapes, without a transaction). :class:`ValueError` if
    that is not the circuit the id names."""
    if tx is not None:
        cm = _circuit_for(code, call_inputs(tx.execution, code), curve)
    else:
        cm = compiled(code, None, curve)
    if cm.circuit_id != proof_circuit_id:
        raise ValueError(f"{proof_circuit_id!r} is not the circuit this node derives for the call ({cm.circuit_id})")
    return cm.r1cs


def members_for(code: bytes, curve: str) -> list[tuple[str, Any]]:
    """The circuits a node sets up ahead of time for a deployed model: ``[(circuit id, R1CS)]`` for its
    declared input shapes (symbolic dimensions 1). Raises a :class:`~ispc_zkml.errors.ZkmlError` naming
    the node and operator if the model has no circuit."""
    cm = compiled(code, None, curve)
    return [(cm.circuit_id, cm.r1cs)]
