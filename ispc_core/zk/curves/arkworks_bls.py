"""Fast bls12-381 backend on py-arkworks-bls12381 (native MSM, pairing and subgroup checks).

Points are ``G1Point`` / ``G2Point`` objects; coordinates cross the boundary
as big-endian ``x || y`` bytes (``x0 || x1 || y0 || y1`` for G2).
"""

from __future__ import annotations

from typing import Sequence

from .base import CurveBackend, OperatorGroup
from .params import BLS12_381

_N = 48


def _scalars(vals, r):
    from py_arkworks_bls12381 import Scalar

    return [Scalar(int(v) % r) for v in vals]


class _ArkGroup(OperatorGroup):
    def __init__(self, name: str):
        super().__init__(BLS12_381, name)
        import py_arkworks_bls12381 as ark

        self.ark = ark
        self.cls = ark.G1Point if name == "G1" else ark.G2Point
        self._zero = self.cls.identity()

    def generator(self):
        return self.cls()

    def mul(self, a, k):
        return a * self.ark.Scalar(int(k) % self.curve.r)

    def to_affine(self, a):
        if a == self._zero:
            return None
        b = a.to_xy_bytes_be()
        v = [int.from_bytes(b[i : i + _N], "big") for i in range(0, len(b), _N)]
        if self.name == "G1":
            return (v[0], v[1])
        return ((v[0], v[1]), (v[2], v[3]))

    def _from_affine_unchecked(self, aff):
        if aff is None:
            return self._zero
        if self.name == "G1":
            data = aff[0].to_bytes(_N, "big") + aff[1].to_bytes(_N, "big")
        else:
            (x0, x1), (y0, y1) = aff
            data = b"".join(v.to_bytes(_N, "big") for v in (x0, x1, y0, y1))
        return self.cls.from_xy_bytes_unchecked_be(data)

    def in_subgroup(self, a):
        return a.is_in_subgroup()

    def msm(self, points: Sequence, scalars: Sequence[int]):
        if len(points) != len(scalars):
            raise ValueError(f"msm: {len(points)} points but {len(scalars)} scalars")
        if len(points) == 0:
            return self._zero
        return self.cls.multiexp_unchecked(list(points), _scalars(scalars, self.curve.r))


class ArkworksBLS12381Backend(CurveBackend):
    """bls12-381 on arkworks (Rust) through py-arkworks-bls12381."""

    name = "arkworks"
    kind = "fast"

    def __init__(self):
        self.curve = BLS12_381
        self.g1 = _ArkGroup("G1")
        self.g2 = _ArkGroup("G2")

    def pairing_check(self, pairs):
        from py_arkworks_bls12381 import GT

        pairs = list(pairs)
        return GT.pairing_check([p for p, _ in pairs], [q for _, q in pairs])
