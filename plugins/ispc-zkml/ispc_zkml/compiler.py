"""``onnx_inference.v1``: an ONNX model compiled into one R1CS circuit in fixed point.

Public inputs (in this order, each a field element of the curve's scalar field)::

    0        mid_hi   model id (sha256 of the model bytes = the resource id), high 128 bits
    1        mid_lo   model id, low 128 bits
    2 …      X        every graph input, element by element (row-major, graph input order),
                      as round(x · 2^s) mapped to the field (negative v ↦ r − |v|)
    (committed inputs: one public input ``input_commitment`` instead of X; committed
    weights: ``weight_commitment`` after the inputs — :mod:`ispc_zkml.commitment`)
    … end    Y        every graph output likewise, at scale 2^s; an output of an integer type
                      (ArgMax's index, a quantized tensor) is the integer itself (scale 0,
                      :attr:`CompiledModel.output_scales`)

Witness: the rescale quotients, remainder bits and sign bits of every layer,
the products of activation × activation, the ReLU / Clip selections (and the
committed inputs, weights and salts, with the Poseidon sponges over them).

Constraints: the model itself. By default the weights and biases are
*constants* of the circuit (the model is public and its sha256 is the first two
public inputs; the circuit is derived from exactly those bytes), so (with
``weights="committed"`` each multiply by a weight is one constraint instead):

* a multiply-accumulate with a weight, a bias, Add, Sub, a multiplication by a
  constant, and every shape operation (Reshape, Flatten, Transpose, Squeeze,
  Unsqueeze, Concat, Identity) are linear combinations: **no constraint**;
* Conv, AveragePool, GlobalAveragePool and BatchNormalization (constant
  statistics) are linear too (:mod:`ispc_zkml.spatial`); MaxPool is ``b + 2``
  constraints per pairwise maximum;
* a product of two activations is one constraint;
* a value whose scale grew past ``2^s`` (after a product) is rescaled by
  :func:`ispc_core.zk.fixedpoint.rescale` — quotient *and* remainder
  range-checked, ``k + b + 2`` constraints — the first time an operator needs
  it at scale ``s`` (a nonlinearity, another product, an output);
* ReLU takes the quotient's sign bit from the rescale (1 constraint);
* every input is range-checked to its declared range (``b + 1`` each), so no
  input the circuit accepts can wrap the field;
* ArgMax, Sigmoid, Tanh and Softmax are :mod:`ispc_zkml.activations` (a
  proven index; piecewise polynomials whose error is measured on every grid
  point), the int8 operators and Cast :mod:`ispc_zkml.quantized` (exact integer
  arithmetic, every rounding half-to-even and every saturation range-checked,
  :mod:`ispc_zkml.division`);
* each output equals its public wire (1 constraint each).

What the proof says: *the public outputs are the fixed-point evaluation,
defined by this module, of the model with these bytes on the public inputs*.
It says nothing about how close that is to the float model: the compiler's
worst-case error bound (:attr:`CompiledModel.error_bound`) says that.

Entry point: :func:`compile_model`. The circuit id is
``onnx_inference.v1/<model sha256 hex>/s<scale>-<digest of the input ranges
and shapes>`` (:func:`circuit_id`); stage 2 adds the visibility to it and
registers the circuit with the node.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import onnx
from onnx import numpy_helper

from ispc_core.commitment import split128
from ispc_core.zk.errors import CircuitError
from ispc_core.zk.fields import get_field
from ispc_core.zk.fixedpoint import bits_for, clip, from_field, relu, rescale, round_div, signed_range, to_field
from ispc_core.zk.r1cs import LC, R1CS, CircuitBuilder

from .budget import MAX_WORK, check_size
from .errors import InputError, ModelError, ScaleOverflow, UnsupportedOperator
from .activations import ACTIVATIONS, lower_activation
from .commitment import check_salt, commit, commit_gadget
from .quantized import QUANTIZED, coupled_mul, lower_quantized, scale_mul_const
from .spatial import SPATIAL, lower_spatial
from .values import INT_TYPES, Value, absmax, ints, obj, quant

CIRCUIT_NAME = "onnx_inference"
VERSION = "v1"
FAMILY = f"{CIRCUIT_NAME}.{VERSION}"
#: operators with a circuit (constant subgraphs of any operator onnx's reference evaluator knows are folded first)
SUPPORTED = (
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip",
    "Flatten", "Reshape", "Identity", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Shape",
) + SPATIAL + ACTIVATIONS + QUANTIZED  # fmt: skip
#: largest default scale, and the widest quotient range check the default scale allows
MAX_SCALE = 16
QUOTIENT_BITS = 32
#: dtypes a graph input may have (its values are quantized to fixed point)
FLOAT_TYPES = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)


def _finite_err(err) -> np.ndarray:
    """An error bound as float64, an undefined one (``inf · 0``) as ``inf``."""
    e = np.asarray(err, dtype=np.float64)
    return np.where(np.isnan(e), np.inf, e)

__all__ = [
    "CIRCUIT_NAME",
    "VERSION",
    "FAMILY",
    "SUPPORTED",
    "CompiledModel",
    "ZkmlInstance",
    "LayerReport",
    "compile_model",
    "choose_scale",
    "load_model",
    "circuit_id",
    "compile_params",
]


#: where the inputs' declared range is enforced (see :func:`compile_model`)
INPUT_CHECKS = ("circuit", "verifier")
#: whether the inputs are public inputs, or private behind a public Poseidon commitment
INPUT_VISIBILITIES = ("public", "committed")
#: whether the weights are constants of the circuit, or private behind a public Poseidon commitment
WEIGHT_MODES = ("fixed", "committed")


def compile_params(
    scale: int, bounds: Mapping[str, float], specs: Mapping[str, Sequence[int]], input_check: str = "circuit",
    input_visibility: str = "public", weights: str = "fixed",
) -> dict:
    """Everything besides the model bytes that the constraint system depends on (canonical, JSON-ready).

    A default (``input_check="circuit"``, public inputs, fixed weights) is left out, so the
    parameters — and the circuit ids — of circuits compiled before these options existed are unchanged.
    """
    p = {
        "scale": scale,
        "input_range": {k: float(v).hex() for k, v in sorted(bounds.items())},
        "input_shapes": {k: list(map(int, v)) for k, v in sorted(specs.items())},
    }
    if input_check != "circuit":
        p["input_check"] = input_check
    if input_visibility != "public":
        p["input_visibility"] = input_visibility
    if weights != "fixed":
        p["weights"] = weights
    return p


def circuit_id(model_id: bytes, scale: int, params: Mapping | None = None) -> str:
    """``onnx_inference.v1/<model sha256 hex>/s<scale>-<params digest>``: the id keys and proofs carry.

    The digest (12 hex digits of the sha256 of :func:`compile_params` as canonical
    JSON) tells apart circuits of one model at one scale compiled for other input
    ranges or shapes — each has its own constraint system, hence its own keys.
    """
    tail = ""
    if params is not None:
        tail = "-" + hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]
    return f"{FAMILY}/{model_id.hex()}/s{scale}{tail}"


# ---------------------------------------------------------------------------------------
# the builder and the values the lowering works on
# ---------------------------------------------------------------------------------------
class _Builder(CircuitBuilder):
    """A builder whose public inputs may be computed (the outputs), and whose witness can be redone."""

    def computed_public_input(self, name: str, hint: Callable) -> LC:
        """A public-input wire whose value a hint computes (allocated after what it reads)."""
        return self._alloc("pub", name, None, hint)

    def private_constant(self, name: str, value: int) -> LC:
        """A private input wire holding a value fixed at compile time (a committed weight)."""
        v = value % self.r
        return self._alloc("prv", name, None, lambda get: v)

    def assign(self, fixed: Mapping[int, int]) -> list[int]:
        """The witness (circom order) with ``fixed`` wire values and every other wire from its hint."""
        values: list = [None] * len(self._values)
        values[0] = 1
        for w, v in fixed.items():
            values[w] = v % self.r
        self._values = values
        return self.witness_values()


_Value = Value
_obj, _ints, _quant, _absmax = obj, ints, quant, absmax


@dataclass(frozen=True)
class LayerReport:
    """What one ONNX node became: its constraints, the widest range check, its output scale and bounds."""

    node: str
    op_type: str
    constraints: int
    max_bits: int
    scale: int
    shape: tuple[int, ...]
    max_abs: float
    error_bound: float


# ---------------------------------------------------------------------------------------
# loading and constant folding
# ---------------------------------------------------------------------------------------
def load_model(model: bytes | str | Path | onnx.ModelProto) -> tuple[onnx.ModelProto, bytes]:
    """``(model, bytes)``; :class:`ModelError` for anything onnx cannot parse or check."""
    try:
        if isinstance(model, onnx.ModelProto):
            data = model.SerializeToString()
        elif isinstance(model, (bytes, bytearray)):
            data = bytes(model)
        else:
            data = Path(model).read_bytes()
        proto = onnx.load_from_string(data)
        onnx.checker.check_model(proto)
    except OSError as e:
        raise ModelError(f"cannot read the model: {e}") from e
    except Exception as e:  # onnx raises DecodeError, ValidationError, ...
        raise ModelError(f"not a valid ONNX model: {e}") from e
    return proto, data


def _node_name(node, i: int) -> str:
    return node.name or f"{node.op_type}#{i}"


def _attrs(node) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _fold(node, args: list) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    feeds = {n: a for n, a in zip(node.input, args) if n}
    return [np.asarray(o) for o in ReferenceEvaluator(node).run(None, feeds)]


# ---------------------------------------------------------------------------------------
# the lowering
# ---------------------------------------------------------------------------------------
class _Lowering:
    def __init__(self, cb: _Builder, scale: int, types: Mapping[str, int] | None = None):
        self.cb, self.s, self.r = cb, scale, cb.r
        #: the element type of every tensor onnx's shape inference knows (``onnx.TensorProto`` codes)
        self.types = dict(types or {})
        #: the default domain's opset (operators whose semantics changed with it look here)
        self.opset = 17
        #: weights="committed": weights and biases become private wires (in this list, in order)
        self.commit_weights = False
        self.weight_wires: list[LC] = []
        self.weight_values: list[int] = []
        self.weight_widths: list[int] = []
        self.max_bits = 0  # widest range check used so far
        self.max_quotient_bits = 0
        self.limit = cb.field.bits - 2  # k + b and every |X| must stay below this many bits

    # ---- helpers --------------------------------------------------------------------
    def _bits(self, bound: int, tensor: str) -> int:
        b = bits_for(bound)
        if b > self.limit:
            raise ScaleOverflow(
                f"{tensor}: a worst-case value of {bound.bit_length()} bits does not fit the {self.limit}-bit "
                f"range checks of {self.cb.field.name} at scale 2^{self.s}; use a smaller scale",
                tensor=tensor, bits=b, limit=self.limit,
            )
        self.max_bits = max(self.max_bits, b)
        return b

    def check_hard(self, v: _Value, tensor: str) -> None:
        """No accepted witness can wrap the field: ``|X| < 2^(bits(r) - 2)``."""
        m = _absmax(v.hard)
        if m.bit_length() >= self.limit:
            raise ScaleOverflow(
                f"{tensor}: values up to {m.bit_length()} bits would wrap the {self.cb.field.name} field at scale "
                f"2^{self.s} (limit {self.limit} bits); use a smaller scale",
                tensor=tensor, bits=m.bit_length(), limit=self.limit,
            )

    def weights(self, wq: np.ndarray, tensor: str) -> np.ndarray:
        """Private wires holding the quantized weights ``wq`` (committed weights), in row-major order, each
        range-checked to the tensor's largest magnitude (``b + 1`` constraints; what makes their packing
        into the commitment injective, and bounds them in every accepted witness)."""
        out = _obj(wq.shape)
        b = self._bits(_absmax(_ints(wq)), tensor)
        for idx in np.ndindex(*wq.shape):
            w = self.cb.private_constant(f"{tensor}.w{list(idx)}", int(wq[idx]))
            signed_range(self.cb, w, b, f"{tensor}.w{list(idx)}.range")
            out[idx] = w
            self.weight_wires.append(w)
            self.weight_widths.append(b)
            self.weight_values.append(int(wq[idx]))
        return out

    def weight_value(self, c: np.ndarray, e: int, tensor: str) -> _Value:
        """A constant operand (a bias) quantized at ``2^e``, as :meth:`const_value`, but held in
        committed weight wires when the weights are committed."""
        v = self.const_value(c, e)
        if self.commit_weights:
            v.lc = self.weights(_quant(c, e), tensor)
            v.bound = np.full(v.shape, _absmax(v.bound), dtype=object)
            v.hard = v.bound.copy()
        return v

    def const_value(self, c: np.ndarray, e: int) -> _Value:
        cq = _quant(c, e)
        lc = _obj(cq.shape)
        lc.reshape(-1)[:] = [self.cb.const(int(v)) for v in cq.reshape(-1)]
        err = np.abs(np.asarray(c, dtype=np.float64) - cq.astype(float) / 2.0**e)
        ab = _obj(cq.shape)
        ab.reshape(-1)[:] = [abs(int(v)) for v in cq.reshape(-1)]
        return _Value(lc, ab, ab.copy(), err, e)

    def ensure(self, v: _Value, tensor: str) -> _Value:
        """``v`` at scale ``s``: every element rescaled by ``2^(scale − s)`` (range-checked quotient and remainder)."""
        if v.scale <= self.s:
            return v
        if v.ensured is not None:
            return v.ensured
        k = v.scale - self.s
        lc, bound, hard, sign = _obj(v.shape), _obj(v.shape), _obj(v.shape), _obj(v.shape)
        for idx in np.ndindex(*v.shape):
            x, bx = v.lc[idx], int(v.bound[idx])
            if x.is_constant():
                q = round_div(from_field(x.terms.get(0, 0), self.r), k)
                lc[idx], bound[idx], hard[idx], sign[idx] = self.cb.const(q), abs(q), abs(q), self.cb.const(int(q >= 0))
                continue
            bq = (bx >> k) + 1
            b = self._bits(bq, tensor)
            if k + b > self.limit:
                raise ScaleOverflow(
                    f"{tensor}: rescaling by 2^{k} with a {b}-bit quotient needs {k + b} bits, more than the "
                    f"{self.limit} of {self.cb.field.name}; use a smaller scale",
                    tensor=tensor, bits=k + b, limit=self.limit,
                )
            self.max_quotient_bits = max(self.max_quotient_bits, b)
            name = f"{tensor}{list(idx)}"
            q, nonneg = rescale(self.cb, x, k, b, name)
            lc[idx], bound[idx], hard[idx], sign[idx] = q, bq, 1 << (b - 1), nonneg
        v.ensured = _Value(lc, bound, hard, v.err + 2.0 ** -(self.s + 1), self.s, sign)
        return v.ensured

    def sign_of(self, v: _Value, tensor: str) -> np.ndarray:
        """The ``[X >= 0]`` bits of ``v`` (from its range checks, or new signed range checks)."""
        if v.sign is not None:
            return v.sign
        sign = _obj(v.shape)
        for idx in np.ndindex(*v.shape):
            x = v.lc[idx]
            if x.is_constant():
                sign[idx] = self.cb.const(int(from_field(x.terms.get(0, 0), self.r) >= 0))
            else:
                sign[idx] = signed_range(self.cb, x, self._bits(int(v.bound[idx]), tensor), f"{tensor}{list(idx)}.sign")
        v.sign = sign
        return sign

    # ---- linear algebra --------------------------------------------------------------
    def lincomb(self, xs: Sequence[LC], coefs: Sequence[int], const: int = 0) -> LC:
        t: dict[int, int] = {}
        for x, c in zip(xs, coefs):
            if c:
                for w, k in x.terms.items():
                    t[w] = t.get(w, 0) + k * c
        if const:
            t[0] = t.get(0, 0) + const
        return LC(t, self.r)

    def matmul_const(self, v: _Value, w: np.ndarray, tensor: str, wscale: int | None = None) -> _Value:
        """``v @ w`` for a constant 2-D ``w`` quantized at ``2^wscale`` (default ``s``; 0 for an integer
        matrix, which is then exact) — no constraint; output scale ``v.scale + wscale``."""
        v = self.ensure(v, tensor)
        e = self.s if wscale is None else wscale
        if w.ndim == 1:
            return self.matmul_const(v, w.reshape(-1, 1), tensor, wscale).apply(lambda a: a[..., 0])
        if w.ndim != 2:
            raise UnsupportedOperator(tensor, "MatMul", f"a constant operand of rank {w.ndim}")
        squeeze = v.lc.ndim == 1
        if squeeze:
            v = v.apply(lambda a: a.reshape(1, -1))
        K, N = w.shape
        if v.shape[-1] != K:
            raise ModelError(f"{tensor}: cannot multiply {v.shape} by {w.shape}", node=tensor)
        wq = _quant(w, e)
        awq = np.abs(wq)
        dw = np.abs(w.astype(np.float64) - wq.astype(float) / 2.0**e)
        awf = awq.astype(float) / 2.0**e
        lead = v.shape[:-1]
        lc = _obj(lead + (N,))
        if self.commit_weights:  # one product per multiply, whatever the weight (zeros included)
            wl = self.weights(wq, tensor)
            for idx in np.ndindex(*lead):
                xs = list(v.lc[idx])
                for n in range(N):
                    acc = self.cb.const(0)
                    for k in range(K):
                        acc = acc + self.cb.mul(xs[k], wl[k, n], f"{tensor}{list(idx) + [n, k]}", f"{tensor}: x*w")
                    lc[idx + (n,)] = acc
        else:
            cols = [[int(c) for c in wq[:, n]] for n in range(N)]
            for idx in np.ndindex(*lead):
                xs = list(v.lc[idx])
                for n in range(N):
                    lc[idx + (n,)] = self.lincomb(xs, cols[n])
        # committed weights: sized as if every weight had the tensor's largest magnitude, so the circuit
        # depends on the architecture and that magnitude only (new weights of that size: the same keys)
        sized = np.full(awq.shape, _absmax(awq), dtype=object) if self.commit_weights else awq
        bound = v.bound.dot(sized)
        hard = v.hard.dot(sized)
        err = v.err.dot(awf) + v.realmax().dot(dw)
        out = _Value(lc, bound, hard, err, v.scale + e)
        return out.apply(lambda a: a.reshape(a.shape[1:])) if squeeze else out

    def matmul_values(self, a: _Value, b: _Value, tensor: str) -> _Value:
        """``a @ b`` of two activations (2-D, or equal batch dimensions): one constraint per product."""
        a, b = self.ensure(a, tensor + ".a"), self.ensure(b, tensor + ".b")
        if a.lc.ndim < 2 or b.lc.ndim < 2 or a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
            raise ModelError(f"{tensor}: cannot multiply activations of shapes {a.shape} and {b.shape}", node=tensor)
        lead, (M, K), N = a.shape[:-2], a.shape[-2:], b.shape[-1]
        shape = lead + (M, N)
        lc, bound, hard, err = _obj(shape), _obj(shape), _obj(shape), np.zeros(shape)
        ra, rb = a.realmax(), b.realmax()
        for idx in np.ndindex(*lead):
            for i in range(M):
                for j in range(N):
                    acc = self.cb.const(0)
                    bd = hd = 0
                    e = 0.0
                    for k in range(K):
                        ai, bi = idx + (i, k), idx + (k, j)
                        acc = acc + self.cb.mul(a.lc[ai], b.lc[bi], f"{tensor}[{list(idx) + [i, j, k]}]")
                        bd += int(a.bound[ai]) * int(b.bound[bi])
                        hd += int(a.hard[ai]) * int(b.hard[bi])
                        e += ra[ai] * b.err[bi] + rb[bi] * a.err[ai] + a.err[ai] * b.err[bi]
                    o = idx + (i, j)
                    lc[o], bound[o], hard[o], err[o] = acc, bd, hd, e
        return _Value(lc, bound, hard, err, a.scale + b.scale)

    # ---- element-wise -----------------------------------------------------------------
    def align(self, a: _Value, b: _Value) -> tuple[_Value, _Value]:
        """Both at the larger scale (the smaller multiplied by 2^d: exact, no constraint)."""
        e = max(a.scale, b.scale)
        return self.upscale(a, e), self.upscale(b, e)

    @staticmethod
    def upscale(v: _Value, e: int) -> _Value:
        if v.scale == e:
            return v
        m = 1 << (e - v.scale)
        return _Value(v.lc * m, v.bound * m, v.hard * m, v.err, e)

    def add(self, a, b, tensor: str, negate: bool = False, commit: bool = False) -> _Value:
        """``a ± b``; a constant operand is quantized at the other's scale (a committed weight with ``commit``)."""
        const = (lambda c, e: self.weight_value(c, e, tensor)) if commit else self.const_value
        if isinstance(b, np.ndarray):
            b = const(b, a.scale)
        if isinstance(a, np.ndarray):
            a = const(a, b.scale)
        a, b = self.align(a, b)
        shape = np.broadcast_shapes(a.shape, b.shape)
        A = a.apply(lambda x: np.broadcast_to(x, shape))
        B = b.apply(lambda x: np.broadcast_to(x, shape))
        lc = A.lc - B.lc if negate else A.lc + B.lc
        return _Value(np.array(lc, dtype=object).reshape(shape), A.bound + B.bound, A.hard + B.hard, A.err + B.err, a.scale)

    def mul_const(self, v: _Value, c: np.ndarray, tensor: str) -> _Value:
        """``v · c`` for a constant ``c``: an integer keeps the scale, any other is quantized at ``s``
        (a multiple of a dynamic quantization scale keeps its precision: :func:`quantized.scale_mul_const`)."""
        c = np.asarray(c, dtype=np.float64)
        if v.dscale is not None and c.size == 1:
            return scale_mul_const(self, v, float(c.reshape(-1)[0]), tensor)
        shape = np.broadcast_shapes(v.shape, c.shape)
        if np.all(c == np.rint(c)) and np.all(np.abs(c) < 2.0**52):
            ci = _ints(np.broadcast_to(c, shape))
            V = v.apply(lambda x: np.broadcast_to(x, shape))
            ac = np.abs(ci)
            return _Value(V.lc * ci, V.bound * ac, V.hard * ac, V.err * ac.astype(float), v.scale)
        v = self.ensure(v, tensor)
        V = v.apply(lambda x: np.broadcast_to(x, shape))
        cq = _quant(np.broadcast_to(c, shape), self.s)
        ac = np.abs(cq)
        dc = np.abs(np.broadcast_to(c, shape) - cq.astype(float) / 2.0**self.s)
        err = V.err * ac.astype(float) / 2.0**self.s + V.realmax() * dc
        return _Value(V.lc * cq, V.bound * ac, V.hard * ac, err, v.scale + self.s)

    def mul_values(self, a: _Value, b: _Value, tensor: str) -> _Value:
        a, b = self.ensure(a, tensor + ".a"), self.ensure(b, tensor + ".b")
        shape = np.broadcast_shapes(a.shape, b.shape)
        A = a.apply(lambda x: np.broadcast_to(x, shape))
        B = b.apply(lambda x: np.broadcast_to(x, shape))
        lc = _obj(shape)
        for idx in np.ndindex(*shape):
            lc[idx] = self.cb.mul(A.lc[idx], B.lc[idx], f"{tensor}{list(idx)}")
        err = A.realmax() * B.err + B.realmax() * A.err + A.err * B.err
        return _Value(lc, A.bound * B.bound, A.hard * B.hard, err, a.scale + b.scale)

    def relu(self, v: _Value, tensor: str) -> _Value:
        v = self.ensure(v, tensor)
        sign = self.sign_of(v, tensor)
        lc = _obj(v.shape)
        for idx in np.ndindex(*v.shape):
            lc[idx] = relu(self.cb, v.lc[idx], sign[idx], name=f"{tensor}{list(idx)}")
        return _Value(lc, v.bound, v.hard, v.err, v.scale, None)

    def leaky_relu(self, v: _Value, alpha: float, tensor: str) -> _Value:
        v = self.ensure(v, tensor)
        sign = self.sign_of(v, tensor)
        s = self.s
        aq = int(np.rint(alpha * 2.0**s))
        lc, bound, hard = _obj(v.shape), _obj(v.shape), _obj(v.shape)
        for idx in np.ndindex(*v.shape):
            x = v.lc[idx]
            pos = self.cb.mul(sign[idx], x, f"{tensor}{list(idx)}.pos")
            wide = x * aq + pos * ((1 << s) - aq)
            bw = int(v.bound[idx]) * max(abs(aq), 1 << s, abs((1 << s) - aq) + abs(aq))
            bq = (bw >> s) + 1
            b = self._bits(bq, tensor)
            q, _ = rescale(self.cb, wide, s, b, f"{tensor}{list(idx)}.rescale")
            lc[idx], bound[idx], hard[idx] = q, bq, 1 << (b - 1)
        err = v.err * max(1.0, abs(alpha)) + v.realmax() * abs(alpha - aq / 2.0**s) + 2.0 ** -(s + 1)
        return _Value(lc, bound, hard, err, s)

    def clip(self, v: _Value, lo: float | None, hi: float | None, tensor: str) -> _Value:
        v = self.ensure(v, tensor)
        s = self.s
        loq = None if lo is None else int(np.rint(lo * 2.0**s))
        hiq = None if hi is None else int(np.rint(hi * 2.0**s))
        lc, bound, hard = _obj(v.shape), _obj(v.shape), _obj(v.shape)
        extra = max(abs(loq or 0), abs(hiq or 0))

        def clamp(t: int) -> int:
            t = t if loq is None else max(t, loq)
            return t if hiq is None else min(t, hiq)

        for idx in np.ndindex(*v.shape):
            bx, hx = int(v.bound[idx]), int(v.hard[idx])
            b = self._bits(bx + 2 * extra, tensor)
            lc[idx] = clip(self.cb, v.lc[idx], loq, hiq, b, f"{tensor}{list(idx)}")
            bound[idx] = max(abs(clamp(-bx)), abs(clamp(bx)))
            hard[idx] = extra if (loq is not None and hiq is not None) else max(hx, extra)
        err = v.err + (2.0 ** -(s + 1) if (lo is not None or hi is not None) else 0.0)
        return _Value(lc, bound, hard, err, s)


