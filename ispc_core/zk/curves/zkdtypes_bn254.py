"""Fast bn254 backend: zk-dtypes numpy point dtypes + a numpy Pippenger MSM + a native pairing.

Why hand-written: no PyPI wheel offers bn254 MSM and pairing together (see
DESIGN §7). zk-dtypes gives native element-wise point arithmetic on numpy
arrays (Montgomery form); the MSM here is Pippenger's bucket method laid out
for numpy:

1. scalars -> little-endian uint64 limbs -> ``c``-bit window digits, made
   signed (digits in ``[-2^(c-1), 2^(c-1))`` with a carry into the next window)
   so only ``2^(c-1)`` buckets are needed and negative digits use ``-P``;
2. per window, one ``np.add.at`` adds every point into its bucket (xyzz
   coordinates, mixed addition with the affine inputs);
3. the window sum ``sum_k k * B_k`` is ``sum(cumsum(B[::-1]))``;
4. windows are combined by Horner's rule with ``c`` doublings each.

The pairing check uses garaga's native multi-pairing (``garaga_rs``, installed
with ``pip install --no-deps garaga``) when present, else py_ecc.

Single points are numpy scalars of ``bn254_g{1,2}_jacobian_mont``; point
vectors (``batch_from_affine``) are arrays of ``bn254_g{1,2}_affine_mont``.
"""

from __future__ import annotations

import math

import numpy as np

from . import serialization as ser
from .base import CurveBackend, OperatorGroup
from .params import BN254

_Q = BN254.q
_R = BN254.r
_MONT_R = (1 << 256) % _Q
_MONT_RINV = pow(_MONT_R, -1, _Q)


def _dtypes(name: str):
    import zk_dtypes as z

    if name == "G1":
        return z.bn254_g1_affine_mont, z.bn254_g1_jacobian_mont, z.bn254_g1_xyzz_mont
    return z.bn254_g2_affine_mont, z.bn254_g2_jacobian_mont, z.bn254_g2_xyzz_mont


def _coords_to_affine_array(coords: list[list[int]], dtype) -> np.ndarray:
    """Rows of standard-form coordinates -> affine Montgomery array (raw limb writes)."""
    buf = b"".join((c * _MONT_R % _Q).to_bytes(32, "little") for row in coords for c in row)
    return np.frombuffer(buf, dtype=np.uint8).copy().view(dtype)


def _affine_array_to_coords(arr: np.ndarray, width: int) -> list[list[int]]:
    raw = arr.tobytes()
    vals = [int.from_bytes(raw[i : i + 32], "little") * _MONT_RINV % _Q for i in range(0, len(raw), 32)]
    return [vals[i : i + width] for i in range(0, len(vals), width)]


def _scalar_limbs(scalars) -> np.ndarray:
    buf = b"".join((int(k) % _R).to_bytes(32, "little") for k in scalars)
    return np.frombuffer(buf, dtype=np.uint64).reshape(-1, 4)


def _window_bits(n: int) -> int:
    if n < 32:
        return 3
    return max(4, min(16, int(math.log2(n)) - 3))


def pippenger(points_affine: np.ndarray, scalars, xyzz_dtype, jac_dtype):
    affine_dtype = points_affine.dtype
    """Signed-digit bucket MSM over numpy arrays (see module docstring); returns a jacobian scalar."""
    n = len(points_affine)
    if n == 0:
        return jac_dtype(0)
    limbs = _scalar_limbs(scalars)
    c = _window_bits(n)
    n_windows = (254 + c - 1) // c + 1
    half = 1 << (c - 1)
    mask = np.uint64((1 << c) - 1)
    both = np.concatenate([points_affine, -points_affine])
    carry = np.zeros(n, dtype=np.int64)
    window_sums = []
    for j in range(n_windows):
        off = j * c
        li, sh = off // 64, off % 64
        if li < 4:
            val = limbs[:, li] >> np.uint64(sh)
            if sh + c > 64 and li + 1 < 4:
                val = val | (limbs[:, li + 1] << np.uint64(64 - sh))
            d = (val & mask).astype(np.int64) + carry
        else:
            d = carry.copy()
        carry = (d >= half).astype(np.int64)
        d -= carry << c
        nz = np.nonzero(d)[0]
        if len(nz) == 0:
            window_sums.append(None)
            continue
        dn = d[nz]
        src = both[nz + n * (dn < 0)]
        buckets = np.zeros(half, dtype=xyzz_dtype)
        np.add.at(buckets, np.abs(dn) - 1, src)
        window_sums.append(np.cumsum(buckets[::-1]).sum())
    acc = None
    for w in reversed(window_sums):
        if acc is not None:
            for _ in range(c):
                acc = acc + acc
        if w is not None:
            acc = w if acc is None else acc + w
    if acc is None:
        return jac_dtype(0)
    return np.array([acc], dtype=xyzz_dtype).astype(affine_dtype).astype(jac_dtype)[0]


