"""The int8 path: DynamicQuantizeLinear, MatMulInteger, ConvInteger, QuantizeLinear, DequantizeLinear,
QLinearMatMul, QLinearConv, and Cast.

Integers are values at scale 0 (the value *is* the integer). Integer
arithmetic (``(a − a_zp)·(b − b_zp)`` accumulations, integer convolutions,
zero points, integer biases) is exact and, with constant weights, costs no
constraint. Every float constant (a scale) is a dyadic rational ``m / 2^e``,
so a division by it is a division by an integer, and every rounding of the
int8 path is proven exactly as ONNX defines it, on the circuit's inputs:

* **QuantizeLinear** ``y = sat(round(x / y_scale) + zp)``: ``x / y_scale =
  N / D`` with integers (``x = X / 2^e`` at the input's scale), rounded half
  to even by :func:`ispc_zkml.division.round_div` (remainder range-checked,
  the tie bit proven), then saturated to the output type by range-checked
  clipping (only a bound that can be reached costs constraints). Per-axis
  scales and zero points are supported; ``block_size`` is refused.
* **QLinearMatMul / QLinearConv**: the integer accumulation, then
  ``y = sat(round(acc · a_s·b_s / y_s) + y_zp)`` with the multiplier an exact
  rational (per output channel for per-channel weight scales), rounded half
  to even, saturated. onnxruntime computes the multiplier in float32; at an
  exact tie of that product the two may differ by one unit.
* **DequantizeLinear** with a constant scale: ``(x − zp)·scale`` exactly
  (the scale's dyadic value; no constraint).
* **DynamicQuantizeLinear** (the scale comes from the data): the circuit
  proves ``max' = max(0, max x)`` and ``min' = min(0, min x)`` (pairwise
  maxima, ``b + 2`` each), ``D = max' − min'`` and ``[D = 0]`` (no free
  wire), the zero point ``Z = round(−255·min' / D)``, every
  ``q = min(round(255·x / D) + Z, 255)`` (``round`` half to even, by
  :func:`round_div` with the circuit's ``D`` as divisor: one product and two
  range checks of the remainder each) and the scale ``σ = round(D·2^(2s−e) /
  255)`` at scale ``2^(2s)`` — the ONNX formulas in exact arithmetic on the
  circuit's inputs (``q >= 0`` needs no clip: it follows from ``x >= min'``).
  For an all-zero input the scale is 0 (onnxruntime reports 1.0 there,
  onnx's reference evaluator 1/255; ``q`` and ``Z`` are 0 either way).
* **Cast**: to a float type, or between integer types that hold every value,
  the value is unchanged; a cast that could round or wrap is refused.

**The error bound.** An integer output can be one step off wherever the
circuit's rounded input lies on the other side of a rounding boundary than
the exact input: the bound of a quantized tensor is ``err_x / scale + 1``
steps (0 when its input is exact). For DynamicQuantizeLinear one step is a
data-dependent ``σ``, so the bound is kept *coupled*: ``|σ_c·(q_c − Z_c) −
σ·(q − Z)| <= σ_c/2 + σ/2 + err_x`` in real units (both dequantize to within
half a step of their input). MatMulInteger carries it through its constant
weights, and the ``Mul`` by ``σ·w_scale`` that dequantizes the accumulator
(``Mul(x_scale, w_scale)`` is kept at full precision: the constant as a
dyadic of ``s + 8`` significant bits) turns it back into an element-wise
bound; any other use of ``q`` falls back to the trivial 255 steps.
"""

from __future__ import annotations

import math

import numpy as np
import onnx

from ispc_core.zk.fixedpoint import bits_for, clip, signed_range
from ispc_core.zk.gadgets import assert_boolean

from .division import nonneg, round_div
from .errors import ModelError, UnsupportedOperator
from .spatial import conv_integer
from .values import INT_RANGES, Coupled, DynScale, Value, dyadic, obj