# ---------------------------------------------------------------------------------------
# operators
# ---------------------------------------------------------------------------------------
def _axes(node, args, attrs, i: int = 1):
    if len(args) > i and args[i] is not None:
        if not isinstance(args[i], np.ndarray):
            raise ModelError(f"node {node.name!r}: {node.op_type} axes must be constant", node=node.name)
        return [int(a) for a in args[i].reshape(-1)]
    return list(attrs["axes"]) if "axes" in attrs else None


def _lower(L: _Lowering, node, name: str, args: list) -> list:
    op, at = node.op_type, _attrs(node)
    x = args[0] if args else None
    isv = [isinstance(a, _Value) for a in args]
    if op == "Identity":
        return [x]
    if op == "Shape":
        shape = np.array(x.shape, dtype=np.int64)
        start, end = at.get("start", 0), at.get("end", None)
        return [shape[start:end]]
    if op == "Flatten":
        axis = at.get("axis", 1)
        axis = axis + len(x.shape) if axis < 0 else axis
        rows = int(np.prod(x.shape[:axis], dtype=np.int64))
        return [x.apply(lambda a: a.reshape(rows, -1))]
    if op == "Reshape":
        if not isinstance(args[1], np.ndarray):
            raise ModelError(f"node {name!r}: Reshape to a shape computed at run time", node=name)
        target = [int(d) for d in args[1].reshape(-1)]
        if not at.get("allowzero", 0):
            target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
        return [x.apply(lambda a: a.reshape(target))]
    if op == "Transpose":
        perm = at.get("perm", list(range(len(x.shape)))[::-1])
        return [x.apply(lambda a: np.transpose(a, perm))]
    if op == "Squeeze":
        axes = _axes(node, args, at)
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1) if axes is None else tuple(a % len(x.shape) for a in axes)
        return [x.apply(lambda a: np.squeeze(a, axis=axes))]
    if op == "Unsqueeze":
        axes = _axes(node, args, at)
        rank = len(x.shape) + len(axes)
        axes = tuple(sorted(a % rank for a in axes))
        return [x.apply(lambda a: np.expand_dims(a, axes))]
    if op == "Concat":
        axis = at["axis"]
        vals = [a for a in args if isinstance(a, _Value)]
        e = max(v.scale for v in vals)
        parts = [L.upscale(a, e) if isinstance(a, _Value) else L.const_value(a, e) for a in args]
        cat = lambda get: np.concatenate([get(p) for p in parts], axis=axis)  # noqa: E731
        return [_Value(cat(lambda p: p.lc), cat(lambda p: p.bound), cat(lambda p: p.hard), cat(lambda p: p.err), e)]
    if op in ("Add", "Sub"):
        cw = L.commit_weights
        if not isv[0] and op == "Sub":  # c - x
            return [L.add(L.weight_value(args[0], args[1].scale, name) if cw else L.const_value(args[0], args[1].scale), args[1], name, negate=True)]
        a, b = (args[0], args[1]) if isv[0] else (args[1], args[0])
        return [L.add(a, b, name, negate=(op == "Sub"), commit=cw)]
    if op == "Mul":
        if isv[0] and isv[1]:
            coupled = coupled_mul(L, args[0], args[1], name)
            return [coupled if coupled is not None else L.mul_values(args[0], args[1], name)]
        a, c = (args[0], args[1]) if isv[0] else (args[1], args[0])
        return [L.mul_const(a, c, name)]
    if op == "Div":
        if isv[1]:
            raise UnsupportedOperator(name, op, "division by a tensor computed at run time")
        c = np.asarray(args[1], dtype=np.float64)
        if np.any(c == 0):
            raise ModelError(f"node {name!r}: division by zero in a constant", node=name)
        return [L.mul_const(x, 1.0 / c, name)]
    if op == "MatMul":
        a, b = args
        if isv[0] and isv[1]:
            return [L.matmul_values(a, b, name)]
        if isv[0]:
            return [L.matmul_const(a, np.asarray(b, dtype=np.float64), name)]
        if b.lc.ndim != 2 or np.asarray(a).ndim != 2:
            raise UnsupportedOperator(name, op, "a constant left operand with a non-2-D activation")
        # (W @ X) = (X^T @ W^T)^T
        t = b.apply(lambda m: m.T)
        return [L.matmul_const(t, np.asarray(a, dtype=np.float64).T, name).apply(lambda m: m.T)]
    if op == "Gemm":
        a, b = args[0], args[1]
        c = args[2] if len(args) > 2 else None
        alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
        if not isv[0]:
            raise UnsupportedOperator(name, op, "a constant A operand")
        if at.get("transA", 0):
            a = a.apply(lambda m: m.T)
        if isv[1]:
            if at.get("transB", 0):
                b = b.apply(lambda m: m.T)
            y = L.matmul_values(a, b, name)
            if alpha != 1.0:
                y = L.mul_const(y, np.array(alpha), name)
        else:
            bm = np.asarray(b, dtype=np.float64)
            bm = (bm.T if at.get("transB", 0) else bm) * alpha
            y = L.matmul_const(a, bm, name)
        if c is not None:
            if isinstance(c, _Value):
                y = L.add(y, L.mul_const(c, np.array(beta), name), name)
            else:
                y = L.add(y, np.asarray(c, dtype=np.float64) * beta, name, commit=L.commit_weights)
        return [y]
    if op == "Relu":
        return [L.relu(x, name)]
    if op == "LeakyRelu":
        return [L.leaky_relu(x, float(at.get("alpha", 0.01)), name)]
    if op == "Clip":
        lo = at.get("min") if "min" in at else None
        hi = at.get("max") if "max" in at else None
        for i, slot in ((1, "lo"), (2, "hi")):
            if len(args) > i and args[i] is not None:
                if isinstance(args[i], _Value):
                    raise UnsupportedOperator(name, op, "bounds computed at run time")
                if slot == "lo":
                    lo = float(np.asarray(args[i]).reshape(()))
                else:
                    hi = float(np.asarray(args[i]).reshape(()))
        return [L.clip(x, lo, hi, name)]
    if op in SPATIAL:
        return lower_spatial(L, node, name, args, at, _Value, _obj, _quant)
    if op in ACTIVATIONS:
        return lower_activation(L, node, name, args, at)
    if op in QUANTIZED:
        return lower_quantized(L, node, name, args, at)
    raise UnsupportedOperator(name, op)


