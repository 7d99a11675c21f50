"""ArgMax, and Sigmoid, Tanh and Softmax as piecewise polynomials with an exhaustively measured error.

**ArgMax** (``axis``, ``keepdims``, ``select_last_index``). Output: the index
itself, an integer at scale 0. Witness per slice of ``n``: the index ``i``
and one-hot bits ``e_0 … e_{n-1}``. Constraints: each ``e_j`` boolean,
``Σ e_j = 1``, ``i = Σ j·e_j``, ``m = Σ e_j·x_j`` (one product each) and, for
every ``j``, ``m − x_j − p_j >= 0`` (a ``b``-bit range check) with
``p_j = Σ_{l > j} e_l`` — 1 exactly when ``j`` comes before the selected index
(``Σ_{l < j} e_l`` with ``select_last_index``). So ``x_i`` is a maximum and
every earlier (later) element is strictly smaller: ``i`` is ONNX's first
(last) index of the maximum, and no other index satisfies the constraints.
Cost ``n·(b + 3) + 2`` per slice. Error bound: 0 when the inputs are exact,
otherwise ``n − 1`` (a rounding can tie or swap two values closer than their
error; the index is exact whenever the top value leads the rest by more than
twice the input's error bound).

**Sigmoid, Tanh** (symmetric: ``σ(−x) = 1 − σ(x)``, ``tanh(−x) = −tanh(x)``).
On ``a = |x|`` (one product with the sign bit, which a rescale usually already
made), clipped to ``[0, L)`` (``L`` = 16 for Sigmoid, 8 for Tanh), split into
``N`` segments of width ``w`` (``a = j·w + u``: ``N`` one-hot bits, ``u`` range
checked by its bits), a degree-``d`` polynomial in ``u`` whose coefficients
are the selected segment's (linear in the one-hot bits), evaluated by Horner
(``d`` products), and rescaled to ``2^s`` once; then one product undoes the
symmetry. **Softmax** (``axis``): ``m = max`` (pairwise, ``b + 2`` each),
``exp(x − m)`` the same way on ``[−16, 0]`` (clipped below), and
``y_i = round(E_i·2^s / Σ E)`` by :func:`ispc_zkml.division.round_div` — the
sum is at least the maximum's ``E = exp(0)``, so the divisor is positive in
every witness the constraints accept.

============  ==========  =====  ======  ===================================
function      domain      N      ``w``   degree
============  ==========  =====  ======  ===================================
Sigmoid       ``[0, 16)``  16    1       4
Tanh          ``[0, 8)``   16    1/2     4
exp           ``[−16, 0]`` 16    1       5
============  ==========  =====  ======  ===================================

**The error is measured, not estimated.** The circuit sees only the
``2^s``-grid, so :func:`table` evaluates the circuit's exact integer
arithmetic (the quantized coefficients, Horner, the rounding of the rescale)
on *every* grid point of the domain and takes the largest
``|Y/2^s − f(X/2^s)|``, including the clipped tail (``f`` beyond ``L`` lies
between ``f(L)`` and its limit). The compiler's error bound adds the input's
error times the function's Lipschitz constant (1/4, 1; Softmax: half the
slice's largest input error) and, for Softmax, the sum's and the division's.
At ``s = 16`` the approximation error is below ``2^−(s+1)``-ish (about
3e-6 Sigmoid, 5e-6 Tanh, 1e-6 exp); below ``s = 10`` the rounding dominates.

What is proven: the outputs are *this* piecewise-polynomial function of
the inputs (every segment, coefficient and rounding is fixed by the
constraints). That it is close to the true function is the measured bound.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.polynomial import chebyshev, polynomial

from ispc_core.zk.fixedpoint import clip, from_field, rescale, signed_range
from ispc_core.zk.gadgets import assert_boolean

from .division import nonneg, round_div
from .errors import ModelError, ScaleOverflow, UnsupportedOperator
from .values import Value, obj

__all__ = ["ACTIVATIONS", "lower_activation", "Approximation", "table", "SIGMOID", "TANH", "EXP"]

ACTIVATIONS = ("ArgMax", "Sigmoid", "Tanh", "Softmax")


def lower_activation(L, node, name: str, args: list, at: dict) -> list:
    """The circuit of one ArgMax / Sigmoid / Tanh / Softmax node (``L`` the compiler's lowering)."""
    op = node.op_type
    x = args[0]
    if not isinstance(x, Value):
        raise UnsupportedOperator(name, op, "a constant input (it should have been folded)")
    if op == "ArgMax":
        return [argmax(L, x, int(at.get("axis", 0)), bool(at.get("keepdims", 1)), bool(at.get("select_last_index", 0)), name)]
    if op == "Sigmoid":
        return [symmetric(L, x, SIGMOID, name)]
    if op == "Tanh":
        return [symmetric(L, x, TANH, name)]
    if op == "Softmax":
        nd = len(x.shape)
        if L.opset >= 13:
            axis = int(at.get("axis", -1)) % nd
            moved = x.apply(lambda a: np.moveaxis(a, axis, -1))
            y = softmax(L, moved, name)
            return [y.apply(lambda a: np.moveaxis(a, -1, axis))]
        axis = int(at.get("axis", 1)) % nd  # opset < 13: the input as a 2-D matrix, softmax over its rows
        shape = x.shape
        rows = int(np.prod(shape[:axis], dtype=np.int64))
        y = softmax(L, x.apply(lambda a: a.reshape(rows, -1)), name)
        return [y.apply(lambda a: a.reshape(shape))]
    raise UnsupportedOperator(name, op)


# ---------------------------------------------------------------------------------------
# ArgMax
# ---------------------------------------------------------------------------------------
def argmax(L, v: Value, axis: int, keepdims: bool, last: bool, tensor: str) -> Value:
    """The index of the maximum along ``axis`` (first, or last with ``last``), proven unique."""
    cb, r = L.cb, L.r
    nd = len(v.shape)
    if not -nd <= axis < nd:
        raise ModelError(f"node {tensor!r}: ArgMax axis {axis} of a rank-{nd} input", node=tensor)
    axis %= nd
    vt = v.apply(lambda a: np.moveaxis(a, axis, -1))
    lead, n = vt.shape[:-1], vt.shape[-1]
    out, err = obj(lead), np.zeros(lead)
    for idx in np.ndindex(*lead):
        xs = list(vt.lc[idx])
        tag = f"{tensor}{list(idx)}"

        def pick(get, xs=xs):
            vals = [from_field(get(x), r) for x in xs]
            m = max(vals)
            return n - 1 - vals[::-1].index(m) if last else vals.index(m)

        ix = cb.witness(f"{tag}.index", hint=pick)
        es = []
        for j in range(n):
            e = cb.witness(f"{tag}.onehot[{j}]", hint=lambda get, j=j, ix=ix: int(get(ix) == j))
            assert_boolean(cb, e, f"{tag}.onehot[{j}]:boolean")
            es.append(e)
        cb.assert_equal(_sum(cb, es), 1, f"{tag}: one-hot sums to 1")
        cb.assert_equal(_sum(cb, [e * j for j, e in enumerate(es)]), ix, f"{tag}: index = sum j*e_j")
        m = _sum(cb, [cb.mul(e, x, f"{tag}.pick[{j}]", f"{tag}: e_j*x_j") for j, (e, x) in enumerate(zip(es, xs))])
        top = max(int(b) for b in vt.bound[idx])
        L._bits(2 * top + 1, tensor)
        nb = (2 * top + 1).bit_length()
        for j, x in enumerate(xs):
            p = _sum(cb, es[j + 1 :]) if not last else _sum(cb, es[:j])
            nonneg(cb, m - x - p, nb, f"{tag}.gap[{j}]")
        out[idx] = ix
        err[idx] = 0.0 if not np.any(vt.err[idx]) else float(n - 1)
    bound = np.full(lead, n - 1, dtype=object)
    res = Value(out, bound, bound.copy(), err, 0)
    return res.apply(lambda a: np.expand_dims(a, axis)) if keepdims else res


def _sum(cb, xs):
    acc = cb.const(0)
    for x in xs:
        acc = acc + x
    return acc


# ---------------------------------------------------------------------------------------
# piecewise polynomials
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Approximation:
    """``fn`` on ``segments`` segments of width ``2^width_log2`` from ``start`` (0: upwards from 0,
    for the symmetric functions; ``"below0"``: ending at 0), degree ``degree``; ``tail`` is the
    limit of ``fn`` beyond the clipped end, ``lipschitz`` bounds ``|fn'|``."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    segments: int
    width_log2: int
    degree: int
    start: str
    tail: float
    lipschitz: float


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


SIGMOID = Approximation("sigmoid", _sigmoid, 16, 0, 4, "0", 1.0, 0.25)
TANH = Approximation("tanh", np.tanh, 16, -1, 4, "0", 1.0, 1.0)
EXP = Approximation("exp", np.exp, 16, 0, 5, "below0", 0.0, 1.0)
#: coefficient precision: ``s + COEF_BITS`` fractional bits
COEF_BITS = 6
#: the most grid points a table is measured on (Sigmoid and exp reach it at s = 18)
MAX_TABLE_POINTS = 1 << 22


@dataclass(frozen=True)
class Table:
    """One :class:`Approximation` at scale ``s``: the grid ``X = base + j·2^t + u``, coefficients
    ``coef[j][k]`` at scale ``e_c``, the rescale ``k``; ``eps`` the largest error on every grid
    point and the clipped tail; ``ymin``/``ymax`` the outputs' range, ``y_end`` the output at the
    domain's end next to 0 (``exp(0)``), ``pmax`` the largest ``|P|`` before the rescale."""

    t: int
    base: int
    top: int
    coef: tuple[tuple[int, ...], ...]
    e_c: int
    k: int
    eps: float
    ymin: int
    ymax: int
    y_end: int
    pmax: int


def _fit(fn, a: float, w: float, degree: int) -> np.ndarray:
    """Power-basis coefficients in ``v ∈ [0, 1]`` of the Chebyshev interpolant of ``fn(a + w·v)``."""
    c = chebyshev.chebinterpolate(lambda z: fn(a + w * (z + 1) / 2), degree)
    p = chebyshev.cheb2poly(c)  # in z = 2v − 1
    out = np.zeros(degree + 1)
    for k, ck in enumerate(p):
        out[: k + 1] += ck * polynomial.polypow([-1.0, 2.0], k)[: k + 1]
    return out


@functools.lru_cache(maxsize=64)
def table(ap: Approximation, s: int) -> Table:
    """Coefficients, rescale and measured error of ``ap`` at scale ``s`` (every grid point evaluated
    with the circuit's integer arithmetic; cached)."""
    t = s + ap.width_log2
    if t < 0:
        raise ScaleOverflow(f"{ap.name}: scale 2^{s} is too small for segments of width 2^{ap.width_log2}", bits=s, limit=-ap.width_log2)
    span = ap.segments << t
    if span > MAX_TABLE_POINTS:
        raise ScaleOverflow(
            f"{ap.name}: its error is measured on every grid point, {span} at scale 2^{s} (at most {MAX_TABLE_POINTS}); use a smaller scale",
            tensor=ap.name, bits=s, limit=(MAX_TABLE_POINTS // ap.segments).bit_length() - 1 - ap.width_log2,  # the largest scale
        )
    base = 0 if ap.start == "0" else -(span - 1)
    top = base + span - 1
    e_c = s + COEF_BITS
    n = ap.degree
    k = e_c + n * t - s
    coef = []
    worst, ymin, ymax, pmax = 0.0, None, None, 0
    ys = {}
    for j in range(ap.segments):
        a = (base + (j << t)) / 2.0**s
        c = [int(v) for v in np.rint(_fit(ap.fn, a, 2.0 ** (t - s), n) * 2.0**e_c)]
        coef.append(tuple(c))
        u = np.arange(1 << t, dtype=np.int64).astype(object)
        acc = np.full(u.shape, c[n], dtype=object)
        for d in range(n - 1, -1, -1):
            acc = acc * u + (c[d] << (t * (n - d)))
        y = (acc + (1 << (k - 1))) >> k
        pmax = max(pmax, sum(abs(v) for v in c) << (t * n))
        x = (base + (j << t) + np.arange(1 << t)) / 2.0**s
        e = np.abs(y.astype(np.float64) / 2.0**s - ap.fn(x))
        worst = max(worst, float(e.max()))
        ymin = int(y.min()) if ymin is None else min(ymin, int(y.min()))
        ymax = int(y.max()) if ymax is None else max(ymax, int(y.max()))
        ys[j] = (int(y[0]), int(y[-1]))
    # the clipped tail: beyond the domain's outer end the circuit returns the end's value
    outer_y = ys[ap.segments - 1][1] if ap.start == "0" else ys[0][0]
    outer_x = (top if ap.start == "0" else base) / 2.0**s
    fy = float(ap.fn(np.array([outer_x]))[0])
    tail = max(abs(outer_y / 2.0**s - fy), abs(outer_y / 2.0**s - ap.tail))
    y_end = ys[0][0] if ap.start == "0" else ys[ap.segments - 1][1]
    # float64 evaluation of fn is good to ~1e-16; the margin covers it
    return Table(t, base, top, tuple(coef), e_c, k, max(worst, tail) + 1e-12, ymin, ymax, y_end, pmax)


def _evaluate(L, tab: Table, ap: Approximation, xc, tag: str):
    """``Y`` at scale ``s`` for a value ``xc`` already in ``[base, top]``: segment selection, Horner, rescale."""
    cb = L.cb
    t = tab.t
    es = []
    for j in range(ap.segments):
        e = cb.witness(f"{tag}.seg[{j}]", hint=lambda get, j=j: int((from_field(get(xc), L.r) - tab.base) >> t == j))
        assert_boolean(cb, e, f"{tag}.seg[{j}]:boolean")
        es.append(e)
    cb.assert_equal(_sum(cb, es), 1, f"{tag}: one segment")
    ubits = []
    for i in range(t):
        b = cb.witness(f"{tag}.u[{i}]", hint=lambda get, i=i: ((from_field(get(xc), L.r) - tab.base) >> i) & 1)
        assert_boolean(cb, b, f"{tag}.u[{i}]:boolean")
        ubits.append(b)
    u = _sum(cb, [b * (1 << i) for i, b in enumerate(ubits)])
    cb.assert_equal(xc - tab.base, _sum(cb, [e * (j << t) for j, e in enumerate(es)]) + u, f"{tag}: x = segment*2^t + u")
    n = ap.degree

    def sel(d):
        return _sum(cb, [e * tab.coef[j][d] for j, e in enumerate(es)])

    acc = sel(n)
    for d in range(n - 1, -1, -1):
        acc = cb.mul(acc, u, f"{tag}.horner[{d}]", f"{tag}: horner step {d}") + sel(d) * (1 << (t * (n - d)))
    if tab.pmax.bit_length() >= L.limit:
        raise ScaleOverflow(f"{tag}: the {ap.name} polynomial needs {tab.pmax.bit_length()} bits", tensor=tag, bits=tab.pmax.bit_length(), limit=L.limit)
    b = L._bits(max(abs(tab.ymin), abs(tab.ymax)), tag)
    if tab.k + b > L.limit:
        raise ScaleOverflow(f"{tag}: the {ap.name} rescale needs {tab.k + b} bits", tensor=tag, bits=tab.k + b, limit=L.limit)
    y, _ = rescale(cb, acc, tab.k, b, f"{tag}.{ap.name}")
    return y


def symmetric(L, v: Value, ap: Approximation, tensor: str) -> Value:
    """Sigmoid or Tanh of every element (see the module docstring)."""
    x = L.ensure(v, tensor)
    s = L.s
    tab = table(ap, s)
    sign = L.sign_of(x, tensor)
    cb = L.cb
    one = 1 << s
    lc, bound = obj(x.shape), obj(x.shape)
    for idx in np.ndindex(*x.shape):
        tag = f"{tensor}{list(idx)}"
        a = cb.mul(sign[idx] * 2 - 1, x.lc[idx], f"{tag}.abs", f"{tag}: |x| = (2[x>=0]-1)*x")
        bx = int(x.bound[idx])
        if bx > tab.top:
            a = clip(cb, a, None, tab.top, L._bits(bx + tab.top, tensor), f"{tag}.clip")
        y = _evaluate(L, tab, ap, a, tag)
        if ap is SIGMOID:  # σ(x) = [x>=0]·σ(|x|) + [x<0]·(1 − σ(|x|))
            lc[idx] = (one - y) + cb.mul(sign[idx], y * 2 - one, f"{tag}.sym", f"{tag}: symmetry")
            bound[idx] = max(abs(tab.ymax), abs(tab.ymin), abs(one - tab.ymin), abs(one - tab.ymax))
        else:  # tanh(x) = (2[x>=0] − 1)·tanh(|x|)
            lc[idx] = cb.mul(sign[idx] * 2 - 1, y, f"{tag}.sym", f"{tag}: symmetry")
            bound[idx] = max(abs(tab.ymax), abs(tab.ymin))
    err = tab.eps + ap.lipschitz * x.err
    return Value(lc, bound, bound.copy(), err, s)


def softmax(L, v: Value, tensor: str) -> Value:
    """Softmax over the last axis (see the module docstring)."""
    x = L.ensure(v, tensor)
    s = L.s
    tab = table(EXP, s)
    if tab.ymin < 0 or tab.y_end < 1:
        raise ScaleOverflow(f"{tensor}: the exp table at scale 2^{s} is not positive", tensor=tensor, bits=s, limit=0)
    cb = L.cb
    lead, n = x.shape[:-1], x.shape[-1]
    lc, bound, err = obj(x.shape), obj(x.shape), np.zeros(x.shape)
    one = 1 << s
    for idx in np.ndindex(*lead):
        tag = f"{tensor}{list(idx)}"
        xs, bs = list(x.lc[idx]), [int(b) for b in x.bound[idx]]
        m, mb = xs[0], bs[0]
        for j in range(1, n):
            d = xs[j] - m
            ge = signed_range(cb, d, L._bits(bs[j] + mb, tensor), f"{tag}.max{j}")
            m = m + cb.mul(ge, d, f"{tag}.max{j}.sel", f"{tag}: [a>=m]*(a-m)")
            mb = max(mb, bs[j])
        es = []
        for j in range(n):
            d = xs[j] - m
            db = bs[j] + mb
            if db > -tab.base:
                d = clip(cb, d, tab.base, None, L._bits(db - tab.base, tensor), f"{tag}[{j}].clip")
            es.append(_evaluate(L, tab, EXP, d, f"{tag}[{j}]"))
        total = _sum(cb, es)
        for j in range(n):
            q, _ = round_div(cb, es[j] * one, total, num_bound=tab.ymax * one, den_max=n * tab.ymax, den_min=tab.y_end, name=f"{tag}[{j}].div")
            lc[idx + (j,)] = q
            bound[idx + (j,)] = one
        eps = tab.eps
        err[idx] = eps * (1 + n) / (1 - eps) + 2.0 ** -(s + 1) + 0.5 * float(np.max(x.err[idx]))
    return Value(lc, bound, bound.copy(), err, s)
