"""Rounded division by a positive constant or a divisor computed in the circuit, the tie rule proven.

:func:`round_div` proves ``q = round(n / d)`` for an integer ``n`` and an
integer ``d >= 1`` (a constant, or a linear combination the caller has
proven positive), rounding halves to even (``mode="even"``, ONNX's
QuantizeLinear) or up (``mode="up"``).

Construction. ``q_u = floor((2n + d) / 2d)`` (round half up) with
remainder ``r = 2n + d − 2d·q_u``, ``0 <= r < 2d``; a tie is exactly ``r = 0``.
The circuit holds ``q_u`` (signed range check of ``b`` bits, which also gives
its parity bit), a tie bit ``t`` and ``r' = r − 1 + t``, and proves

* ``2n + d = 2d·q_u + r' + 1 − t`` (one constraint, a product when ``d`` is a wire),
* ``0 <= r' <= 2d − 2`` (two range checks of ``k`` bits; ``k`` from the largest ``d``),
* ``t`` boolean and ``t·r' = 0``,
* ``q = q_u − t·[q_u odd]`` (one product; ``mode="up"``: ``q = q_u``, and the
  range checks are on ``r`` itself).

``t = 1`` forces ``r' = 0`` hence ``r = 0``; ``t = 0`` forces ``r >= 1``: the
tie bit is ``[r = 0]``, with no free wire (unlike a zero test, whose inverse
is free when its input is 0). Given ``n`` and ``d``, ``(q_u, r)`` is unique
(``|2n + d|`` and ``|2d·q_u|`` stay far below the field), so ``q`` is.

Cost: ``2k + b + 6`` constraints for a constant divisor, one more (the
product) for a divisor wire; ``mode="up"``: ``2k + b + 3`` (one range check
fewer when ``2d`` is a constant power of two).
"""

from __future__ import annotations

from ispc_core.zk.errors import CircuitError
from ispc_core.zk.fixedpoint import bits_for, from_field, signed_bits, to_field
from ispc_core.zk.gadgets import assert_boolean, to_bits
from ispc_core.zk.r1cs import LC, CircuitBuilder, Operand

__all__ = ["round_div", "nonneg", "round_half_even"]


def round_half_even(n: int, d: int) -> int:
    """``round(n / d)`` with halves to even, for integers (``d >= 1``).

    >>> [round_half_even(v, 2) for v in (-3, -1, 1, 3, 5)]
    [-2, 0, 0, 2, 2]
    """
    qu, r = divmod(2 * n + d, 2 * d)
    return qu - 1 if r == 0 and qu % 2 else qu


def nonneg(cb: CircuitBuilder, x: Operand, n: int, name: str) -> None:
    """Constrain ``0 <= x < 2^n`` (``n + 1`` constraints; ``n = 0``: ``x = 0``, one constraint)."""
    if n == 0:
        cb.assert_equal(x, 0, f"{name}: = 0")
    else:
        to_bits(cb, x, n, name)


def round_div(
    cb: CircuitBuilder, num: Operand, den: Operand, *, num_bound: int, den_max: int, den_min: int = 1, mode: str = "even",
    qmax: int | None = None, name: str = "div",
) -> tuple[LC, int]:
    """``(q, |q| bound)`` with ``q = round(num / den)`` proven (see the module docstring).

    ``num_bound`` bounds ``|num|``; ``den`` is an int ``>= 1`` or a linear
    combination the caller has proven to lie in ``[den_min, den_max]`` (``den_min >= 1``).
    ``qmax``: a tighter bound of ``|q|`` the caller knows holds in every accepted witness (it sizes
    the quotient's range check; default from ``num_bound / den_min``).

    >>> from ispc_core.zk.r1cs import CircuitBuilder
    >>> cb = CircuitBuilder()
    >>> x = cb.witness("x", 7)
    >>> q, _ = round_div(cb, x, 2, num_bound=10, den_max=2)
    >>> cb.get(q)   # 3.5 rounds to the even 4
    4
    """
    if mode not in ("even", "up"):
        raise CircuitError(f"round_div: mode must be 'even' or 'up', got {mode!r}")
    num = cb._lc(num)
    const = isinstance(den, int)
    if const:
        if den < 1:
            raise CircuitError(f"round_div: the divisor must be >= 1, got {den}")
        den_min = den_max = den
        if den == 1:
            return num, num_bound
    if den_min < 1 or den_max < den_min:
        raise CircuitError(f"round_div: divisor range [{den_min}, {den_max}] must be within [1, ∞)")
    d = cb._lc(den)
    r = cb.r
    qmax = (2 * num_bound + den_max) // (2 * den_min) + 1 if qmax is None else qmax
    b = max(2, bits_for(qmax))
    if b + (2 * den_max).bit_length() + 2 > cb.field.bits - 2:
        raise CircuitError(f"{name}: a {b}-bit quotient of a divisor up to {den_max} does not fit the field")

    def qu_hint(get):
        n, dv = from_field(get(num), r), from_field(get(d), r)
        return to_field((2 * n + dv) // (2 * dv), r)

    qu = cb.witness(f"{name}.q", hint=qu_hint)
    # r = 2n + d − 2d·q_u (a product when d is a wire)
    if const:
        rem = 2 * num + den - qu * (2 * den)
    else:
        prod = cb.mul(d, qu, f"{name}.dq", f"{name}: d*q")
        rem = 2 * num + d - prod * 2
    bits = signed_bits(cb, qu, b, f"{name}.q")
    if mode == "up":
        k = (2 * den_max - 1).bit_length()
        nonneg(cb, rem, k, f"{name}.rem")
        if not (const and 2 * den == 1 << k):
            nonneg(cb, d * 2 - 1 - rem, k, f"{name}.rem_hi")
        return qu, qmax
    # tie bit t = [rem == 0]; r' = rem − 1 + t in [0, 2d − 2]
    t = cb.witness(f"{name}.tie", hint=lambda get: int(get(rem) == 0))
    assert_boolean(cb, t, f"{name}.tie:boolean")
    rp = rem - 1 + t
    k = max(1, (2 * den_max - 2).bit_length())
    nonneg(cb, rp, k, f"{name}.rem")
    if not (const and 2 * den - 1 == 1 << k):
        nonneg(cb, d * 2 - 2 - rp, k, f"{name}.rem_hi")
    cb.constrain(t, rp, 0, f"{name}: tie*(r-1+tie) = 0")
    adj = cb.mul(t, bits[0], f"{name}.odd_tie", f"{name}: tie*[q odd]")
    return qu - adj, qmax
