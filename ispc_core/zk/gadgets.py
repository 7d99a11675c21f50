"""Basic R1CS gadgets: boolean, equality, zero test, bit decomposition / range check, comparison, select.

Each gadget adds its constraints to a :class:`~ispc_core.zk.r1cs.CircuitBuilder`
and returns the result wire(s) as linear combinations; witness values come from
hints, so gadgets work with or without values (setup vs proving).
The constructions follow circomlib (``IsZero``, ``IsEqual``, ``Num2Bits``, ``LessThan``).
"""

from __future__ import annotations

from .errors import CircuitError
from .r1cs import LC, CircuitBuilder, Operand

__all__ = [
    "assert_boolean",
    "boolean",
    "assert_equal",
    "is_zero",
    "is_equal",
    "to_bits",
    "from_bits",
    "range_check",
    "less_than",
    "select",
]


def assert_boolean(cb: CircuitBuilder, x: Operand, label: str = "boolean") -> None:
    """Constrain ``x * (x - 1) = 0``."""
    x = cb._lc(x)
    cb.constrain(x, x - 1, 0, label)


def boolean(cb: CircuitBuilder, name: str, value: int | None = None) -> LC:
    """A new private internal wire constrained to 0 or 1."""
    b = cb.witness(name, value)
    assert_boolean(cb, b, f"{name}:boolean")
    return b


def assert_equal(cb: CircuitBuilder, a: Operand, b: Operand, label: str = "equal") -> None:
    """Constrain ``a == b``."""
    cb.assert_equal(a, b, label)


def is_zero(cb: CircuitBuilder, x: Operand, name: str = "is_zero") -> LC:
    """``1`` if ``x == 0`` else ``0`` (circomlib IsZero: ``inv`` hint, two constraints)."""
    x = cb._lc(x)
    r = cb.r
    inv = cb.witness(f"{name}.inv", hint=lambda get: pow(get(x), -1, r) if get(x) else 0)
    out = cb.witness(f"{name}.out", hint=lambda get: 0 if get(x) else 1)
    # out = 1 - x*inv ; x*out = 0
    cb.constrain(x, inv, 1 - out, f"{name}:out=1-x*inv")
    cb.constrain(x, out, 0, f"{name}:x*out=0")
    return out


def is_equal(cb: CircuitBuilder, a: Operand, b: Operand, name: str = "is_equal") -> LC:
    """``1`` if ``a == b`` else ``0``."""
    return is_zero(cb, cb._lc(a) - cb._lc(b), name)


def to_bits(cb: CircuitBuilder, x: Operand, n: int, name: str = "bits") -> list[LC]:
    """Little-endian bits ``b_i`` with ``sum b_i 2^i == x`` (constrains ``x < 2^n``)."""
    if not 1 <= n < cb.field.bits:
        raise CircuitError(f"to_bits: n must be in [1, {cb.field.bits - 1}], got {n}")
    x = cb._lc(x)
    bits = []
    for i in range(n):
        b = cb.witness(f"{name}[{i}]", hint=lambda get, i=i: (get(x) >> i) & 1)
        assert_boolean(cb, b, f"{name}[{i}]:boolean")
        bits.append(b)
    cb.assert_equal(from_bits(cb, bits), x, f"{name}:recompose")
    return bits


def from_bits(cb: CircuitBuilder, bits: list[Operand]) -> LC:
    """``sum bits[i] * 2^i`` (no constraint)."""
    acc = cb.const(0)
    for i, b in enumerate(bits):
        acc = acc + cb._lc(b) * (1 << i)
    return acc


def range_check(cb: CircuitBuilder, x: Operand, n: int, name: str = "range") -> None:
    """Constrain ``0 <= x < 2^n`` by bit decomposition."""
    to_bits(cb, x, n, name)


def less_than(cb: CircuitBuilder, a: Operand, b: Operand, n: int, name: str = "lt") -> LC:
    """``1`` if ``a < b`` else ``0``, for ``a, b < 2^n`` (circomlib LessThan; caller range-checks a, b)."""
    if not 1 <= n <= cb.field.bits - 2:
        raise CircuitError(f"less_than: n must be in [1, {cb.field.bits - 2}], got {n}")
    bits = to_bits(cb, cb._lc(a) + (1 << n) - cb._lc(b), n + 1, name)
    return 1 - bits[n]


def select(cb: CircuitBuilder, cond: Operand, a: Operand, b: Operand, name: str = "select") -> LC:
    """``a`` if ``cond`` else ``b`` (``cond`` must be boolean; constrained here)."""
    cond = cb._lc(cond)
    assert_boolean(cb, cond, f"{name}:cond boolean")
    a, b = cb._lc(a), cb._lc(b)
    return cb.mul(cond, a - b, name) + b
