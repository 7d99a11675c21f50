"""Vectorized radix-2 NTTs over the scalar fields (the fast twin of ``fields.ntt_reference``).

Arrays hold zk_dtypes Montgomery field elements, so every butterfly stage is
three native element-wise numpy operations over the whole vector (one
multiplication by the stage's twiddles, one addition, one subtraction). The
bit-reversal permutation and twiddle tables are cached per (field, size).

Inputs may be numpy arrays of ``field.dtype`` or sequences of ints; outputs are
numpy arrays of ``field.dtype`` (use ``field.from_array`` for ints).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .errors import FieldError
from .fields import PrimeField

__all__ = ["ntt", "intt", "coset_ntt", "coset_intt", "powers"]


def _check_size(f: PrimeField, n: int) -> int:
    if n < 1 or n & (n - 1):
        raise FieldError(f"{f.name}: NTT size must be a power of two, got {n}")
    k = n.bit_length() - 1
    if k > f.two_adicity:
        raise FieldError(f"{f.name}: NTT size 2^{k} exceeds two-adicity {f.two_adicity}")
    return k


def powers(f: PrimeField, x: int, n: int) -> np.ndarray:
    """``[1, x, x^2, ..., x^(n-1)]`` as an array of ``f.dtype`` (built by doubling)."""
    r = f.modulus
    out = np.array([1], dtype=f.dtype)
    xp = x % r  # x^len(out)
    while len(out) < n:
        out = np.concatenate([out, out * np.array([xp], dtype=f.dtype)])
        xp = xp * xp % r
    return out[:n]


@lru_cache(maxsize=64)
def _bitrev(n: int) -> np.ndarray:
    k = n.bit_length() - 1
    idx = np.arange(n, dtype=np.int64)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(k):
        rev |= ((idx >> b) & 1) << (k - 1 - b)
    return rev


@lru_cache(maxsize=64)
def _twiddles(f: PrimeField, n: int, inverse: bool) -> np.ndarray:
    w = f.root_of_unity(n)
    if inverse:
        w = pow(w, -1, f.modulus)
    return powers(f, w, max(n // 2, 1))


def _as_array(f: PrimeField, values) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == f.dtype:
        return values
    return f.to_array(values)


def _transform(f: PrimeField, a: np.ndarray, inverse: bool) -> np.ndarray:
    n = len(a)
    _check_size(f, n)
    if n == 1:
        return a.copy()
    a = a[_bitrev(n)]
    tw = _twiddles(f, n, inverse)
    m = 1
    while m < n:
        blocks = a.reshape(n // (2 * m), 2, m)
        t = tw[:: n // (2 * m)]
        v = blocks[:, 1, :] * t
        u = blocks[:, 0, :]
        out = np.empty_like(blocks)
        np.add(u, v, out=out[:, 0, :])
        np.subtract(u, v, out=out[:, 1, :])
        a = out.reshape(n)
        m *= 2
    return a


def ntt(f: PrimeField, values) -> np.ndarray:
    """Evaluations of the polynomial with coefficients ``values`` on ``<w_n>`` (``n = len``)."""
    return _transform(f, _as_array(f, values), inverse=False)


def intt(f: PrimeField, values) -> np.ndarray:
    """Coefficients of the polynomial whose evaluations on ``<w_n>`` are ``values``."""
    a = _transform(f, _as_array(f, values), inverse=True)
    n_inv = pow(len(a), -1, f.modulus)
    return a * np.array([n_inv], dtype=f.dtype)


def coset_ntt(f: PrimeField, values, shift: int | None = None) -> np.ndarray:
    """Evaluations on the coset ``shift * <w_n>`` (default shift: ``f.generator``)."""
    shift = f.generator if shift is None else shift
    a = _as_array(f, values)
    return _transform(f, a * powers(f, shift, len(a)), inverse=False)


def coset_intt(f: PrimeField, values, shift: int | None = None) -> np.ndarray:
    """Inverse of :func:`coset_ntt` (coefficients from evaluations on ``shift * <w_n>``)."""
    shift = f.generator if shift is None else shift
    a = intt(f, values)
    return a * powers(f, pow(shift, -1, f.modulus), len(a))
