"""Fixed-point gadgets: signed values in the field, range-checked rescaling, ReLU, LeakyReLU, Clip.

Representation. A real ``x`` at scale ``e`` is the integer ``X = round(x · 2^e)``;
a signed integer is the field element ``X mod r`` (negative ``X`` ↦ ``r − |X|``,
:func:`to_field` / :func:`from_field`). Adding two values, or multiplying one by
an integer constant, is a linear combination: no constraint. A product of two
values at scales ``e1, e2`` is at scale ``e1 + e2``; :func:`rescale` brings it
back by dividing by ``2^k``.

Soundness. Every gadget here constrains its result completely; in particular
:func:`rescale` range-checks **both** the remainder (``0 <= rem < 2^k``) and the
quotient (signed, ``-2^(b-1) <= q < 2^(b-1)``). With ``k + b < bits(r) - 1`` the
pair ``(q, rem)`` with ``X + 2^(k-1) = q·2^k + rem`` is then unique, so a prover
cannot pick another quotient. (circomlib-ml leaves the remainder free: any
quotient passes. :func:`rescale` with the remainder check removed is exactly
that bug; the tests show a forged quotient satisfying it and failing here.)

A caller must know a bound on its operands: ``|X| < 2^(k+b-1)`` for
:func:`rescale` and ``|X| < 2^(b-1)`` for :func:`signed_range`. A value beyond
the bound has *no* satisfying witness (the hints raise :class:`FixedPointOverflow`
naming the wire), never a wrong one.

Costs (R1CS constraints), from the constructions below:

=====================================  ==================================
:func:`signed_range` (``b`` bits)      ``b + 1``
:func:`rescale` (``k``, ``b``)         ``k + b + 2`` (sign bit included)
:func:`relu` after :func:`rescale`     ``+1``; on any value ``b + 2``
:func:`leaky_relu` (``b``, ``k``)      ``b + 2`` + one :func:`rescale`
:func:`clip` (``b`` bits)              ``2·(b + 2)``
=====================================  ==================================
"""

from __future__ import annotations

from .errors import CircuitError, WitnessError
from .gadgets import assert_boolean
from .r1cs import LC, CircuitBuilder, Operand

__all__ = [
    "FixedPointOverflow",
    "to_field",
    "from_field",
    "bits_for",
    "signed_range",
    "signed_bits",
    "rescale",
    "relu",
    "leaky_relu",
    "clip",
    "round_div",
]


class FixedPointOverflow(WitnessError):
    """A value does not fit the range its gadget was built for (the circuit has no witness for it).

    ``wire`` names the gadget, ``value`` is the signed value, ``limit`` the
    exclusive bound of its absolute value.
    """

    def __init__(self, message: str, *, wire: str = "", value: int = 0, limit: int = 0):
        super().__init__(message)
        self.wire, self.value, self.limit = wire, value, limit


def to_field(x: int, r: int) -> int:
    """The field element of a signed integer (negative ``x`` ↦ ``r − |x|``)."""
    return x % r


def from_field(v: int, r: int) -> int:
    """The signed integer of a field element: ``v`` if ``v <= (r-1)/2`` else ``v − r``."""
    v %= r
    return v - r if v > (r - 1) // 2 else v


def bits_for(bound: int) -> int:
    """The smallest ``b`` with ``-2^(b-1) <= x < 2^(b-1)`` for every ``|x| <= bound`` (at least 1)."""
    if bound < 0:
        raise CircuitError(f"bits_for: a bound must be >= 0, got {bound}")
    return max(1, bound.bit_length() + 1)


def round_div(x: int, k: int) -> int:
    """``round(x / 2^k)``, halves rounded up (``floor((x + 2^(k-1)) / 2^k)``): what :func:`rescale` proves."""
    return (x + (1 << (k - 1))) >> k if k else x


def signed_bits(cb: CircuitBuilder, v: LC, b: int, name: str) -> list[LC]:
    """Bits of ``v + 2^(b-1)``, proving ``-2^(b-1) <= v < 2^(b-1)`` (``b`` booleans + 1 recompose:
    ``b + 1`` constraints); bit ``b-1`` is 1 iff ``v >= 0``, and for ``b >= 2`` bit 0 is ``v``'s parity.

    >>> cb = CircuitBuilder(); v = cb.witness("v", hint=lambda get: cb.r - 3)
    >>> len(signed_bits(cb, v, 4, "v"))
    4
    """
    r = cb.r
    off = 1 << (b - 1)

    def bit(get, i):
        s = from_field(get(v), r)
        if not -off <= s < off:
            raise FixedPointOverflow(
                f"{name}: value {s} is outside the signed {b}-bit range [-{off}, {off})", wire=name, value=s, limit=off
            )
        return ((s + off) >> i) & 1

    bits = []
    for i in range(b):
        w = cb.witness(f"{name}.bit[{i}]", hint=lambda get, i=i: bit(get, i))
        assert_boolean(cb, w, f"{name}.bit[{i}]:boolean")
        bits.append(w)
    acc = cb.const(0)
    for i, w in enumerate(bits):
        acc = acc + w * (1 << i)
    cb.assert_equal(acc, v + off, f"{name}:signed range {b} bits")
    return bits


