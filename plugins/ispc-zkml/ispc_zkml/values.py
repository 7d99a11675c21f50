"""The tensors the lowering works on: element linear combinations with their bounds and error bounds.

A :class:`Value` is an activation: every element a linear combination of
wires, at scale ``2^scale`` (the real value is ``X / 2^scale``). An integer
tensor (the int8 path, ArgMax's indices) is a value at scale 0.

Besides the element-wise bookkeeping, a value may carry how its error is
*coupled* to a scale computed at run time (DynamicQuantizeLinear): an
integer tensor ``T`` whose own error is large (one quantization step can
flip) but whose product with its scale ``σ`` is accurate — ``|σ_c·T_c −
σ·T| <= derr`` — and the scale tensors ``f·σ`` it will be multiplied by
(:class:`DynScale`). :mod:`ispc_zkml.quantized` makes and uses them; every
other operator drops them (and falls back to the element-wise bound, which
stays sound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

__all__ = ["Value", "Coupled", "DynScale", "obj", "ints", "quant", "absmax", "dyadic", "INT_RANGES", "INT_TYPES"]

_T = onnx.TensorProto
#: integer element types and their ranges (an output of one of these is at scale 0)
INT_RANGES = {
    _T.INT8: (-(1 << 7), (1 << 7) - 1), _T.UINT8: (0, (1 << 8) - 1), _T.INT16: (-(1 << 15), (1 << 15) - 1),
    _T.UINT16: (0, (1 << 16) - 1), _T.INT32: (-(1 << 31), (1 << 31) - 1), _T.UINT32: (0, (1 << 32) - 1),
    _T.INT64: (-(1 << 63), (1 << 63) - 1), _T.UINT64: (0, (1 << 64) - 1),
}  # fmt: skip
INT_TYPES = tuple(INT_RANGES)


def obj(shape) -> np.ndarray:
    """An empty object array (elements are Python ints or linear combinations)."""
    return np.empty(shape, dtype=object)


def ints(a: np.ndarray) -> np.ndarray:
    """An object array of Python ints."""
    out = obj(np.shape(a))
    flat = np.asarray(a).reshape(-1)
    out.reshape(-1)[:] = [int(v) for v in flat]
    return out


def quant(c: np.ndarray, e: int) -> np.ndarray:
    """``round(c · 2^e)`` (halves to even, as ``numpy.rint``) as an object array of Python ints."""
    return ints(np.rint(np.asarray(c, dtype=np.float64) * 2.0**e))


def absmax(a: np.ndarray) -> int:
    """The largest ``|v|`` of an object array of ints (0 when empty)."""
    return max((abs(int(v)) for v in a.reshape(-1)), default=0)


def dyadic(c: float, bits: int) -> tuple[int, int]:
    """``(m, e)`` with ``m / 2^e`` the constant ``c`` with at most ``bits`` significant bits (``e`` may be
    negative); exact for a float32 constant when ``bits >= 24``.

    >>> dyadic(0.375, 24)
    (3, 3)
    """
    c = float(c)
    if c == 0.0:
        return 0, 0
    m, ex = np.frexp(c)  # c = m · 2^ex, 0.5 <= |m| < 1
    e = bits - int(ex)
    q = int(np.rint(c * 2.0**e)) if abs(e) < 1000 else int(round(m * 2.0**bits))
    while q and q % 2 == 0:  # the smallest scale that holds it
        q //= 2
        e -= 1
    return q, e


@dataclass(frozen=True)
class Coupled:
    """``|σ_c·T_c − σ·T| <= derr`` (real units) for the scale ``σ`` of DynamicQuantizeLinear ``key``:
    ``T_c`` the circuit's integers, ``σ_c`` its scale, ``σ, T`` the same in exact arithmetic.
    ``minus_zp``: the bound holds for ``T − Z`` (the tensor still carries its zero point ``Z``)."""

    key: str
    derr: np.ndarray
    minus_zp: bool = False


@dataclass(frozen=True)
class DynScale:
    """This scalar is ``factor · σ`` for the scale ``σ`` of DynamicQuantizeLinear ``key``:
    ``|V/2^e − factor·σ_c| <= rho``, and ``σ_c <= smax``."""

    key: str
    factor: float
    rho: float
    smax: float


@dataclass
class Value:
    """An activation tensor: element linear combinations at scale ``2^scale``.

    ``bound``: ``|X| <= bound`` for every input in the declared range (sizes range checks);
    ``hard``: ``|X| <= hard`` for every witness the constraints accept (the no-wrap check);
    ``err``: ``|X / 2^scale − exact| <= err`` (real units) against exact real arithmetic;
    ``sign``: the ``[X >= 0]`` bit of each element when a range check already made it.
    """

    lc: np.ndarray
    bound: np.ndarray
    hard: np.ndarray
    err: np.ndarray
    scale: int
    sign: np.ndarray | None = None
    #: this value rescaled to scale s, once made (a tensor read by two nodes is rescaled once)
    ensured: "Value | None" = None
    #: the coupled error of a dynamically quantized integer tensor (:mod:`ispc_zkml.quantized`)
    coupled: Coupled | None = None
    #: this scalar is a multiple of a dynamic quantization scale
    dscale: DynScale | None = None
    #: this is the zero point of DynamicQuantizeLinear ``zp_of``
    zp_of: str | None = None

    def __post_init__(self):
        # arithmetic on 0-d arrays gives scalars: a scalar tensor keeps its fields as 0-d arrays
        for f in ("lc", "bound", "hard", "sign"):
            v = getattr(self, f)
            if v is not None and not isinstance(v, np.ndarray):
                a = np.empty((), dtype=object)
                a[()] = v
                setattr(self, f, a)
        if not isinstance(self.err, np.ndarray):
            self.err = np.asarray(self.err, dtype=np.float64)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.lc.shape

    def apply(self, fn) -> "Value":
        """The same tensor reshaped / indexed by ``fn`` (applied to every element-wise field)."""
        coupled = None if self.coupled is None else Coupled(self.coupled.key, fn(self.coupled.derr), self.coupled.minus_zp)
        return Value(
            fn(self.lc), fn(self.bound), fn(self.hard), fn(self.err), self.scale,
            None if self.sign is None else fn(self.sign), None if self.ensured is None else self.ensured.apply(fn),
            coupled, self.dscale, self.zp_of,
        )  # fmt: skip

    def realmax(self) -> np.ndarray:
        """Largest |real value| of each element (float)."""
        return self.bound.astype(float) / 2.0**self.scale + self.err