__all__ = ["QUANTIZED", "lower_quantized", "coupled_mul", "scale_mul_const"]

QUANTIZED = (
    "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QuantizeLinear", "DequantizeLinear",
    "QLinearMatMul", "QLinearConv", "Cast",
)  # fmt: skip
_T = onnx.TensorProto
_FLOATS = (_T.FLOAT, _T.DOUBLE)
#: output types a quantizer may produce
_QTYPES = (_T.UINT8, _T.INT8, _T.UINT16, _T.INT16)
#: significant bits of a constant multiplying a dynamic scale
EXTRA_BITS = 8


def lower_quantized(L, node, name: str, args: list, at: dict) -> list:
    """The circuit of one int8-path node (``L`` the compiler's lowering)."""
    op = node.op_type
    if op == "Cast":
        return [_cast(L, node, name, args[0], at)]
    if op == "DynamicQuantizeLinear":
        return list(dynamic_quantize(L, _value(args[0], name, op), name))
    if op == "QuantizeLinear":
        return [quantize(L, node, name, args, at)]
    if op == "DequantizeLinear":
        return [dequantize(L, name, args, at)]
    if op == "MatMulInteger":
        return [matmul_integer(L, name, args)]
    if op == "ConvInteger":
        x = _integer(args[0], name, op, "x")
        w = _const_int(args[1], name, op, "w")
        return [_conv_int(L, name, x, args[2] if len(args) > 2 else None, w, args[3] if len(args) > 3 else None, None, at, op)]
    if op == "QLinearMatMul":
        return [qlinear_matmul(L, node, name, args)]
    if op == "QLinearConv":
        return [qlinear_conv(L, node, name, args, at)]
    raise UnsupportedOperator(name, op)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _value(x, name, op) -> Value:
    if not isinstance(x, Value):
        raise UnsupportedOperator(name, op, "a constant input (it should have been folded)")
    return x


def _integer(x, name, op, what) -> Value:
    x = _value(x, name, op)
    if x.scale != 0:
        raise UnsupportedOperator(name, op, f"{what} is a fixed-point value, not an integer tensor")
    return x


def _const_int(c, name, op, what) -> np.ndarray:
    if c is None:
        return None
    if not isinstance(c, np.ndarray):
        raise UnsupportedOperator(name, op, f"{what} computed at run time")
    if c.dtype.kind not in "iu":
        raise ModelError(f"node {name!r}: {op} {what} must be an integer tensor, got {c.dtype}", node=name)
    return c.astype(np.int64)


def _const_scale(c, name, op, what) -> np.ndarray:
    if not isinstance(c, np.ndarray):
        raise UnsupportedOperator(name, op, f"{what} computed at run time (only DynamicQuantizeLinear's own scale is)")
    c = np.asarray(c, dtype=np.float64)
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ModelError(f"node {name!r}: {op} {what} must be positive and finite, got {c.reshape(-1)[:4]}", node=name)
    return c


def _ratio(num: list[float], den: list[float]) -> tuple[int, int]:
    """``(N, D)`` integers with ``N / D = Π num / Π den`` exactly (every factor a positive float, a dyadic
    ``m / 2^e``).

    >>> _ratio([0.75], [0.5])
    (3, 2)
    """
    n, d, shift = 1, 1, 0
    for c in num:
        m, e = dyadic(c, 53)
        n, shift = n * m, shift - e
    for c in den:
        m, e = dyadic(c, 53)
        d, shift = d * m, shift + e
    n, d = (n << shift, d) if shift >= 0 else (n, d << -shift)
    g = math.gcd(n, d)
    return n // g, d // g


def _qtype(dtype: int, name: str, op: str) -> tuple[int, int]:
    if dtype not in _QTYPES:
        raise UnsupportedOperator(name, op, f"output type {onnx.TensorProto.DataType.Name(dtype)}")
    return INT_RANGES[dtype]