class FixedBaseMSM:
    """MSM over a fixed set of points with precomputed window tables.

    With ``c``-bit windows, ``T[i, j, d] = d * 2^(c j) * P_i``: an MSM is then one
    gather of the scalars' nonzero digits and one vectorized sum, with no
    doublings. Worth it when the points never change and the MSM is small and
    frequent (the IC points of a verifying key): a few hundred microseconds
    instead of a few milliseconds.

    ``window_bits=8``: 8-bit windows over all 32 bytes, ``k · 8192`` points —
    for a few points. ``window_bits=4``: the two low bytes keep 8-bit windows
    and the other 30 bytes get 4-bit ones, ``k · 1472`` points — for many (a
    zkML key's ~800 IC points: 112 MB and ~1 s to build, instead of 626 MB and
    ~6 s). Its public inputs are mostly 16-bit fixed-point values (negatives
    taken as minus their complement), so their digits are as few as with 8-bit
    windows throughout; a full-width scalar gathers 62 digits instead of 32.
    """

    #: the largest table (in points: 32 key points, 25 MB) that gets 8-bit windows throughout
    MAX_8BIT_ENTRIES = 1 << 18
    #: bytes with 8-bit windows when ``window_bits=4``
    LOW_BYTES = 2

    def __init__(self, points_jac: np.ndarray, jac_dtype, window_bits: int | None = None):
        k = len(points_jac)
        c = window_bits or (8 if k * 32 * 256 <= self.MAX_8BIT_ENTRIES else 4)
        if c not in (4, 8):
            raise ValueError(f"fixed-base MSM: window of {c} bits (4 or 8)")
        self.k, self.jac, self.c = k, jac_dtype, c
        self.low = 32 if c == 8 else self.LOW_BYTES
        pts = np.asarray(points_jac, dtype=jac_dtype)
        self.t8, pts = self._tables(pts, self.low, 8)
        self.t4, _ = self._tables(pts, 2 * (32 - self.low), 4)

    @staticmethod
    def _tables(pts, nwin: int, c: int):
        """``T[i, j, d] = d · 2^(c·j) · P_i`` for ``nwin`` windows from ``pts``; and ``2^(c·nwin) · P``."""
        k = len(pts)
        jac = pts.dtype
        base = np.empty((k, nwin), dtype=jac)
        for j in range(nwin):
            base[:, j] = pts
            for _ in range(c):
                pts = pts + pts
        table = np.full((k, nwin, 1 << c), jac.type(0))
        for d in range(1, 1 << c):
            table[:, :, d] = table[:, :, d - 1] + base
        return table, pts

    @property
    def nbytes(self) -> int:
        """Memory held by the tables."""
        return self.t8.nbytes + self.t4.nbytes

    def msm(self, scalars):
        """``sum s_i * P_i`` as a jacobian point.

        Scalars above ``r/2`` are taken as ``-(r - s)``: the negative fixed-point values a zkML
        circuit's public inputs hold (``r - |v|``) then have as few nonzero digits as the positive
        ones, and only nonzero digits are gathered — for 796 mostly 16-bit inputs, about a tenth of
        the additions.
        """
        if len(scalars) != self.k:
            raise ValueError(f"msm: {self.k} points but {len(scalars)} scalars")
        if self.k == 0:
            return self.jac(0)
        half = _R >> 1
        reduced = [int(s) % _R for s in scalars]
        negative = np.fromiter((s > half for s in reduced), dtype=bool, count=self.k)
        mags = b"".join((_R - s if s > half else s).to_bytes(32, "little") for s in reduced)
        digits = np.frombuffer(mags, dtype=np.uint8).reshape(self.k, 32)
        terms = [self._gather(self.t8, digits[:, : self.low], negative)]
        if self.low < 32:
            high = digits[:, self.low :]
            nibbles = np.stack([high & 15, high >> 4], axis=2).reshape(self.k, -1)  # low nibble first
            terms.append(self._gather(self.t4, nibbles, negative))
        pos = [t for t, _ in terms if t.size]
        neg = [t for _, t in terms if t.size]
        total = self.jac(0)
        for t in pos:
            total = total + t.sum()
        for t in neg:
            total = total - t.sum()
        return total

    @staticmethod
    def _gather(table, digits, negative):
        """(positive terms, negative terms) of the nonzero ``digits`` (k × windows) in ``table``."""
        nz = digits != 0
        rows, cols = np.nonzero(nz)
        terms = table[rows, cols, digits[nz]]
        neg = negative[rows]
        return terms[~neg], terms[neg]


