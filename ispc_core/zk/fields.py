"""Scalar fields of bn254 and bls12-381: constants, element operations, NTTs.

Elements are plain Python ints in ``[0, r)`` on the readable path; the fast
path holds whole vectors in numpy arrays of a ``zk_dtypes`` Montgomery dtype
(``bn254_sf_mont`` for bn254, a parametric ``prime_field(r, "mont")`` dtype for
bls12-381), whose element-wise ``+ - *`` run in native code.

Why hand-written and not galois: ``galois.GF(r)`` for a 254-bit r does its
arithmetic on object-dtype Python ints and ``galois.ntt`` always takes its slow
path; the zk_dtypes arrays are 10-30x faster for the same numpy code.

Roots of unity follow the ffjavascript (snarkjs) convention: with
``r - 1 = 2^s * t`` and ``nqr`` the smallest quadratic non-residue (5 for both
fields), the primitive ``2^k``-th root is ``nqr^(t * 2^(s-k))``, so evaluation
domains here equal those of snarkjs.

The fast NTTs live in :mod:`ispc_core.zk.ntt`; this module keeps a pure-Python
reference (:func:`ntt_reference`) that the tests compare them against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Sequence

import numpy as np

from .errors import FieldError, UnknownCurve

__all__ = [
    "PrimeField",
    "BN254_FR",
    "BLS12_381_FR",
    "get_field",
    "batch_inverse",
    "ntt_reference",
]


@dataclass(frozen=True)
class PrimeField:
    """A prime field ``F_r`` with a large power-of-two subgroup.

    ``nqr`` generates the 2-power roots of unity (ffjavascript convention);
    ``generator`` is a generator of the whole multiplicative group (used as the
    default coset shift).
    """

    name: str
    modulus: int
    nqr: int
    generator: int
    _dtype_factory: object = field(repr=False, compare=False, default=None)

    # ---- constants -------------------------------------------------------
    @cached_property
    def two_adicity(self) -> int:
        """Largest ``s`` with ``2^s | r - 1``."""
        t, s = self.modulus - 1, 0
        while t % 2 == 0:
            t //= 2
            s += 1
        return s

    @property
    def bits(self) -> int:
        """Bit length of the modulus."""
        return self.modulus.bit_length()

    @property
    def n8(self) -> int:
        """Bytes per element in the iden3 file formats (a multiple of 8)."""
        return ((self.bits - 1) // 64 + 1) * 8

    def root_of_unity(self, n: int) -> int:
        """Primitive ``n``-th root of unity, ``n`` a power of two ``<= 2^two_adicity``."""
        if n < 1 or n & (n - 1):
            raise FieldError(f"{self.name}: root of unity order must be a power of two, got {n}")
        k = n.bit_length() - 1
        if k > self.two_adicity:
            raise FieldError(f"{self.name}: no 2^{k}-th root of unity (two-adicity {self.two_adicity})")
        return pow(self.nqr, (self.modulus - 1) >> k, self.modulus)

    # ---- element operations (ints) ----------------------------------------
    def reduce(self, a: int) -> int:
        """``a mod r`` (accepts negative ints)."""
        return a % self.modulus

    def add(self, a: int, b: int) -> int:
        """``a + b``."""
        return (a + b) % self.modulus

    def sub(self, a: int, b: int) -> int:
        """``a - b``."""
        return (a - b) % self.modulus

    def neg(self, a: int) -> int:
        """``-a``."""
        return (-a) % self.modulus

    def mul(self, a: int, b: int) -> int:
        """``a * b``."""
        return (a * b) % self.modulus

    def pow(self, a: int, e: int) -> int:
        """``a^e`` (negative ``e`` inverts)."""
        if e < 0:
            return pow(self.inv(a), -e, self.modulus)
        return pow(a, e, self.modulus)

    def inv(self, a: int) -> int:
        """``a^-1``; raises :class:`FieldError` for zero."""
        a %= self.modulus
        if a == 0:
            raise FieldError(f"{self.name}: inverse of zero")
        return pow(a, -1, self.modulus)

    def div(self, a: int, b: int) -> int:
        """``a / b``."""
        return (a * self.inv(b)) % self.modulus

    def is_element(self, a) -> bool:
        """True if ``a`` is an int in ``[0, r)``."""
        return isinstance(a, int) and 0 <= a < self.modulus

    # ---- numpy fast path ---------------------------------------------------
    @cached_property
    def dtype(self) -> np.dtype:
        """The zk_dtypes Montgomery numpy dtype of this field."""
        return np.dtype(self._dtype_factory())

    def to_array(self, values: Iterable[int]) -> np.ndarray:
        """Ints (any range, reduced here) -> numpy array of :attr:`dtype`."""
        if isinstance(values, np.ndarray) and values.dtype == self.dtype:
            return values
        r = self.modulus
        return np.array([int(v) % r for v in values], dtype=self.dtype)

    def from_array(self, arr: np.ndarray) -> list[int]:
        """Numpy array of :attr:`dtype` -> list of ints in ``[0, r)``."""
        return [int(v) for v in arr.ravel()]

    def batch_inverse(self, values: Sequence[int]) -> list[int]:
        """Inverses of all ``values`` (see :func:`batch_inverse`)."""
        return batch_inverse(self, values)


def _bn254_dtype():
    import zk_dtypes

    return zk_dtypes.bn254_sf_mont


def _bls_dtype():
    import zk_dtypes

    return zk_dtypes.prime_field(BLS12_381_FR.modulus, "mont")


BN254_FR = PrimeField(
    name="bn254",
    modulus=21888242871839275222246405745257275088548364400416034343698204186575808495617,
    nqr=5,
    generator=5,
    _dtype_factory=_bn254_dtype,
)
BLS12_381_FR = PrimeField(
    name="bls12-381",
    modulus=0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001,
    nqr=5,
    generator=7,
    _dtype_factory=_bls_dtype,
)

_FIELDS = {"bn254": BN254_FR, "bls12-381": BLS12_381_FR}


def get_field(curve: str) -> PrimeField:
    """Scalar field of ``curve`` ("bn254" or "bls12-381"); :class:`UnknownCurve` otherwise."""
    try:
        return _FIELDS[curve]
    except KeyError:
        raise UnknownCurve(curve, _FIELDS) from None


def batch_inverse(f: PrimeField, values: Sequence[int]) -> list[int]:
    """Montgomery's trick: all inverses for one field inversion and ``3n`` multiplications.

    Raises :class:`FieldError` naming the index of the first zero.
    """
    r = f.modulus
    n = len(values)
    prefix = [1] * (n + 1)
    acc = 1
    for i, v in enumerate(values):
        v %= r
        if v == 0:
            raise FieldError(f"{f.name}: batch_inverse: element {i} is zero")
        acc = acc * v % r
        prefix[i + 1] = acc
    inv = pow(acc, -1, r)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = inv * prefix[i] % r
        inv = inv * (values[i] % r) % r
    return out


def ntt_reference(f: PrimeField, values: Sequence[int], inverse: bool = False, shift: int = 1) -> list[int]:
    """Pure-Python radix-2 NTT (the readable twin of :func:`ispc_core.zk.ntt.ntt`).

    Forward: ``out[i] = sum_j values[j] * (shift * w^i)^j`` with ``w`` the
    primitive ``n``-th root. Inverse (``inverse=True``): the inverse map, i.e.
    coefficients of the polynomial whose evaluations on ``shift * <w>`` are
    ``values``.
    """
    r = f.modulus
    n = len(values)
    w = f.root_of_unity(n)
    if inverse:
        w = pow(w, -1, r)
    a = [v % r for v in values]
    if not inverse and shift != 1:
        s = 1
        for i in range(n):
            a[i] = a[i] * s % r
            s = s * shift % r
    # bit-reversal permutation
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            a[i], a[j] = a[j], a[i]
    m = 1
    while m < n:
        wm = pow(w, n // (2 * m), r)
        for k in range(0, n, 2 * m):
            t = 1
            for jj in range(m):
                u = a[k + jj]
                v = a[k + jj + m] * t % r
                a[k + jj] = (u + v) % r
                a[k + jj + m] = (u - v) % r
                t = t * wm % r
        m *= 2
    if inverse:
        n_inv = pow(n, -1, r)
        a = [x * n_inv % r for x in a]
        if shift != 1:
            s_inv = pow(shift, -1, r)
            s = 1
            for i in range(n):
                a[i] = a[i] * s % r
                s = s * s_inv % r
    return a