def signed_range(cb: CircuitBuilder, x: Operand, b: int, name: str = "srange") -> LC:
    """Constrain ``-2^(b-1) <= x < 2^(b-1)``; returns the bit ``[x >= 0]`` (``b + 1`` constraints)."""
    if not 1 <= b <= cb.field.bits - 2:
        raise CircuitError(f"signed_range: b must be in [1, {cb.field.bits - 2}], got {b}")
    return signed_bits(cb, cb._lc(x), b, name)[b - 1]


def rescale(cb: CircuitBuilder, x: Operand, k: int, b: int, name: str = "rescale") -> tuple[LC, LC]:
    """``q = round(x / 2^k)`` as a new wire, and the bit ``[q >= 0]``; ``k + b + 2`` constraints.

    Proves ``x + 2^(k-1) = q·2^k + rem`` with ``0 <= rem < 2^k`` (``k`` bits) and
    ``-2^(b-1) <= q < 2^(b-1)`` (``b`` bits), which fixes ``q`` uniquely. Needs
    ``k >= 1`` and ``k + b <= bits(r) - 2``.
    """
    if k < 1:
        raise CircuitError(f"rescale: k must be >= 1, got {k}")
    if not 1 <= b or k + b > cb.field.bits - 2:
        raise CircuitError(f"rescale: k + b must be at most {cb.field.bits - 2} (k={k}, b={b})")
    x = cb._lc(x)
    r = cb.r
    half, unit = 1 << (k - 1), 1 << k

    def quotient(get):
        return to_field(round_div(from_field(get(x), r), k), r)

    q = cb.witness(f"{name}.q", hint=quotient)
    # the remainder's bits are computed from the q wire, so a prover that pins another q gets
    # a remainder outside [0, 2^k) and no bits that recompose it
    rem_v = x + half - q * unit
    rbits = []
    for i in range(k):
        w = cb.witness(f"{name}.rem[{i}]", hint=lambda get, i=i: (get(rem_v) >> i) & 1)
        assert_boolean(cb, w, f"{name}.rem[{i}]:boolean")
        rbits.append(w)
    rem = cb.const(0)
    for i, w in enumerate(rbits):
        rem = rem + w * (1 << i)
    cb.assert_equal(x + half, q * unit + rem, f"{name}: x + 2^(k-1) = q*2^k + rem")
    nonneg = signed_bits(cb, q, b, f"{name}.q")[b - 1]
    return q, nonneg


def relu(cb: CircuitBuilder, x: Operand, nonneg: Operand | None = None, b: int | None = None, name: str = "relu") -> LC:
    """``max(x, 0)``: ``nonneg · x`` (1 constraint) with ``nonneg`` from :func:`rescale`, or from a
    :func:`signed_range` of ``b`` bits when not given (``b + 2`` constraints)."""
    x = cb._lc(x)
    if nonneg is None:
        if b is None:
            raise CircuitError("relu: give the sign bit of x or its signed bit width b")
        nonneg = signed_range(cb, x, b, f"{name}.sign")
    return cb.mul(nonneg, x, f"{name}.y", f"{name}: y = [x>=0]*x")


def leaky_relu(
    cb: CircuitBuilder, x: Operand, alpha_q: int, k: int, b: int, bq: int, nonneg: Operand | None = None, name: str = "leaky"
) -> LC:
    """``x if x >= 0 else alpha·x`` at the scale of ``x``, with ``alpha_q = round(alpha·2^k)``.

    ``y·2^k = alpha_q·x + [x>=0]·(2^k − alpha_q)·x`` (1 constraint), then one
    :func:`rescale` by ``2^k`` with a ``bq``-bit quotient; ``b`` is the signed
    width of ``x`` (for its sign bit when ``nonneg`` is not given).
    """
    x = cb._lc(x)
    if nonneg is None:
        nonneg = signed_range(cb, x, b, f"{name}.sign")
    pos = cb.mul(nonneg, x, f"{name}.pos", f"{name}: [x>=0]*x")
    wide = x * alpha_q + pos * ((1 << k) - alpha_q)
    q, _ = rescale(cb, wide, k, bq, f"{name}.rescale")
    return q


def clip(cb: CircuitBuilder, x: Operand, lo: int | None, hi: int | None, b: int, name: str = "clip") -> LC:
    """``min(max(x, lo), hi)`` for integers ``lo <= hi`` (either may be None); ``b`` bits hold ``x − lo`` and
    ``hi − y`` (signed). Each present bound costs ``b + 2`` constraints."""
    y = cb._lc(x)
    if lo is not None:
        d = y - lo
        s = signed_range(cb, d, b, f"{name}.lo")
        y = cb.mul(s, d, f"{name}.above", f"{name}: [x>=lo]*(x-lo)") + lo
    if hi is not None:
        if lo is not None and hi < lo:
            raise CircuitError(f"clip: lo {lo} > hi {hi}")
        e = cb.const(hi) - y
        s = signed_range(cb, e, b, f"{name}.hi")
        y = cb.const(hi) - cb.mul(s, e, f"{name}.below", f"{name}: [y<=hi]*(hi-y)")
    return y