def _per_axis(c: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
    """A scalar or 1-D per-axis constant broadcast to ``shape``."""
    c = np.asarray(c)
    if c.ndim == 0 or c.size == 1:
        return np.broadcast_to(c.reshape(()), shape)
    axis %= len(shape)
    if c.ndim != 1 or c.shape[0] != shape[axis]:
        raise ModelError(f"a per-axis constant of shape {list(c.shape)} does not match axis {axis} of {list(shape)}")
    view = [1] * len(shape)
    view[axis] = -1
    return np.broadcast_to(c.reshape(view), shape)


def _requantize(L, acc: Value, ratio, zp: np.ndarray, lohi: tuple[int, int], tensor: str) -> Value:
    """``sat(round(acc · N/D) + zp)`` element-wise (``ratio[idx] = (N, D)``), halves to even."""
    cb = L.cb
    qlo, qhi = lohi
    lc, bound, hard, err = obj(acc.shape), obj(acc.shape), obj(acc.shape), np.zeros(acc.shape)
    for idx in np.ndindex(*acc.shape):
        N, D = ratio[idx]
        z = int(zp[idx])
        tag = f"{tensor}{list(idx)}"
        ab = int(acc.bound[idx])
        q, qb = round_div(cb, acc.lc[idx] * N, D, num_bound=ab * abs(N), den_max=D, name=tag)
        lo = qlo if z - qb < qlo else None
        hi = qhi if z + qb > qhi else None
        y = q + z
        if lo is not None or hi is not None:
            y = clip(cb, y, lo, hi, L._bits(qb + abs(z) + max(abs(qlo), abs(qhi)), tensor), f"{tag}.sat")
        lc[idx] = y
        bound[idx] = min(qb + abs(z), max(abs(qlo), abs(qhi)))
        hard[idx] = bound[idx] if (lo is not None and hi is not None) else (1 << bits_for(qb)) + abs(z)
        e = float(acc.err[idx])
        err[idx] = 0.0 if e == 0 else min(e * abs(N) / D + 1.0, float(qhi - qlo))
    return Value(lc, bound, hard, err, 0)


def _sub_zp(L, x: Value, zp, tensor: str, axis: int | None = None) -> Value:
    """``x − zp`` for a constant (scalar or per-axis) or a run-time zero point."""
    if zp is None:
        return x
    if isinstance(zp, Value):
        return L.add(x, zp, tensor, negate=True)
    z = np.asarray(zp, dtype=np.int64)
    if not np.any(z):
        return x
    if z.size > 1 and axis is not None:
        z = _per_axis(z, x.shape, axis)
    return L.add(x, np.asarray(-z, dtype=np.float64), tensor)


# ---------------------------------------------------------------------------------------
# DynamicQuantizeLinear
# ---------------------------------------------------------------------------------------
def dynamic_quantize(L, v: Value, tensor: str) -> tuple[Value, Value, Value]:
    """``(y, y_scale, y_zero_point)`` of DynamicQuantizeLinear (see the module docstring)."""
    cb = L.cb
    x = L.ensure(v, tensor)
    e = x.scale
    flat, bs = list(x.lc.reshape(-1)), [int(b) for b in x.bound.reshape(-1)]
    hi, hb, lo, lb = cb.const(0), 0, cb.const(0), 0
    for j, (a, ab) in enumerate(zip(flat, bs)):
        d = a - hi
        ge = signed_range(cb, d, L._bits(ab + hb, tensor), f"{tensor}.max{j}")
        hi = hi + cb.mul(ge, d, f"{tensor}.max{j}.sel", f"{tensor}: max")
        hb = max(hb, ab)
        d = lo - a
        ge = signed_range(cb, d, L._bits(ab + lb, tensor), f"{tensor}.min{j}")
        lo = lo - cb.mul(ge, d, f"{tensor}.min{j}.sel", f"{tensor}: min")
        lb = max(lb, ab)
    D, dmax = hi - lo, hb + lb
    # z = [D == 0]: boolean, z·D = 0, D − 1 + z >= 0
    z = cb.witness(f"{tensor}.all_zero", hint=lambda get: int(get(D) == 0))
    assert_boolean(cb, z, f"{tensor}.all_zero:boolean")
    cb.constrain(z, D, 0, f"{tensor}: all_zero*D = 0")
    nonneg(cb, D - 1 + z, max(1, dmax.bit_length()), f"{tensor}.range")
    Dp = D + z  # in [1, dmax]
    dp_max = max(dmax, 1)
    Z, _ = round_div(cb, lo * -255, Dp, num_bound=255 * lb, den_max=dp_max, qmax=256, name=f"{tensor}.zero_point")
    es = 2 * L.s
    shift = max(es - e, 0)
    sig, sb = round_div(cb, D * (1 << shift), 255, num_bound=dmax << shift, den_max=255, name=f"{tensor}.scale")
    es = e + shift
    q = obj(x.shape)
    for j, idx in enumerate(np.ndindex(*x.shape)):
        tag = f"{tensor}{list(idx)}"
        r, _ = round_div(cb, flat[j] * 255, Dp, num_bound=255 * bs[j], den_max=dp_max, qmax=256, name=tag)
        q[idx] = clip(cb, r + Z, None, 255, bits_for(512), f"{tag}.sat")  # r + Z <= 256 (a tie at the top)
    full = np.full(x.shape, 255, dtype=object)
    loose = np.full(x.shape, 1024, dtype=object)  # r >= −512 (its range check), r + Z <= 255 (the clip)
    smax = dmax / (255 * 2.0**e)  # σ_c = D / (255·2^e)
    se = 2 * float(_fin(x.realmax()).max(initial=0.0)) / 255  # σ = (max' − min') / 255 in exact arithmetic
    derr = smax / 2 + se / 2 + np.asarray(x.err, dtype=np.float64)
    y = Value(q, full, loose, np.full(x.shape, 255.0), 0, coupled=Coupled(tensor, derr, minus_zp=True))
    scale = Value(
        np.array(sig, dtype=object), np.array(sb, dtype=object), np.array(sb, dtype=object),
        np.array(2.0 ** -(es + 1) + 2 * float(np.max(x.err, initial=0.0)) / 255), es,
        dscale=DynScale(tensor, 1.0, 2.0 ** -(es + 1), smax),
    )  # fmt: skip
    zp = Value(np.array(Z, dtype=object), np.array(255, dtype=object), np.array(255, dtype=object), np.array(255.0), 0, zp_of=tensor)
    return y, scale, zp


def _fin(a):
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a), a, 0.0)


