"""The backend-neutral curves API: :class:`Group` (G1 or G2 of one curve) and :class:`CurveBackend`.

A backend keeps points in whatever form is fastest for it (py_ecc tuples,
arkworks objects, zk_dtypes numpy scalars); callers only use the methods
here and convert at the edges with ``from_affine`` / ``to_affine`` (ints),
``from_bytes`` / ``to_bytes`` and ``from_snarkjs`` / ``to_snarkjs``.

Every point that comes from outside goes through ``from_affine(check=True)``
(directly or via the byte/JSON decoders): range, on-curve and subgroup checks,
raising :class:`~ispc_core.zk.errors.InvalidPoint` naming the failed check.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Sequence

from ..errors import InvalidPoint
from . import serialization as ser
from .params import CurveSpec

Point = Any


class Group(ABC):
    """G1 or G2 of one curve, for one backend. Scalars are ints (reduced mod r here)."""

    def __init__(self, curve: CurveSpec, name: str):
        self.curve = curve
        self.name = name  # "G1" | "G2"

    # ---- to implement ---------------------------------------------------
    @abstractmethod
    def generator(self) -> Point:
        """The standard generator."""

    @abstractmethod
    def infinity(self) -> Point:
        """The point at infinity (group identity)."""

    @abstractmethod
    def add(self, a: Point, b: Point) -> Point:
        """``a + b``."""

    @abstractmethod
    def neg(self, a: Point) -> Point:
        """``-a``."""

    @abstractmethod
    def mul(self, a: Point, k: int) -> Point:
        """``k * a`` for an int ``k`` (reduced mod r; the point must be in the subgroup)."""

    @abstractmethod
    def eq(self, a: Point, b: Point) -> bool:
        """Group equality."""

    @abstractmethod
    def to_affine(self, a: Point):
        """Affine int coordinates (``(x, y)`` / ``((x0,x1),(y0,y1))``) or None for infinity."""

    @abstractmethod
    def _from_affine_unchecked(self, aff) -> Point:
        """Backend point from affine ints already checked for range and curve membership."""

    @abstractmethod
    def in_subgroup(self, a: Point) -> bool:
        """True if ``r * a`` is the identity."""

    @abstractmethod
    def msm(self, points: Sequence[Point] | Any, scalars: Sequence[int] | Any) -> Point:
        """``sum_i scalars[i] * points[i]``; ``points`` as from :meth:`batch_from_affine` or a list."""

    # ---- shared ----------------------------------------------------------
    def sub(self, a: Point, b: Point) -> Point:
        """``a - b``."""
        return self.add(a, self.neg(b))

    def is_infinity(self, a: Point) -> bool:
        """True for the point at infinity."""
        return self.eq(a, self.infinity())

    def from_affine(self, aff, check: bool = True) -> Point:
        """Backend point from affine ints; with ``check`` validate range, on-curve and subgroup."""
        if check:
            aff = (ser.check_g1_affine if self.name == "G1" else ser.check_g2_affine)(self.curve, aff)
        p = self._from_affine_unchecked(aff)
        if check and aff is not None and not self.in_subgroup(p):
            raise InvalidPoint(
                f"{self.curve.name} {self.name}: point is not in the prime-order subgroup",
                curve=self.curve.name,
                group=self.name,
                check="subgroup",
            )
        return p

    def batch_from_affine(self, affs: Sequence, check: bool = True):
        """Many points at once, in the form this backend's :meth:`msm` is fastest with."""
        return [self.from_affine(a, check) for a in affs]

    def batch_to_affine(self, points) -> list:
        """Affine ints of many points."""
        return [self.to_affine(p) for p in points]

    def to_bytes(self, a: Point, compressed: bool = True) -> bytes:
        """Serialize (formats in :mod:`ispc_core.zk.curves.serialization`)."""
        enc = ser.g1_to_bytes if self.name == "G1" else ser.g2_to_bytes
        return enc(self.curve, self.to_affine(a), compressed)

    def from_bytes(self, data: bytes) -> Point:
        """Deserialize (compressed or uncompressed by length) with all checks."""
        dec = ser.g1_from_bytes if self.name == "G1" else ser.g2_from_bytes
        return self.from_affine(dec(self.curve, data), check=True)

    def to_snarkjs(self, a: Point) -> list:
        """snarkjs JSON (decimal strings, projective with z = 1)."""
        enc = ser.g1_to_snarkjs if self.name == "G1" else ser.g2_to_snarkjs
        return enc(self.to_affine(a))

    def from_snarkjs(self, obj) -> Point:
        """Parse snarkjs JSON with all checks."""
        dec = ser.g1_from_snarkjs if self.name == "G1" else ser.g2_from_snarkjs
        return self.from_affine(dec(self.curve, obj), check=True)


class OperatorGroup(Group):
    """A :class:`Group` whose native points already support ``+``, unary ``-`` and ``==``.

    Subclasses set ``self._zero`` (the identity) and implement the rest.
    """

    _zero: Point

    def infinity(self) -> Point:
        return self._zero

    def add(self, a: Point, b: Point) -> Point:
        return a + b

    def neg(self, a: Point) -> Point:
        return -a

    def eq(self, a: Point, b: Point) -> bool:
        return bool(a == b)


class CurveBackend(ABC):
    """Arithmetic for one curve: ``g1``, ``g2`` and a pairing check.

    ``name`` identifies the implementation ("reference", "arkworks",
    "zkdtypes"); ``kind`` is "reference" or "fast".
    """

    name: str = ""
    kind: str = "fast"
    curve: CurveSpec
    g1: Group
    g2: Group

    @abstractmethod
    def pairing_check(self, pairs: Sequence[tuple[Point, Point]]) -> bool:
        """True iff ``prod_i e(P_i, Q_i) == 1`` for ``pairs = [(P_i in G1, Q_i in G2), ...]``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.curve.name} ({self.kind})>"