# ---------------------------------------------------------------------------------------
# the compiled model
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZkmlInstance:
    """One proven-to-be inference: what a prover needs (``circuit_id``, ``version``, ``r1cs``,
    ``witness``, ``public_inputs``, ``curve``) and the quantized outputs."""

    circuit_id: str
    version: str
    curve: str
    r1cs: R1CS = field(repr=False)
    witness: tuple[int, ...] = field(repr=False)
    public_inputs: tuple[int, ...] = field(repr=False)
    outputs: dict[str, np.ndarray] = field(repr=False)

    @property
    def constraint_count(self) -> int:
        return len(self.r1cs.constraints)


@dataclass
class CompiledModel:
    """A model compiled at one scale on one curve (see the module docstring).

    ``layers`` reports every node's constraints; ``error_bound[name]`` is the
    worst-case absolute error of each output element (real units) against the
    model in exact arithmetic, for inputs inside ``input_bounds``.
    """

    model_id: bytes
    circuit_id: str
    scale: int
    curve: str
    r1cs: R1CS = field(repr=False)
    inputs: dict[str, tuple[int, ...]]
    outputs: dict[str, tuple[int, ...]]
    input_bounds: dict[str, float]
    #: what besides the model bytes fixes the circuit (:func:`compile_params`); its digest is in the circuit id
    params: dict
    #: "circuit": inputs range-checked by constraints; "verifier": by :meth:`public_inputs` (no constraints)
    input_check: str
    error_bound: dict[str, np.ndarray] = field(repr=False)
    output_bounds: dict[str, float]
    layers: list[LayerReport]
    max_quotient_bits: int
    folded: int
    _cb: _Builder = field(repr=False)
    _input_wires: dict[str, np.ndarray] = field(repr=False)
    _output_wires: dict[str, np.ndarray] = field(repr=False)
    _id_wires: tuple[int, int] = field(repr=False)
    #: the scale of each output: ``s`` for a float output, 0 for an integer one (the value is the integer)
    output_scales: dict[str, int] = field(default_factory=dict)
    #: "public": the inputs are public inputs; "committed": private, behind :meth:`input_commitment`
    input_visibility: str = "public"
    #: "fixed": the weights are constants of the circuit; "committed": private wires behind :attr:`weight_commitment`
    weights: str = "fixed"
    #: the public Poseidon commitment to the committed weights (None when they are fixed)
    weight_commitment: int | None = None
    #: the committed weights as the circuit uses them (quantized, in commitment order; empty when fixed)
    weight_values: tuple[int, ...] = field(default=(), repr=False)
    #: the signed bit width each committed weight / input is range-checked to and packed with
    weight_widths: tuple[int, ...] = field(default=(), repr=False)
    input_widths: tuple[int, ...] = field(default=(), repr=False)
    _salt_wire: int | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    version = VERSION

    @property
    def constraint_count(self) -> int:
        return len(self.r1cs.constraints)

    @property
    def public_input_names(self) -> list[str]:
        """The names of the public inputs in circuit order."""
        return self.r1cs.wire_names[1 : 1 + self.r1cs.n_public]

    # ---- values ----------------------------------------------------------------------
    def quantize_inputs(self, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """``round(x · 2^s)`` of every input (int64 arrays); :class:`InputError` for a missing, extra,
        misshapen, non-numeric or out-of-range input, naming it."""
        extra = set(inputs) - set(self.inputs)
        if extra:
            raise InputError(f"unknown input {sorted(extra)[0]!r}; the model takes {', '.join(self.inputs)}", name=sorted(extra)[0])
        out = {}
        for name, shape in self.inputs.items():
            if name not in inputs:
                raise InputError(f"missing input {name!r} of shape {list(shape)}", name=name)
            a = np.asarray(inputs[name])
            if a.dtype.kind not in "fiu":
                raise InputError(f"input {name!r} has dtype {a.dtype}; expected numbers", name=name)
            if a.shape != tuple(shape):
                if a.size == int(np.prod(shape, dtype=np.int64)) and a.ndim <= 1:
                    a = a.reshape(shape)
                else:
                    raise InputError(f"input {name!r} has shape {list(a.shape)}; the circuit takes {list(shape)}", name=name)
            if not np.all(np.isfinite(a)):
                raise InputError(f"input {name!r} holds a NaN or infinity", name=name)
            q = np.rint(a.astype(np.float64) * 2.0**self.scale).astype(np.int64)
            limit = int(np.rint(self.input_bounds[name] * 2.0**self.scale))
            worst = int(np.abs(q).max(initial=0))
            if worst > limit:
                i = np.unravel_index(int(np.abs(q).argmax()), q.shape)
                raise InputError(
                    f"input {name!r}{list(map(int, i))} = {a[i]} is outside the declared range "
                    f"[-{self.input_bounds[name]}, {self.input_bounds[name]}] the circuit was compiled for",
                    name=name,
                )
            out[name] = q
        return out

    def dequantize(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Fixed-point integers → floats (``v / 2^s``); an integer output (scale 0, e.g. ArgMax's
        index) as int64, unchanged."""
        out = {}
        for k, v in values.items():
            e = self.output_scales.get(k, self.scale)
            out[k] = np.asarray(v, dtype=np.int64) if e == 0 else np.asarray(v, dtype=np.float64) / 2.0**e
        return out

    def _checked_inputs(self, inputs_q: Mapping[str, np.ndarray]) -> list[int]:
        """The quantized inputs as field elements in circuit order; :class:`InputError` for a wrong shape
        or a value outside the declared range."""
        r = self.r1cs.field.modulus
        vals = []
        for name, shape in self.inputs.items():
            if name not in inputs_q:
                raise InputError(f"missing input {name!r}", name=name)
            a = np.asarray(inputs_q[name])
            if a.shape != tuple(shape) or a.dtype.kind not in "iuO":
                raise InputError(f"quantized input {name!r}: expected integers of shape {list(shape)}, got {a.dtype} {list(a.shape)}", name=name)
            limit = int(np.rint(self.input_bounds[name] * 2.0**self.scale))
            for idx in np.ndindex(*a.shape):
                if abs(int(a[idx])) > limit:
                    raise InputError(
                        f"input {name!r}{list(idx)} = {int(a[idx])} / 2^{self.scale} is outside the declared range "
                        f"[-{self.input_bounds[name]}, {self.input_bounds[name]}]",
                        name=name,
                    )
            vals += [to_field(int(v), r) for v in a.reshape(-1)]
        return vals

    def input_commitment(self, inputs_q: Mapping[str, np.ndarray], salt: int = 0) -> int:
        """``PoseidonSponge([salt, *inputs])`` of the quantized inputs (circuit order): the public input that
        stands for them when they are committed (:mod:`ispc_zkml.commitment`).

        ``salt`` (an integer below the field modulus; 0 by default) makes the commitment hiding.
        """
        r = self.r1cs.field.modulus
        if self.input_visibility != "committed":
            raise InputError("the inputs of this circuit are public: they have no commitment", name="input_commitment")
        vals = [from_field(v, r) for v in self._checked_inputs(inputs_q)]
        return commit(vals, self.input_widths, check_salt(salt, r, "input"), self.curve, r, self.r1cs.field.bits - 2)

    def public_inputs(self, inputs_q: Mapping[str, np.ndarray], outputs_q: Mapping[str, np.ndarray], *, salt: int = 0) -> tuple[int, ...]:
        """The public inputs from the model id, quantized inputs and quantized outputs (what a verifier recomputes).

        Refuses (:class:`InputError`) a quantized input of the wrong shape or outside the declared
        range: with ``input_check="verifier"`` this *is* the range check the circuit relies on. With
        committed inputs the inputs are replaced by their commitment (with ``salt``); a verifier who
        knows only the commitment uses :meth:`public_inputs_from`.
        """
        if self.input_visibility == "committed":
            return self.public_inputs_from(outputs_q, input_commitment=self.input_commitment(inputs_q, salt))
        hi, lo = split128(self.model_id)
        return tuple([hi, lo] + self._checked_inputs(inputs_q) + self._tail(outputs_q))

    def public_inputs_from(self, outputs_q: Mapping[str, np.ndarray], *, input_commitment: int | None = None) -> tuple[int, ...]:
        """The public inputs from the claimed outputs and the commitments alone (committed inputs): what a
        verifier that never sees the inputs computes. The weight commitment is the compiled model's."""
        if self.input_visibility != "committed":
            raise InputError("the inputs of this circuit are public: use public_inputs(inputs_q, outputs_q)", name="input_commitment")
        r = self.r1cs.field.modulus
        if not isinstance(input_commitment, int) or not 0 <= input_commitment < r:
            raise InputError(f"input_commitment must be a field element, got {input_commitment!r}", name="input_commitment")
        hi, lo = split128(self.model_id)
        return tuple([hi, lo, input_commitment] + self._tail(outputs_q))

    def _tail(self, outputs_q: Mapping[str, np.ndarray]) -> list[int]:
        """The weight commitment (when committed) and the outputs, as public inputs."""
        r = self.r1cs.field.modulus
        vals = [] if self.weight_commitment is None else [self.weight_commitment]
        for name, shape in self.outputs.items():
            if name not in outputs_q:
                raise InputError(f"missing output {name!r}", name=name)
            a = np.asarray(outputs_q[name])
            if a.size != int(np.prod(shape, dtype=np.int64)):
                raise InputError(f"output {name!r} has {a.size} elements; the circuit has {list(shape)}", name=name)
            vals += [to_field(int(v), r) for v in a.reshape(-1)]
        return vals

    def outputs_of(self, public_inputs: Sequence[int]) -> dict[str, np.ndarray]:
        """The quantized outputs a public-input vector states."""
        r = self.r1cs.field.modulus
        pos = 2 + (1 if self.input_visibility == "committed" else sum(int(np.prod(s, dtype=np.int64)) for s in self.inputs.values()))
        pos += 0 if self.weight_commitment is None else 1
        out = {}
        for name, shape in self.outputs.items():
            n = int(np.prod(shape, dtype=np.int64))
            out[name] = np.array([from_field(v, r) for v in public_inputs[pos : pos + n]], dtype=object).reshape(shape)
            pos += n
        return out

    # ---- witness ---------------------------------------------------------------------
    def wire(self, name: str) -> int:
        """The builder index of a named wire (for tests that pin one: :meth:`witness`'s ``pins``)."""
        try:
            return self._cb._names.index(name)
        except ValueError:
            raise KeyError(f"no wire named {name!r}") from None

    def wire_names(self) -> list[str]:
        return list(self._cb._names)

    def witness(self, inputs: Mapping[str, Any], *, quantized: bool = False, pins: Mapping[int, int] | None = None, salt: int = 0) -> list[int]:
        """The full witness (circom order) from the circuit's hints on these inputs.

        ``pins`` forces builder wires to values (what a forger would do);
        everything else is recomputed from them. Not checked here. ``salt``:
        the committed inputs' salt (ignored when the inputs are public).
        """
        q = {k: np.asarray(v) for k, v in inputs.items()} if quantized else self.quantize_inputs(inputs)
        r = self.r1cs.field.modulus
        hi, lo = split128(self.model_id)
        fixed = {self._id_wires[0]: hi, self._id_wires[1]: lo}
        for name, wires in self._input_wires.items():
            for w, v in zip(wires.reshape(-1), np.asarray(q[name]).reshape(-1)):
                fixed[int(w)] = to_field(int(v), r)
        if self._salt_wire is not None:
            fixed[self._salt_wire] = check_salt(salt, r, "input")
        for w, v in (pins or {}).items():
            fixed[w] = v
        with self._lock:
            return self._cb.assign(fixed)

    def instance(self, inputs: Mapping[str, Any], *, quantized: bool = False, salt: int = 0) -> ZkmlInstance:
        """Witness, check it against the constraints, and package it for a prover (``salt``: the committed
        inputs' salt)."""
        return self.instance_of_witness(self.witness(inputs, quantized=quantized, salt=salt))

    def instance_of_witness(self, wit: Sequence[int]) -> ZkmlInstance:
        """Check a full witness (circom order) against the constraints and package it for a prover."""
        self.r1cs.check(wit)
        pub = tuple(wit[1 : 1 + self.r1cs.n_public])
        return ZkmlInstance(self.circuit_id, VERSION, self.curve, self.r1cs, tuple(wit), pub, self.outputs_of(pub))

    def run(self, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The circuit's outputs, dequantized (floats)."""
        return self.dequantize(self.instance(inputs).outputs)

    def report(self) -> str:
        """A table of constraints per layer."""
        rows = [f"{'node':<24} {'op':<10} {'constraints':>11} {'max bits':>8} {'scale':>5}  shape"]
        for l in self.layers:
            rows.append(f"{l.node:<24} {l.op_type:<10} {l.constraints:>11} {l.max_bits:>8} {l.scale:>5}  {list(l.shape)}")
        rows.append(f"{'total':<24} {'':<10} {self.constraint_count:>11}")
        return "\n".join(rows)


# ---------------------------------------------------------------------------------------
# compile
# ---------------------------------------------------------------------------------------
def _input_specs(graph, init: set[str], input_shapes: Mapping[str, Sequence[int]] | None) -> dict[str, tuple[int, ...]]:
    specs = {}
    for vi in graph.input:
        if vi.name in init:
            continue
        t = vi.type.tensor_type
        if t.elem_type not in FLOAT_TYPES:
            raise ModelError(
                f"input {vi.name!r} has element type {onnx.TensorProto.DataType.Name(t.elem_type)}; "
                "onnx_inference.v1 takes float inputs (quantized to fixed point)",
                node=vi.name,
            )
        if input_shapes and vi.name in input_shapes:
            shape = tuple(int(d) for d in input_shapes[vi.name])
        else:
            if not t.HasField("shape"):
                raise ModelError(f"input {vi.name!r} has no shape; give input_shapes", node=vi.name)
            # a symbolic dimension (a batch) becomes 1
            shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim)
        if any(d <= 0 for d in shape):
            raise ModelError(f"input {vi.name!r} has shape {list(shape)}; every dimension must be fixed", node=vi.name)
        specs[vi.name] = shape
    return specs


def _bounds(input_range, names) -> dict[str, float]:
    out = {}
    for n in names:
        v = input_range[n] if isinstance(input_range, Mapping) else input_range
        if isinstance(v, (tuple, list)):
            v = max(abs(float(v[0])), abs(float(v[1])))
        v = float(v)
        if not v > 0 or not math.isfinite(v):
            raise InputError(f"input {n!r}: the declared range must be a positive number, got {v}", name=n)
        out[n] = v
    return out


@dataclass(frozen=True)
class _Options:
    """The compile options that shape the constraint system (besides scale, ranges and shapes)."""

    input_check: str = "circuit"
    input_visibility: str = "public"
    weights: str = "fixed"
    weight_salt: int = 0


def _build(proto: onnx.ModelProto, data: bytes, scale: int, curve: str, specs, bounds, opts: _Options = _Options(), types=None) -> CompiledModel:
    graph = proto.graph
    cb = _Builder(get_field(curve))
    L = _Lowering(cb, scale, types)
    L.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), L.opset)
    L.commit_weights = opts.weights == "committed"
    input_check = opts.input_check
    committed_inputs = opts.input_visibility == "committed"
    model_id = hashlib.sha256(data).digest()
    params = compile_params(scale, bounds, specs, input_check, opts.input_visibility, opts.weights)
    env: dict[str, Any] = {}
    for t in graph.initializer:
        env[t.name] = numpy_helper.to_array(t)
    id_hi = cb.public_input("mid_hi")
    id_lo = cb.public_input("mid_lo")
    layers: list[LayerReport] = []
    input_wires = {}
    n0 = len(cb._constraints)
    for name, shape in specs.items():
        wires, lc = _obj(shape), _obj(shape)
        for idx in np.ndindex(*shape):
            w = cb.private_input(f"{name}{list(idx)}") if committed_inputs else cb.public_input(f"{name}{list(idx)}")
            (wires[idx],) = w.terms
            lc[idx] = w
        B = int(np.rint(bounds[name] * 2.0**scale))
        if input_check == "circuit":
            b = L._bits(B, name)
            v = _Value(lc, np.full(shape, B, dtype=object), np.full(shape, 1 << (b - 1), dtype=object), np.full(shape, 2.0 ** -(scale + 1)), scale)
            L.sign_of(v, name)  # the in-circuit range check of every input (its sign bits are kept for a ReLU)
        else:  # |X| <= B is the verifier's check (public_inputs refuses anything else)
            v = _Value(lc, np.full(shape, B, dtype=object), np.full(shape, B, dtype=object), np.full(shape, 2.0 ** -(scale + 1)), scale)
        env[name] = v
        input_wires[name] = wires
    # the commitments' public wires come right after the inputs (their values: the native sponge)
    salt_in = x_commit = w_commit = None
    r, room = cb.r, cb.field.bits - 2
    if committed_inputs:
        salt_in = cb.private_input("input_salt")
        in_lcs = [lc for ws in input_wires.values() for lc in (LC({int(w): 1}, r) for w in ws.reshape(-1))]
        in_widths = [bits_for(int(np.rint(bounds[n] * 2.0**scale))) for n, shape in specs.items() for _ in range(int(np.prod(shape, dtype=np.int64)))]
        x_commit = cb.computed_public_input(
            "input_commitment", hint=lambda get: commit([from_field(get(w), r) for w in in_lcs], in_widths, get(salt_in), curve, r, room)
        )
    if L.commit_weights:
        salt_w = cb.private_constant("weight_salt", opts.weight_salt)
        w_commit = cb.computed_public_input(
            "weight_commitment", hint=lambda get: commit([from_field(get(w), r) for w in L.weight_wires], L.weight_widths, get(salt_w), curve, r, room)
        )
    layers.append(LayerReport("(inputs)", "range", len(cb._constraints) - n0, L.max_bits, scale, (), max(bounds.values(), default=0.0), 2.0 ** -(scale + 1)))
    folded = 0
    for i, node in enumerate(graph.node):
        name = _node_name(node, i)
        args = [env.get(n) if n else None for n in node.input]
        for n, a in zip(node.input, args):
            if n and a is None:
                raise ModelError(f"node {name!r}: input {n!r} is not computed before it", node=name)
        if node.op_type == "Constant" or all(a is None or isinstance(a, np.ndarray) for a in args):
            try:
                outs = _fold(node, args)
            except Exception as e:
                raise ModelError(f"node {name!r}: cannot fold the constant {node.op_type}: {e}", node=name) from e
            folded += 1
        else:
            if node.op_type not in SUPPORTED:
                raise UnsupportedOperator(name, node.op_type)
            n0, b0 = len(cb._constraints), L.max_bits
            L.max_bits = 0
            try:
                outs = _lower(L, node, name, args)
            except (UnsupportedOperator, ModelError, ScaleOverflow):
                raise
            except (CircuitError, ValueError, IndexError, KeyError) as e:
                raise ModelError(f"node {name!r} ({node.op_type}): {e}", node=name) from e
            for o in outs:
                if isinstance(o, _Value):
                    L.check_hard(o, name)
            v = next((o for o in outs if isinstance(o, _Value)), None)
            layers.append(
                LayerReport(
                    name, node.op_type, len(cb._constraints) - n0, L.max_bits, v.scale if v else 0, v.shape if v else (),
                    float(_finite_err(v.realmax()).max(initial=0.0)) if v else 0.0, float(_finite_err(v.err).max(initial=0.0)) if v else 0.0,
                )
            )
            L.max_bits = max(L.max_bits, b0)
        for n, o in zip(node.output, outs):
            if n:
                env[n] = o
    # the commitments: Poseidon sponges of the salt and the committed wires, equal to their public wires
    if committed_inputs or L.commit_weights:
        n0 = len(cb._constraints)
        if committed_inputs:
            commit_gadget(cb, salt_in, in_lcs, in_widths, x_commit, "input_commitment")
        if L.commit_weights:
            commit_gadget(cb, salt_w, L.weight_wires, L.weight_widths, w_commit, "weight_commitment")
        layers.append(LayerReport("(commitments)", "poseidon", len(cb._constraints) - n0, 0, 0, (), 0.0, 0.0))
    # outputs: at scale s, each equal to its public wire
    n0 = len(cb._constraints)
    L.max_bits = 0
    out_vals, output_wires, err_bound, out_bounds, out_scales = {}, {}, {}, {}, {}
    for vi in graph.output:
        v = env.get(vi.name)
        if v is None:
            raise ModelError(f"output {vi.name!r} is never computed", node=vi.name)
        integer = vi.type.tensor_type.elem_type in INT_TYPES
        if isinstance(v, np.ndarray):
            v = L.const_value(v.astype(np.float64), 0 if integer else scale)
        if integer:  # an integer output (ArgMax's index, a quantized tensor) is the integer itself: scale 0
            if v.scale != 0:
                raise ModelError(f"output {vi.name!r} has an integer type but a fixed-point value (scale 2^{v.scale})", node=vi.name)
        else:
            v = L.upscale(L.ensure(v, vi.name), scale)
        out_vals[vi.name] = v
        out_scales[vi.name] = v.scale
    for oname, v in out_vals.items():
        wires = _obj(v.shape)
        for idx in np.ndindex(*v.shape):
            lc = v.lc[idx]
            w = cb.computed_public_input(f"{oname}{list(idx)}", hint=lambda get, lc=lc: get(lc))
            cb.assert_equal(lc, w, f"{oname}{list(idx)} = public output")
            (wires[idx],) = w.terms
        output_wires[oname] = wires
        err_bound[oname] = _finite_err(v.err)
        out_bounds[oname] = float(_finite_err(v.realmax()).max(initial=0.0))
    layers.append(LayerReport("(outputs)", "output", len(cb._constraints) - n0, L.max_bits, scale, (), max(out_bounds.values(), default=0.0), max((float(e.max(initial=0.0)) for e in err_bound.values()), default=0.0)))
    r1cs = cb.compile()
    return CompiledModel(
        model_id=model_id,
        circuit_id=circuit_id(model_id, scale, params),
        params=params,
        input_check=input_check,
        scale=scale,
        curve=curve,
        r1cs=r1cs,
        inputs=dict(specs),
        outputs={k: v.shape for k, v in out_vals.items()},
        input_bounds=dict(bounds),
        error_bound=err_bound,
        output_bounds=out_bounds,
        layers=layers,
        max_quotient_bits=L.max_quotient_bits,
        folded=folded,
        output_scales=out_scales,
        input_visibility=opts.input_visibility,
        weights=opts.weights,
        weight_commitment=commit(L.weight_values, L.weight_widths, opts.weight_salt, curve, r, room) if L.commit_weights else None,
        weight_values=tuple(L.weight_values),
        weight_widths=tuple(L.weight_widths),
        input_widths=tuple(in_widths) if committed_inputs else (),
        _salt_wire=None if salt_in is None else next(iter(salt_in.terms)),
        _cb=cb,
        _input_wires=input_wires,
        _output_wires=output_wires,
        _id_wires=(next(iter(id_hi.terms)), next(iter(id_lo.terms))),
    )