def scale_mul_const(L, v: Value, c: float, tensor: str) -> Value:
    """``v · c`` for a multiple ``v = f·σ`` of a dynamic scale: ``c`` as a dyadic of ``s + 8`` significant
    bits, no rescale first (the product stays a multiple of ``σ``, with its precision)."""
    d = v.dscale
    m, e = dyadic(c, L.s + EXTRA_BITS)
    if e < 0:
        m, e = m << -e, 0
    ct = m / 2.0**e
    dc = abs(c - ct)
    err = abs(ct) * v.err + v.realmax() * dc
    ds = DynScale(d.key, d.factor * c, abs(ct) * d.rho + abs(d.factor) * d.smax * dc, d.smax)
    return Value(v.lc * m, v.bound * abs(m), v.hard * abs(m), err, v.scale + e, dscale=ds)


def coupled_mul(L, a: Value, b: Value, tensor: str) -> Value | None:
    """``T · M`` for an accumulator ``T`` coupled to the dynamic scale ``σ`` and ``M = f·σ``: one product
    per element, no rescale, and the coupled error bound; None if ``a, b`` are not such a pair."""
    for t, m in ((a, b), (b, a)):
        if t.coupled is not None and not t.coupled.minus_zp and m.dscale is not None and m.dscale.key == t.coupled.key and m.lc.size == 1:
            break
    else:
        return None
    cb = L.cb
    ms = m.lc.reshape(-1)[0]
    mb, mh = int(m.bound.reshape(-1)[0]), int(m.hard.reshape(-1)[0])
    shape = np.broadcast_shapes(t.shape, m.shape)
    T = t.apply(lambda x: np.broadcast_to(x, shape))
    lc = obj(shape)
    for idx in np.ndindex(*shape):
        lc[idx] = cb.mul(T.lc[idx], ms, f"{tensor}{list(idx)}", f"{tensor}: dequantize")
    tb = T.bound.astype(float) / 2.0**T.scale
    err = tb * m.dscale.rho + abs(m.dscale.factor) * np.asarray(T.coupled.derr, dtype=np.float64)
    err = np.minimum(err, T.realmax() * m.err + _fin(m.realmax()) * T.err + T.err * m.err)
    return Value(lc, T.bound * mb, T.hard * mh, err, T.scale + m.scale)


