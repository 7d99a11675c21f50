"""Bulk point work for Groth16 on the curve backends: loading key sections, MSMs, fixed-base tables.

The proving key is stored as a snarkjs ``.zkey`` whose point sections are
little-endian Montgomery coordinates ("LEM"). Each backend gets them in its
fastest form once, when a key is loaded:

* ``zkdtypes`` (bn254): the LEM bytes *are* the memory layout of
  ``zk_dtypes.bn254_g{1,2}_affine_mont`` arrays — loading is ``np.frombuffer``;
  MSMs use the backend's numpy Pippenger; fixed-base multiplication (setup)
  uses 8-bit window tables and one vectorized mixed addition per window.
* ``arkworks`` (bls12-381): points become ``G1Point`` / ``G2Point`` objects;
  scalars are converted to ``Scalar`` objects once per witness
  (:meth:`BulkGroup.prepare`) and reused by every MSM; fixed-base
  multiplication uses the same window tables with native additions.
* any other backend (the py_ecc reference): affine ints through ``from_affine``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ispc_core.zk.curves import get_backend
from ispc_core.zk.formats.zkey import decode_points, encode_points

WINDOW = 8


class Scalars:
    """Scalars prepared once for several MSMs: python ints plus the backend's native form."""

    def __init__(self, ints: Sequence[int], native: Any = None):
        self.ints = ints
        self.native = native

    def __len__(self) -> int:
        return len(self.ints)

    def slice(self, start: int, stop: int | None = None) -> "Scalars":
        """A contiguous part (e.g. the private witness)."""
        native = None if self.native is None else self.native[start:stop]
        return Scalars(self.ints[start:stop], native)

    def take(self, idx) -> "Scalars":
        """The scalars at the positions ``idx``."""
        native = None if self.native is None else [self.native[i] for i in idx]
        return Scalars([self.ints[i] for i in idx], native)


class BulkGroup:
    """G1 or G2 of a curve with bulk operations on the fast backend (see the module docstring)."""

    def __init__(self, curve: str, group: str):
        self.curve_name = curve
        self.backend = get_backend(curve)
        self.group = group
        self.g = self.backend.g1 if group == "G1" else self.backend.g2
        self.kind = self.backend.name
        self.curve = self.backend.curve
        self.r = self.curve.r
        self._table = None

    # ---- points ----------------------------------------------------------------
    def load(self, raw: bytes):
        """LEM section → the backend's MSM input form (no curve checks: local key material)."""
        if self.kind == "zkdtypes":
            return np.frombuffer(raw, dtype=self.g.aff).copy()
        affs = decode_points(self.curve, raw, self.group)
        return [self.g.from_affine(a, check=False) for a in affs]

    def take(self, points, idx):
        """The points at positions ``idx`` (array indexing or a list comprehension)."""
        if isinstance(points, np.ndarray):
            return points[np.asarray(idx, dtype=np.int64)]
        return [points[i] for i in idx]

    def to_lem(self, points) -> bytes:
        """Backend points → LEM bytes."""
        if self.kind == "zkdtypes":
            arr = points if isinstance(points, np.ndarray) else np.array(list(points), dtype=self.g.jac)
            if arr.dtype != np.dtype(self.g.aff):
                arr = arr.astype(self.g.aff)
            return arr.tobytes()
        return encode_points(self.curve, [self.g.to_affine(p) for p in points], self.group)

    # ---- scalars and MSM ---------------------------------------------------------
    def prepare(self, ints: Sequence[int]) -> Scalars:
        """Scalars for :meth:`msm` (arkworks: ``Scalar`` objects made once)."""
        if self.kind == "arkworks":
            from py_arkworks_bls12381 import Scalar

            r = self.r
            return Scalars(ints, [Scalar(int(v) % r) for v in ints])
        return Scalars(ints)

    def msm(self, points, scalars: Scalars):
        """``sum scalars[i] * points[i]`` as a backend point."""
        if len(scalars) == 0:
            return self.g.infinity()
        if self.kind == "arkworks" and scalars.native is not None:
            return self.g.cls.multiexp_unchecked(points, scalars.native)
        return self.g.msm(points, scalars.ints)

    # ---- fixed base ----------------------------------------------------------------
    def _window_table(self, base):
        """``T[j][d] = d · 2^(8j) · base`` for every byte position ``j`` and byte value ``d``."""
        n_windows = (self.r.bit_length() + WINDOW - 1) // WINDOW
        g = self.g
        rows = []
        b = base
        for _ in range(n_windows):
            row = [g.infinity()]
            acc = g.infinity()
            for _d in range(1, 1 << WINDOW):
                acc = g.add(acc, b)
                row.append(acc)
            rows.append(row)
            for _k in range(WINDOW):
                b = g.add(b, b)
        if self.kind == "zkdtypes":
            return np.array(rows, dtype=g.jac).astype(g.aff)
        return rows

    def fixed_base_lem(self, base, scalars: Sequence[int]) -> bytes:
        """LEM bytes of ``[k · base for k in scalars]`` (8-bit window tables; zero → infinity)."""
        if len(scalars) == 0:
            return b""
        table = self._window_table(base)
        r = self.r
        n_windows = len(table)
        buf = b"".join((int(k) % r).to_bytes(n_windows, "little") for k in scalars)
        digits = np.frombuffer(buf, dtype=np.uint8).reshape(len(scalars), n_windows)
        if self.kind == "zkdtypes":
            acc = np.zeros(len(scalars), dtype=self.g.xyzz)
            for j in range(n_windows):
                acc = acc + table[j][digits[:, j]]
            return acc.astype(self.g.aff).tobytes()
        g = self.g
        out = []
        cols = digits.T.tolist()
        rows_digits = list(zip(*cols))
        for ds in rows_digits:
            acc = g.infinity()
            for j, d in enumerate(ds):
                if d:
                    acc = g.add(acc, table[j][d])
            out.append(acc)
        return self.to_lem(out)
