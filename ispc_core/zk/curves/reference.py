"""Pure-Python reference backend on py_ecc (``optimized_bn128``, ``optimized_bls12_381``).

Slow (scalar multiplication ~10 ms, pairing ~0.5 s) but simple and
independent of the fast backends, which the tests cross-check against it.
Points are py_ecc projective tuples.
"""

from __future__ import annotations

from functools import cached_property
from typing import Sequence

from .base import CurveBackend, Group
from .params import BLS12_381, BN254, CurveSpec


def _pyecc(curve: CurveSpec):
    if curve.name == "bn254":
        from py_ecc import optimized_bn128 as m
    else:
        from py_ecc import optimized_bls12_381 as m
    return m


class _RefGroup(Group):
    def __init__(self, curve: CurveSpec, name: str):
        super().__init__(curve, name)
        self.m = _pyecc(curve)
        m = self.m
        self._fq2 = m.FQ2
        self._gen = m.G1 if name == "G1" else m.G2
        self._zero = m.Z1 if name == "G1" else m.Z2

    def generator(self):
        return self._gen

    def infinity(self):
        return self._zero

    def add(self, a, b):
        return self.m.add(a, b)

    def neg(self, a):
        return self.m.neg(a)

    def mul(self, a, k):
        k %= self.curve.r
        return self.m.multiply(a, k) if k else self._zero

    def eq(self, a, b):
        return self.m.eq(a, b)

    def is_infinity(self, a):
        return self.m.is_inf(a)

    def to_affine(self, a):
        if self.m.is_inf(a):
            return None
        x, y = self.m.normalize(a)
        if self.name == "G1":
            return (int(x), int(y))
        return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))

    def _from_affine_unchecked(self, aff):
        if aff is None:
            return self._zero
        m = self.m
        if self.name == "G1":
            return (m.FQ(aff[0]), m.FQ(aff[1]), m.FQ.one())
        (x0, x1), (y0, y1) = aff
        return (m.FQ2([x0, x1]), m.FQ2([y0, y1]), m.FQ2.one())

    def in_subgroup(self, a):
        # py_ecc's multiply does not reduce the scalar, so this is a real r * a.
        return self.m.is_inf(self.m.multiply(a, self.curve.r))

    def msm(self, points: Sequence, scalars: Sequence[int]):
        if len(points) != len(scalars):
            raise ValueError(f"msm: {len(points)} points but {len(scalars)} scalars")
        acc = self._zero
        for p, k in zip(points, scalars):
            k %= self.curve.r
            if k:
                acc = self.m.add(acc, self.m.multiply(p, k))
        return acc


class ReferenceBackend(CurveBackend):
    """py_ecc for everything: the readable yardstick."""

    name = "reference"
    kind = "reference"

    def __init__(self, curve: CurveSpec):
        self.curve = curve

    # py_ecc is imported on first use: its bls12-381 module takes ~0.3 s to import, which every process
    # that only registers the backends (a bn254 prover, say) would otherwise pay
    @cached_property
    def g1(self) -> _RefGroup:
        """G1 on py_ecc."""
        return _RefGroup(self.curve, "G1")

    @cached_property
    def g2(self) -> _RefGroup:
        """G2 on py_ecc."""
        return _RefGroup(self.curve, "G2")

    @cached_property
    def m(self):
        """The py_ecc module of this curve."""
        return _pyecc(self.curve)

    def pairing_check(self, pairs):
        m = self.m
        acc = m.FQ12.one()
        for p, q in pairs:
            if m.is_inf(p) or m.is_inf(q):
                continue
            acc = acc * m.pairing(q, p, final_exponentiate=False)
        return m.final_exponentiate(acc) == m.FQ12.one()


def reference_backends() -> list[ReferenceBackend]:
    """One reference backend per known curve."""
    return [ReferenceBackend(BN254), ReferenceBackend(BLS12_381)]
