"""The Poseidon permutation rewritten for speed (same function, fewer multiplications).

The paper's "optimized" form (Grassi et al., Appendix B; circomlib's
``poseidon_opt``), derived here from :func:`ispc_core.zk.poseidon.poseidon_params`:

1. *Constants moved forward.* In a partial round only cell 0 passes the S-box,
   so the constant added at the start of round ``r+1`` can be pulled back
   through ``M`` (``M x + c = M (x + M^-1 c)``): its cells ``1..t-1`` join the
   constant of round ``r``, its cell 0 stays as a scalar ``k_r`` added to cell 0
   right after round ``r``'s S-box. Done from the last partial round down, every
   partial round keeps one scalar, and one full vector ``v`` is left for the
   start of the partial phase.
2. *Sparse matrices.* ``A = S · B`` with ``B = diag(1, Â)`` (``Â`` = ``A``
   without row/column 0) and ``S = [[a00, a_row Â^-1], [a_col, I]]``. ``B``
   leaves cell 0 alone, so it commutes with the partial S-box and with ``+k_r``
   and moves into the previous round's matrix. From the last partial round
   down, every partial round keeps a sparse ``S_r`` (``2t - 1`` products instead
   of ``t^2``) and the left-over ``B`` merges into the last first-half full
   round: ``P = B · M``, ``u = B · v`` (added after ``P``).

Resulting schedule (``h = R_F / 2``):

* rounds ``0..h-1``: ``x += C_r``; all cells ``^5``; ``x = M x`` (round ``h-1``:
  ``x = P x + u``);
* partial rounds ``r``: ``x_0 = x_0^5 + k_r``; ``x = S_r x`` with
  ``S_r x = (s00 x_0 + Σ_j row_j x_j, x_i + col_i x_0)``;
* rounds after: ``x += C``; all cells ``^5``; ``x = M x``.
"""

from __future__ import annotations

from typing import Sequence


def _inverse(A: Sequence[Sequence[int]], p: int) -> list[list[int]]:
    """Inverse of a square matrix mod p (Gauss-Jordan)."""
    n = len(A)
    m = [[x % p for x in row] + [int(i == j) for j in range(n)] for i, row in enumerate(A)]
    for c in range(n):
        piv = next(r for r in range(c, n) if m[r][c])
        m[c], m[piv] = m[piv], m[c]
        inv = pow(m[c][c], -1, p)
        m[c] = [x * inv % p for x in m[c]]
        for r in range(n):
            if r != c and m[r][c]:
                f = m[r][c]
                m[r] = [(x - f * y) % p for x, y in zip(m[r], m[c])]
    return [row[n:] for row in m]


def _matmul(A, B, p):
    return [[sum(a * b for a, b in zip(row, col)) % p for col in zip(*B)] for row in A]


def _matvec(A, v, p):
    return [sum(a * x for a, x in zip(row, v)) % p for row in A]


def optimized_constants(prm) -> dict:
    """Constants of the optimized schedule for one :class:`PoseidonParams`.

    Returns ``first`` (``h·t`` round constants of the first full rounds),
    ``last`` (``h·t``, the last full rounds), ``M``, ``P`` (``t×t`` rows),
    ``u`` (``t``), ``k`` (``R_P`` scalars) and ``S`` (``R_P`` rows of
    ``2t - 1``: ``s00, row_1..row_{t-1}, col_1..col_{t-1}``).
    """
    p = prm.field.modulus
    t, rp = prm.t, prm.partial_rounds
    h = prm.full_rounds // 2
    C, M = prm.C, [list(r) for r in prm.M]
    Minv = _inverse(M, p)
    cp = [list(C[(h + r) * t : (h + r + 1) * t]) for r in range(rp)]

    # 1. constants: v_r = c_r + (M^-1 v_{r+1}) without cell 0; k_r = (M^-1 v_{r+1})[0]
    k = [0] * rp
    v = [0] * t
    for r in range(rp - 1, -1, -1):
        w = _matvec(Minv, v, p)
        k[r] = w[0]
        v = [(c + (x if i else 0)) % p for i, (c, x) in enumerate(zip(cp[r], w))]

    # 2. matrices: A_r = S_r · B_r, A_{r-1} = B_r · M
    S: list[list[int]] = [[] for _ in range(rp)]
    A = M
    for r in range(rp - 1, -1, -1):
        hat = [row[1:] for row in A[1:]]
        row = [sum(a * b for a, b in zip(A[0][1:], col)) % p for col in zip(*_inverse(hat, p))]
        S[r] = [A[0][0], *row, *(A[i][0] for i in range(1, t))]
        B = [[int(i == j) for j in range(t)] for i in range(t)]
        for i in range(1, t):
            B[i][1:] = hat[i - 1]
        A = _matmul(B, M, p) if r else B
    P = _matmul(A, M, p)
    u = _matvec(A, v, p)
    return {
        "first": list(C[: h * t]),
        "last": list(C[(h + rp) * t :]),
        "M": M,
        "P": P,
        "u": u,
        "k": k,
        "S": S,
    }


def permutation_optimized(prm, consts: dict, state: Sequence[int]) -> list[int]:
    """Pure-Python run of the optimized schedule (documents the C code; tests check it)."""
    p = prm.field.modulus
    t = prm.t
    h = prm.full_rounds // 2
    x = [s % p for s in state]
    M, P, u = consts["M"], consts["P"], consts["u"]
    for r in range(h):
        x = [pow(a + c, 5, p) for a, c in zip(x, consts["first"][r * t : (r + 1) * t])]
        x = _matvec(P, x, p) if r == h - 1 else _matvec(M, x, p)
    x = [(a + b) % p for a, b in zip(x, u)]
    for kr, s in zip(consts["k"], consts["S"]):
        x0 = (pow(x[0], 5, p) + kr) % p
        y0 = (s[0] * x0 + sum(a * b for a, b in zip(s[1:t], x[1:]))) % p
        x = [y0] + [(x[i] + s[t - 1 + i] * x0) % p for i in range(1, t)]
    for r in range(h):
        x = [pow(a + c, 5, p) for a, c in zip(x, consts["last"][r * t : (r + 1) * t])]
        x = _matvec(M, x, p)
    return x