def _prepare(model, input_shapes, max_work: int = MAX_WORK):
    proto, data = load_model(model)
    graph = proto.graph
    init = {t.name for t in graph.initializer}
    specs = _input_specs(graph, init, input_shapes)
    # fix the inputs' shapes and check the graph with onnx's shape inference
    fixed = onnx.ModelProto()
    fixed.CopyFrom(proto)
    for vi in fixed.graph.input:
        if vi.name in specs:
            dims = vi.type.tensor_type.shape.dim
            del dims[:]
            for d in specs[vi.name]:
                dims.add().dim_value = d
    try:
        inferred = onnx.shape_inference.infer_shapes(fixed, strict_mode=True)
    except Exception as e:
        raise ModelError(f"shape inference failed with the inputs fixed to {specs}: {e}") from e
    check_size(inferred, specs, max_work)  # before anything is built: a model sent by anyone must not exhaust memory
    types = {t.name: t.data_type for t in inferred.graph.initializer}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        if vi.type.HasField("tensor_type"):
            types[vi.name] = vi.type.tensor_type.elem_type
    return proto, data, specs, types


def choose_scale(
    model, *, input_range=1.0, input_shapes=None, curve: str = "bn254", max_scale: int = MAX_SCALE, quotient_bits: int = QUOTIENT_BITS
) -> int:
    """The largest scale ``s <= max_scale`` at which every rescale quotient fits ``quotient_bits`` (signed)
    for inputs in the declared range — so every layer's worst case stays inside its range checks and
    the field. :class:`ScaleOverflow` if even ``s = 1`` does not fit."""
    return compile_model(model, input_range=input_range, input_shapes=input_shapes, curve=curve, max_scale=max_scale, quotient_bits=quotient_bits).scale