# ---------------------------------------------------------------------------------------
# QuantizeLinear, DequantizeLinear
# ---------------------------------------------------------------------------------------
def quantize(L, node, name: str, args: list, at: dict) -> Value:
    """QuantizeLinear: ``sat(round(x / y_scale) + zp)``, halves to even (see the module docstring)."""
    op = "QuantizeLinear"
    x = _value(args[0], name, op)
    if int(at.get("block_size", 0)):
        raise UnsupportedOperator(name, op, "blocked quantization (block_size)")
    ys = _const_scale(args[1], name, op, "y_scale")
    zp = args[2] if len(args) > 2 else None
    if zp is not None and not isinstance(zp, np.ndarray):
        raise UnsupportedOperator(name, op, "a zero point computed at run time")
    dtype = int(at.get("output_dtype", 0)) or (onnx.helper.np_dtype_to_tensor_dtype(zp.dtype) if zp is not None else _T.UINT8)
    lohi = _qtype(dtype, name, op)
    axis = int(at.get("axis", 1))
    ys_b = _per_axis(ys, x.shape, axis)
    zp_b = _per_axis(np.zeros((), np.int64) if zp is None else zp.astype(np.int64), x.shape, axis)
    # x / y_scale = (X / 2^e) / y_scale = N / D
    ratio = np.empty(x.shape, dtype=object)
    for idx in np.ndindex(*x.shape):
        n_, d_ = _ratio([1.0], [float(ys_b[idx])])
        d_ <<= x.scale
        ratio[idx] = (n_, d_)
    xi = Value(x.lc, x.bound, x.hard, np.asarray(x.err, dtype=np.float64) * 2.0**x.scale, 0)  # err in units of X
    return _requantize(L, xi, ratio, zp_b, lohi, name)


def dequantize(L, name: str, args: list, at: dict) -> Value:
    """DequantizeLinear ``(x − zp)·x_scale``: exact for a constant scale; coupled for DynamicQuantizeLinear's."""
    op = "DequantizeLinear"
    x = _integer(args[0], name, op, "x")
    sc = args[1]
    zp = args[2] if len(args) > 2 else None
    axis = int(at.get("axis", 1))
    if isinstance(sc, Value):
        c = x.coupled
        xz = _sub_zp(L, x, zp, name)
        if c is not None and c.minus_zp and isinstance(zp, Value) and zp.zp_of == c.key:
            xz.coupled = Coupled(c.key, c.derr)
            out = coupled_mul(L, xz, sc, name)
            if out is not None:
                return out
        return L.mul_values(xz, sc, name)
    c = _const_scale(sc, name, op, "x_scale")
    xz = _sub_zp(L, x, None if zp is None else _const_int(zp, name, op, "x_zero_point"), name, axis)
    cb_ = _per_axis(c, x.shape, axis)
    parts = [dyadic(float(v), 53) for v in cb_.reshape(-1)]
    e = max(0, max(p[1] for p in parts))
    m = obj(x.shape)
    m.reshape(-1)[:] = [p[0] << (e - p[1]) for p in parts]
    am = np.abs(m)
    return Value(xz.lc * m, xz.bound * am, xz.hard * am, np.asarray(xz.err, dtype=np.float64) * np.abs(cb_), e)


