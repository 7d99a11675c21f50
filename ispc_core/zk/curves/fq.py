"""Base-field arithmetic on ints and ``(c0, c1)`` pairs: what point checks and (de)compression need.

Hand-written (py_ecc has FQ2 classes) because decompression needs square roots
in Fq2 for bn254 too, and plain tuples keep the checks fast and backend-neutral.
Both curves have ``q = 3 mod 4`` and ``Fq2 = Fq[u]/(u^2+1)``.
"""

from __future__ import annotations

Fq2 = tuple[int, int]


def fq_sqrt(a: int, q: int) -> int | None:
    """A square root of ``a`` in Fq (``q = 3 mod 4``), or None if ``a`` is a non-residue."""
    a %= q
    s = pow(a, (q + 1) // 4, q)
    return s if s * s % q == a else None


def fq2_add(a: Fq2, b: Fq2, q: int) -> Fq2:
    """``a + b`` in Fq2."""
    return ((a[0] + b[0]) % q, (a[1] + b[1]) % q)


def fq2_sub(a: Fq2, b: Fq2, q: int) -> Fq2:
    """``a - b`` in Fq2."""
    return ((a[0] - b[0]) % q, (a[1] - b[1]) % q)


def fq2_mul(a: Fq2, b: Fq2, q: int) -> Fq2:
    """``a * b`` in Fq2 (``u^2 = -1``)."""
    return ((a[0] * b[0] - a[1] * b[1]) % q, (a[0] * b[1] + a[1] * b[0]) % q)


def fq2_neg(a: Fq2, q: int) -> Fq2:
    """``-a`` in Fq2."""
    return ((-a[0]) % q, (-a[1]) % q)


def fq2_sqrt(a: Fq2, q: int) -> Fq2 | None:
    """A square root in Fq2 (``q = 3 mod 4``, ``u^2 = -1``), or None: the "complex method".

    With ``n = a0^2 + a1^2`` (the norm), a root is ``x0 + x1 u`` where
    ``x0^2 = (a0 ± sqrt(n)) / 2`` and ``x1 = a1 / (2 x0)``: two square roots
    and one inversion in Fq, all native ``pow`` calls — about 20x faster than
    :func:`fq2_sqrt_reference`'s two exponentiations in Fq2.
    """
    a0, a1 = a[0] % q, a[1] % q
    if a1 == 0:
        r = fq_sqrt(a0, q)
        if r is not None:
            return (r, 0)
        r = fq_sqrt(-a0, q)  # -1 is a non-residue, so -a0 is a square
        return (0, r) if r is not None else None
    n = fq_sqrt(a0 * a0 + a1 * a1, q)
    if n is None:
        return None
    half = (q + 1) // 2
    x0 = fq_sqrt((a0 + n) * half, q)
    if x0 is None:
        x0 = fq_sqrt((a0 - n) * half, q)
        if x0 is None:
            return None
    x1 = a1 * pow(2 * x0, -1, q) % q
    x = (x0, x1)
    return x if fq2_mul(x, x, q) == (a0, a1) else None


def fq2_sqrt_reference(a: Fq2, q: int) -> Fq2 | None:
    """A square root in Fq2 (``q = 3 mod 4``, Adj–Rodríguez-Henríquez Alg. 9), or None."""
    a = (a[0] % q, a[1] % q)
    if a == (0, 0):
        return (0, 0)
    a1 = _fq2_pow(a, (q - 3) // 4, q)
    alpha = fq2_mul(a1, fq2_mul(a1, a, q), q)
    x0 = fq2_mul(a1, a, q)
    if alpha == (q - 1, 0):
        x = fq2_mul((0, 1), x0, q)
    else:
        b = _fq2_pow(fq2_add((1, 0), alpha, q), (q - 1) // 2, q)
        x = fq2_mul(b, x0, q)
    return x if fq2_mul(x, x, q) == a else None


def _fq2_pow(a: Fq2, e: int, q: int) -> Fq2:
    result = (1, 0)
    base = a
    while e:
        if e & 1:
            result = fq2_mul(result, base, q)
        base = fq2_mul(base, base, q)
        e >>= 1
    return result


def g1_on_curve(x: int, y: int, b: int, q: int) -> bool:
    """``y^2 == x^3 + b`` in Fq."""
    return (y * y - x * x * x - b) % q == 0


def g2_on_curve(x: Fq2, y: Fq2, b: Fq2, q: int) -> bool:
    """``y^2 == x^3 + b`` in Fq2."""
    lhs = fq2_mul(y, y, q)
    rhs = fq2_add(fq2_mul(fq2_mul(x, x, q), x, q), b, q)
    return lhs == rhs
