"""R1CS → QAP exactly as snarkjs does it, so ``.zkey`` keys interoperate (after arkworks' ``r1cs_to_qap.rs``).

Domain: ``N = 2^k``, the smallest power of two **greater than**
``nConstraints + nPublic`` (snarkjs ``zkey_new``: ``cirPower = log2(nConstraints
+ nPublic) + 1`` with an integer log2). The QAP polynomials are the interpolants
on ``<ω_N>`` (ω from ``PrimeField.root_of_unity``, ffjavascript's roots):

* ``A`` rows: every constraint's A terms, plus one row ``nConstraints + i``
  with ``A[i] = 1`` for each public signal ``i = 0..nPublic`` (this makes the IC
  points linearly independent);
* ``B`` rows: every constraint's B terms;
* ``C`` is **not** stored: the prover takes ``C(ω^j) = A(ω^j)·B(ω^j)`` on the
  domain, which equals the R1CS C row whenever the witness satisfies it.

H: the prover evaluates ``p = A·B − C`` on the odd coset ``ω_{2N}·<ω_N>`` (iNTT,
scale coefficient ``j`` by ``ω_{2N}^j``, NTT) and the proving key's H points are
``L^{(2N)}_{2i+1}(τ)/δ`` — the Lagrange basis of the 2N-domain at the odd
indices — so ``Σ_i p(ω_{2N}^{2i+1})·H_i = p(τ)/δ = h(τ)·Z(τ)/δ`` (``p``
vanishes on the even indices). No division by ``Z`` is ever computed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ispc_core.zk import ntt
from ispc_core.zk.curves.params import CurveSpec
from ispc_core.zk.errors import CircuitError
from ispc_core.zk.fields import PrimeField, get_field
from ispc_core.zk.formats.zkey import make_coefs
from ispc_core.zk.r1cs import R1CS

__all__ = ["domain_size", "coefficient_rows", "r1cs_coefficients", "coef_values", "evaluate_ab", "odd_coset_p"]


def domain_size(n_constraints: int, n_public: int) -> int:
    """snarkjs' domain size: the smallest power of two ``> n_constraints + n_public``."""
    return 1 << (n_constraints + n_public).bit_length()


def coefficient_rows(r1cs: R1CS) -> list[tuple[int, int, int, int]]:
    """``(matrix, constraint, signal, value)`` rows of the zkey coefs section (A = 0, B = 1)."""
    rows = []
    for c, con in enumerate(r1cs.constraints):
        for s in sorted(con.a):
            rows.append((0, c, s, con.a[s]))
        for s in sorted(con.b):
            rows.append((1, c, s, con.b[s]))
    n = len(r1cs.constraints)
    for s in range(r1cs.n_public + 1):
        rows.append((0, n + s, s, 1))
    return rows


def r1cs_coefficients(r1cs: R1CS, curve: CurveSpec) -> np.ndarray:
    """The zkey coefs section (structured array) of an R1CS."""
    return make_coefs(curve, coefficient_rows(r1cs))


def coef_values(f: PrimeField, coefs: np.ndarray) -> np.ndarray:
    """Coefficient values as a field array (stored ``v·R²`` read as Montgomery ``v·R``, times ``R⁻¹``)."""
    n8r = coefs.dtype["v"].shape[0]
    if n8r != 32:
        raise CircuitError(f"coefficients of {n8r} bytes are not supported")
    raw = np.ascontiguousarray(coefs["v"]).reshape(-1)
    arr = np.frombuffer(raw.tobytes(), dtype=f.dtype)
    rinv = pow(1 << 256, -1, f.modulus)
    return arr * f.to_array([rinv])


def evaluate_ab(f: PrimeField, coefs: np.ndarray, values: np.ndarray, witness: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``A(ω^j), B(ω^j)`` for ``j < n`` from the coefficient rows and the witness (field arrays)."""
    out = []
    m = coefs["m"]
    for matrix in (0, 1):
        sel = np.nonzero(m == matrix)[0]
        acc = np.zeros(n, dtype=f.dtype)
        if len(sel):
            prod = values[sel] * witness[coefs["s"][sel].astype(np.int64)]
            np.add.at(acc, coefs["c"][sel].astype(np.int64), prod)
        out.append(acc)
    return out[0], out[1]


def odd_coset_p(f: PrimeField, a_t: np.ndarray, b_t: np.ndarray) -> np.ndarray:
    """``A·B − C`` on the odd coset ``ω_{2N}·<ω_N>`` (``C = A·B`` on the domain), as snarkjs' prover."""
    n = len(a_t)
    if (2 * n).bit_length() - 1 > f.two_adicity:
        raise CircuitError(f"{f.name}: domain 2^{n.bit_length() - 1} is too large for the odd-coset H evaluation")
    shift = f.root_of_unity(2 * n)
    c_t = a_t * b_t
    a = ntt.coset_ntt(f, ntt.intt(f, a_t), shift)
    b = ntt.coset_ntt(f, ntt.intt(f, b_t), shift)
    c = ntt.coset_ntt(f, ntt.intt(f, c_t), shift)
    return a * b - c


def field_of(curve: str) -> PrimeField:
    """The scalar field of a curve name."""
    return get_field(curve)


def lagrange_at(f: PrimeField, n: int, tau: int, indices: Sequence[int] | None = None) -> list[int]:
    """``L_j(τ) = ω^j (τ^n − 1) / (n (τ − ω^j))`` on the n-domain, for ``indices`` (default all)."""
    r = f.modulus
    w = f.root_of_unity(n)
    idx = list(range(n)) if indices is None else list(indices)
    wj = [pow(w, j, r) for j in idx] if indices is not None else _powers_int(w, n, r)
    denom = [(tau - x) % r for x in wj]
    if any(d == 0 for d in denom):
        raise CircuitError("tau is in the evaluation domain")
    inv = f.batch_inverse(denom)
    z = (pow(tau, n, r) - 1) * pow(n, -1, r) % r
    return [x * i % r * z % r for x, i in zip(wj, inv)]


def _powers_int(w: int, n: int, r: int) -> list[int]:
    out = [1] * n
    for i in range(1, n):
        out[i] = out[i - 1] * w % r
    return out