# ---------------------------------------------------------------------------------------
# integer matrix products and convolutions
# ---------------------------------------------------------------------------------------
def _int_matmul(L, a, b, azp, bzp, tensor: str, op: str) -> Value:
    """``(a − azp) @ (b − bzp)`` with integer tensors (one of them may be a constant)."""
    if isinstance(b, np.ndarray):
        a = _integer(a, tensor, op, "A")
        bz = _const_int(b, tensor, op, "B") - (0 if bzp is None else _per_axis(_const_int(bzp, tensor, op, "b_zero_point"), b.shape, -1))
        az = _sub_zp(L, a, azp, tensor, axis=-2)
        out = L.matmul_const(az, bz, tensor, wscale=0)
        c = a.coupled
        if c is not None and c.minus_zp and isinstance(azp, Value) and azp.zp_of == c.key and bz.ndim == 2:
            out.coupled = Coupled(c.key, np.asarray(c.derr, dtype=np.float64).dot(np.abs(bz).astype(np.float64)))
        return out
    b = _integer(b, tensor, op, "B")
    if isinstance(a, np.ndarray):
        # (A @ B) = (B^T @ A^T)^T with the constant on the right
        at_ = _const_int(a, tensor, op, "A")
        az = at_ - (0 if azp is None else _per_axis(_const_int(azp, tensor, op, "a_zero_point"), at_.shape, -2))
        bz = _sub_zp(L, b, bzp, tensor, axis=-1)
        if bz.lc.ndim != 2 or az.ndim != 2:
            raise UnsupportedOperator(tensor, op, "a constant left operand with a non-2-D right operand")
        return L.matmul_const(bz.apply(lambda m: m.T), az.T, tensor, wscale=0).apply(lambda m: m.T)
    a = _integer(a, tensor, op, "A")
    return L.matmul_values(_sub_zp(L, a, azp, tensor, axis=-2), _sub_zp(L, b, bzp, tensor, axis=-1), tensor)


def matmul_integer(L, name: str, args: list) -> Value:
    """MatMulInteger: ``(A − a_zp) @ (B − b_zp)``, exact (int32)."""
    a, b = args[0], args[1]
    azp = args[2] if len(args) > 2 else None
    bzp = args[3] if len(args) > 3 else None
    return _int_matmul(L, a, b, azp, bzp, name, "MatMulInteger")


def qlinear_matmul(L, node, name: str, args: list) -> Value:
    """QLinearMatMul: the integer product requantized by ``a_s·b_s/y_s`` (exact rational), halves to even."""
    op = "QLinearMatMul"
    a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp = args[:8]
    for z, what in ((a_zp, "a_zero_point"), (b_zp, "b_zero_point")):
        if z is not None and not isinstance(z, np.ndarray):
            raise UnsupportedOperator(name, op, f"{what} computed at run time")
    acc = _int_matmul(L, a, b, a_zp, b_zp, name, op)
    a_s = _const_scale(a_s, name, op, "a_scale").reshape(-1)
    b_s = _const_scale(b_s, name, op, "b_scale")
    y_s = _const_scale(y_s, name, op, "y_scale").reshape(-1)
    if a_s.size != 1 or y_s.size != 1:
        raise UnsupportedOperator(name, op, "per-row a_scale or y_scale")
    yz = _const_int(y_zp, name, op, "y_zero_point")
    lohi = _qtype(onnx.helper.np_dtype_to_tensor_dtype(y_zp.dtype), name, op)
    bsb = _per_axis(b_s, acc.shape, -1)
    ratio = np.empty(acc.shape, dtype=object)
    for idx in np.ndindex(*acc.shape):
        ratio[idx] = _ratio([float(a_s[0]), float(bsb[idx])], [float(y_s[0])])
    return _requantize(L, acc, ratio, _per_axis(yz, acc.shape, -1), lohi, name)