def compile_model(
    model: bytes | str | Path | onnx.ModelProto,
    *,
    scale: int | None = None,
    input_range: float | tuple | Mapping[str, Any] = 1.0,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    curve: str = "bn254",
    max_scale: int = MAX_SCALE,
    quotient_bits: int = QUOTIENT_BITS,
    input_check: str = "circuit",
    input_visibility: str = "public",
    weights: str = "fixed",
    weight_salt: int = 0,
    max_work: int = MAX_WORK,
) -> CompiledModel:
    """Compile an ONNX model into ``onnx_inference.v1`` (see the module docstring).

    ``max_work`` bounds the circuit's size, estimated from the shapes before anything is built
    (:mod:`ispc_zkml.budget`); past it, :class:`~ispc_zkml.errors.CircuitTooLarge` names the node.

    ``input_range``: the largest absolute value of every input element (a
    number, a ``(lo, hi)`` pair, or a mapping by input name); inputs are
    range-checked to it in the circuit. ``input_shapes`` fixes symbolic
    dimensions (default: 1). ``scale``: the fractional bits ``s``; by default
    the largest ``s <= max_scale`` whose quotients fit ``quotient_bits``.

    ``input_check``: ``"circuit"`` (default) range-checks every input element
    in the circuit (``b + 1`` constraints each), so the circuit is sound on its
    own. ``"verifier"`` leaves that to whoever computes the public inputs —
    :meth:`CompiledModel.public_inputs` refuses an input outside the range —
    which is sound only when the verifier recomputes the public inputs from the
    transaction (as ispc's verifier does) and saves most of the constraints
    of a wide input layer (784 inputs: 14,896 of 17,629).

    ``input_visibility``: ``"public"`` (default) makes every input element a
    public input; ``"committed"`` makes them private wires, range-checked in
    the circuit, with a public Poseidon commitment in their place
    (:meth:`CompiledModel.input_commitment`; ``input_check="verifier"`` is then
    impossible). ``weights``: ``"fixed"`` (default) compiles the weights in as
    constants; ``"committed"`` makes every weight and bias of MatMul, Gemm,
    Conv (and the integer operators) and every constant added by Add / Sub a
    private wire — one constraint per multiply — behind the public
    :attr:`CompiledModel.weight_commitment` (with ``weight_salt``). Both
    choices are part of the compile parameters, hence of the circuit id.
    """
    if input_check not in INPUT_CHECKS:
        raise InputError(f"input_check must be one of {', '.join(INPUT_CHECKS)}, got {input_check!r}")
    if input_visibility not in INPUT_VISIBILITIES:
        raise InputError(f"input_visibility must be one of {', '.join(INPUT_VISIBILITIES)}, got {input_visibility!r}", name="input_visibility")
    if weights not in WEIGHT_MODES:
        raise InputError(f"weights must be one of {', '.join(WEIGHT_MODES)}, got {weights!r}", name="weights")
    if input_visibility == "committed" and input_check == "verifier":
        raise InputError(
            "input_check='verifier' cannot hold for committed inputs: the verifier never sees them, so their range "
            "check must stay in the circuit (input_check='circuit')",
            name="input_check",
        )
    check_salt(weight_salt, get_field(curve).modulus, "weight")
    opts = _Options(input_check, input_visibility, weights, weight_salt)
    proto, data, specs, types = _prepare(model, input_shapes, max_work)
    bounds = _bounds(input_range, list(specs))
    if scale is not None:
        if not isinstance(scale, int) or scale < 1:
            raise ScaleOverflow(f"the scale must be an integer >= 1, got {scale!r}", bits=0, limit=0)
        return _build(proto, data, scale, curve, specs, bounds, opts, types)
    last: Exception | None = None
    for s in range(max_scale, 0, -1):
        try:
            cm = _build(proto, data, s, curve, specs, bounds, opts, types)
        except ScaleOverflow as e:
            last = e
            continue
        if cm.max_quotient_bits <= quotient_bits:
            return cm
        last = ScaleOverflow(
            f"at scale 2^{s} a quotient needs {cm.max_quotient_bits} bits (more than {quotient_bits})",
            bits=cm.max_quotient_bits, limit=quotient_bits,
        )
    raise ScaleOverflow(f"no scale from 2^{max_scale} down to 2^1 fits: {last}", bits=getattr(last, "bits", 0), limit=quotient_bits)