class _ZkGroup(OperatorGroup):
    def __init__(self, name: str):
        super().__init__(BN254, name)
        import zk_dtypes as z

        self.aff, self.jac, self.xyzz = _dtypes(name)
        self.sf = z.bn254_sf_mont
        self._width = 2 if name == "G1" else 4
        self._zero = self.jac(0)

    def generator(self):
        return self.jac(1)

    def mul(self, a, k):
        k = int(k) % _R
        return a * self.sf(k) if k else self._zero

    def to_affine(self, a):
        arr = np.array([a], dtype=self.jac).astype(self.aff)
        return self._row_to_aff(_affine_array_to_coords(arr, self._width)[0])

    def _row_to_aff(self, row):
        if not any(row):
            return None
        if self.name == "G1":
            return (row[0], row[1])
        return ((row[0], row[1]), (row[2], row[3]))

    def _aff_to_row(self, aff):
        if aff is None:
            return [0] * self._width
        if self.name == "G1":
            return [aff[0], aff[1]]
        (x0, x1), (y0, y1) = aff
        return [x0, x1, y0, y1]

    def _from_affine_unchecked(self, aff):
        arr = _coords_to_affine_array([self._aff_to_row(aff)], self.aff)
        return arr.astype(self.jac)[0]

    def in_subgroup(self, a):
        if self.name == "G1":
            return True  # cofactor 1: every curve point is in the subgroup
        return bool(a * self.sf(_R - 1) + a == self._zero)

    def batch_from_affine(self, affs, check: bool = True) -> np.ndarray:
        """Affine Montgomery array; with ``check``: range, on-curve and (G2) a vectorized subgroup check."""
        affs = list(affs)
        if check:
            chk = ser.check_g1_affine if self.name == "G1" else ser.check_g2_affine
            affs = [chk(self.curve, a) for a in affs]
        arr = _coords_to_affine_array([self._aff_to_row(a) for a in affs], self.aff)
        if check and self.name == "G2" and len(arr):
            jac = arr.astype(self.jac)
            r1 = np.full(len(arr), self.sf(_R - 1), dtype=self.sf)
            bad = np.nonzero(~((jac * r1 + jac) == self._zero))[0]
            if len(bad):
                from ..errors import InvalidPoint

                raise InvalidPoint(
                    f"bn254 G2: point {int(bad[0])} is not in the prime-order subgroup",
                    curve="bn254",
                    group="G2",
                    check="subgroup",
                )
        return arr

    def batch_to_affine(self, points) -> list:
        arr = self._as_affine_array(points)
        return [self._row_to_aff(row) for row in _affine_array_to_coords(arr, self._width)]

    def _as_affine_array(self, points) -> np.ndarray:
        if isinstance(points, np.ndarray) and points.dtype == np.dtype(self.aff):
            return points
        if isinstance(points, np.ndarray) and points.dtype == np.dtype(self.jac):
            return points.astype(self.aff)
        return np.array(list(points), dtype=self.jac).astype(self.aff)

    def fixed_base_msm(self, points, window_bits: int | None = None) -> FixedBaseMSM:
        """Precompute window tables for repeated MSMs over the same ``points`` (8- or 4-bit windows;
        by default chosen from the number of points, see :class:`FixedBaseMSM`)."""
        return FixedBaseMSM(np.array(list(points), dtype=self.jac), self.jac, window_bits)

    def msm(self, points, scalars):
        if len(points) != len(scalars):
            raise ValueError(f"msm: {len(points)} points but {len(scalars)} scalars")
        return pippenger(self._as_affine_array(points), scalars, self.xyzz, self.jac)


class ZkDtypesBN254Backend(CurveBackend):
    """bn254 on zk-dtypes (MSM) and garaga_rs (pairing; py_ecc if garaga is absent)."""

    name = "zkdtypes"
    kind = "fast"

    def __init__(self):
        self.curve = BN254
        self.g1 = _ZkGroup("G1")
        self.g2 = _ZkGroup("G2")
        try:
            from garaga import garaga_rs  # noqa: F401

            self.pairing_engine = "garaga"
        except ImportError:  # pragma: no cover - depends on the environment
            self.pairing_engine = "py_ecc"

    def pairing_check(self, pairs):
        flat: list[int] = []
        aff_pairs = []
        for p, q in pairs:
            pa, qa = self.g1.to_affine(p), self.g2.to_affine(q)
            if pa is None or qa is None:
                continue
            aff_pairs.append((pa, qa))
            flat += [pa[0], pa[1], qa[0][0], qa[0][1], qa[1][0], qa[1][1]]
        if not aff_pairs:
            return True
        if self.pairing_engine == "garaga":
            from garaga import garaga_rs

            res = garaga_rs.multi_pairing(0, flat)
            return int(res[0]) == 1 and all(int(v) == 0 for v in res[1:])
        from .reference import ReferenceBackend

        ref = ReferenceBackend(BN254)
        return ref.pairing_check(
            [(ref.g1.from_affine(a, check=False), ref.g2.from_affine(b, check=False)) for a, b in aff_pairs]
        )