def _conv_int(L, name, x, xzp, w, wzp, bias, at, op) -> Value:
    if xzp is not None and not isinstance(xzp, np.ndarray):
        raise UnsupportedOperator(name, op, "a zero point computed at run time")
    xz = _sub_zp(L, x, None if xzp is None else _const_int(xzp, name, op, "x_zero_point"), name)
    if w.ndim != 4:
        raise UnsupportedOperator(name, op, f"a kernel of rank {w.ndim} (only 2-D convolutions)")
    if wzp is not None:
        wz = _const_int(wzp, name, op, "w_zero_point").reshape(-1)
        w = w - (wz.reshape(-1, 1, 1, 1) if wz.size > 1 else wz[0])
    if len(xz.shape) != 4:
        raise UnsupportedOperator(name, op, f"an input of rank {len(xz.shape)} (only 2-D images, N×C×H×W)")
    return conv_integer(L, name, xz, w, bias, at)


def qlinear_conv(L, node, name: str, args: list, at: dict) -> Value:
    """QLinearConv: the integer convolution (+ int32 bias) requantized per output channel."""
    op = "QLinearConv"
    x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp = args[:8]
    bias = args[8] if len(args) > 8 else None
    x = _integer(x, name, op, "x")
    wi = _const_int(w, name, op, "w")
    b = None if bias is None else _const_int(bias, name, op, "B")
    acc = _conv_int(L, name, x, x_zp, wi, w_zp, b, at, op)
    x_s = _const_scale(x_s, name, op, "x_scale").reshape(-1)
    w_s = _const_scale(w_s, name, op, "w_scale").reshape(-1)
    y_s = _const_scale(y_s, name, op, "y_scale").reshape(-1)
    yz = _const_int(y_zp, name, op, "y_zero_point")
    lohi = _qtype(onnx.helper.np_dtype_to_tensor_dtype(y_zp.dtype), name, op)
    M = acc.shape[1]
    ws = np.broadcast_to(w_s, (M,))
    ratio = np.empty(acc.shape, dtype=object)
    for idx in np.ndindex(*acc.shape):
        ratio[idx] = _ratio([float(x_s[0]), float(ws[idx[1]])], [float(y_s[0])])
    return _requantize(L, acc, ratio, np.broadcast_to(yz.reshape(()), acc.shape), lohi, name)


# ---------------------------------------------------------------------------------------
# Cast
# ---------------------------------------------------------------------------------------
def _cast(L, node, name: str, x, at: dict) -> Value:
    x = _value(x, name, "Cast")
    to = int(at["to"])
    src = L.types.get(node.input[0])
    tname = onnx.TensorProto.DataType.Name(to)
    if to in _FLOATS:
        return x
    if to in (_T.FLOAT16, _T.BFLOAT16):
        if x.scale == 0 and max((int(b) for b in x.bound.reshape(-1)), default=0) <= (2048 if to == _T.FLOAT16 else 256):
            return x
        raise UnsupportedOperator(name, "Cast", f"to {tname} (it rounds)")
    if to in INT_RANGES:
        if x.scale != 0:
            raise UnsupportedOperator(name, "Cast", f"of a fixed-point value to {tname} (a truncation)")
        lo, hi = INT_RANGES[to]
        if src in INT_RANGES and INT_RANGES[src][0] >= lo and INT_RANGES[src][1] <= hi:
            return x
        if lo < 0 and max((int(b) for b in x.bound.reshape(-1)), default=0) <= hi:
            return x
        raise UnsupportedOperator(name, "Cast", f"to {tname}, which may not hold every value (it would wrap)")
    raise UnsupportedOperator(name, "Cast", f"to {tname}")
