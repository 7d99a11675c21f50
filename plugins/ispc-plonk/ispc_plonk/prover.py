"""The PLONK prover, round by round (paper §8.3, snarkjs 0.7.6 ``plonk_prove.js`` variant).

:class:`PlonkRun` holds the state of one proof; :meth:`PlonkRun.prove` calls
one method per round:

1. :meth:`round1` — wire polynomials ``a, b, c`` interpolated from the
   witness, blinded by ``(b2 + b1 X) Z_H`` (resp. b3..b6), committed.
2. :meth:`round2` — challenges ``beta, gamma``; the permutation accumulator
   ``z`` (``z(w^0) = 1``, ``z(w^(i+1)) = z(w^i) * num_i / den_i``), blinded by
   ``(b9 + b8 X + b7 X^2) Z_H``, committed.
3. :meth:`round3` — challenge ``alpha``; the quotient
   ``t = (gate + alpha perm1 - alpha perm2 + alpha^2 (z - 1) L1) / Z_H``
   computed on the coset ``g <w_4n>`` (degree 3n + 5 < 4n, so 4n values
   determine it), split into ``T1 + X^n T2 + X^2n T3`` with blinders b10, b11
   as snarkjs does, committed.
4. :meth:`round4` — challenge ``xi``; evaluations ``a, b, c, s1, s2`` at xi
   and ``z`` at ``xi w``.
5. :meth:`round5` — challenge ``v``; the linearisation polynomial ``r`` as
   snarkjs' ``computeR``, the opening quotients ``Wxi`` and ``Wxiw``, committed.

Everything is vectorized over zk-dtypes field arrays; commitments are MSMs on
the curve backend. Challenges come from the snarkjs-compatible Keccak
transcript, so proofs verify with ``snarkjs plonk verify``.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable

import numpy as np

from ispc_core.zk.curves import get_backend
from ispc_core.zk.errors import ConstraintUnsatisfied
from ispc_core.zk.formats.plonk_json import PlonkProof
from ispc_core.zk.fields import batch_inverse
from ispc_core.zk.ntt import coset_intt, coset_ntt, intt, powers

from .keys import ProvingKey, commit
from .transcript import Keccak256Transcript

__all__ = ["PlonkRun", "prove", "evaluate", "divide_by_linear"]


def evaluate(f, coeffs: np.ndarray, x: int) -> int:
    """``p(x)`` for monomial coefficients ``coeffs`` (a field array)."""
    if len(coeffs) == 0:
        return 0
    return int((coeffs * powers(f, x, len(coeffs))).sum())


def divide_by_linear(f, coeffs: np.ndarray, z: int) -> np.ndarray:
    """Quotient of ``p(X) / (X - z)`` (the remainder ``p(z)`` is dropped), vectorized.

    ``q_i = sum_{j > i} p_j z^(j-i-1) = z^-(i+1) * sum_{j > i} p_j z^j``: one
    suffix sum; ``z`` must be non-zero (a zero challenge has probability 1/r).
    """
    m = len(coeffs)
    if z % f.modulus == 0:
        raise ValueError("divide_by_linear: z = 0")
    pw = powers(f, z, m)
    s = coeffs * pw
    suffix = np.cumsum(s[::-1])[::-1]  # suffix[j] = sum_{k >= j} s_k
    zinv = pow(z, -1, f.modulus)
    return suffix[1:] * powers(f, zinv, m - 1) * f.to_array([zinv])


class PlonkRun:
    """The state of one PLONK proof for a proving key and a full R1CS witness."""

    def __init__(self, pk: ProvingKey, witness, *, backend=None, rand: Callable[[int], int] | None = None):
        self.pk = pk
        self.f = pk.field
        self.r = self.f.modulus
        self.be = backend or get_backend(pk.curve)
        self.n = pk.n
        self.witness = witness
        self._rand = rand or (lambda r: secrets.randbelow(r))
        self.tr = Keccak256Transcript(self.be.curve)
        self.ch: dict[str, int] = {}
        self.polys: dict[str, np.ndarray] = {}
        self.evals_h: dict[str, np.ndarray] = {}
        self.commits: dict[str, Any] = {}
        self.affine: dict[str, Any] = {}
        self.evals: dict[str, int] = {}
        self.public: list[int] = []

    # helpers ---------------------------------------------------------------
    def _s(self, v: int) -> np.ndarray:
        return self.f.to_array([v % self.r])

    def _commit(self, name: str, coeffs: np.ndarray) -> None:
        p = commit(self.be, self.pk.tau_g1, coeffs)
        self.commits[name] = p
        self.affine[name] = self.be.g1.to_affine(p)

    def _blind(self, coeffs: np.ndarray, blinders: list[int]) -> np.ndarray:
        """``p(X) + (blinders[0] + blinders[1] X + ...) (X^n - 1)`` (snarkjs ``blindCoefficients``)."""
        k = len(blinders)
        out = np.concatenate([coeffs, np.zeros(k, dtype=self.f.dtype)])
        bl = self.f.to_array(blinders)
        out[:k] = out[:k] - bl
        out[self.n : self.n + k] = out[self.n : self.n + k] + bl
        return out

    # round 1 ---------------------------------------------------------------
    def round1(self) -> None:
        """Blinding scalars; wire values from the witness; gate check; ``[a], [b], [c]``."""
        pk, f, n = self.pk, self.f, self.n
        self.b = [0] + [self._rand(self.r) for _ in range(11)]
        vals = pk_values(pk, self.witness)
        self.public = [int(v) for v in self.witness[1 : 1 + pk.n_public]]
        varr = f.to_array(vals)
        pad = np.zeros(n - pk.n_gates, dtype=f.dtype)
        for name, idx in (("A", pk.sl), ("B", pk.sr), ("C", pk.so)):
            self.evals_h[name] = np.concatenate([varr[idx], pad])
        self._check_gates()
        for name, (b0, b1) in (("A", (2, 1)), ("B", (4, 3)), ("C", (6, 5))):
            coeffs = intt(f, self.evals_h[name])
            self.polys[name] = self._blind(coeffs, [self.b[b0], self.b[b1]])
            self._commit(name, self.polys[name])

    def _check_gates(self) -> None:
        """Raise :class:`ConstraintUnsatisfied` naming the R1CS constraint of the first failing gate."""
        pk, f = self.pk, self.f
        a, b, c = self.evals_h["A"], self.evals_h["B"], self.evals_h["C"]
        q = {k: pk.selector_h(k) for k in ("qm", "ql", "qr", "qo", "qc")} if not hasattr(pk, "_q_h") else pk._q_h
        pk._q_h = q
        res = q["qm"] * a * b + q["ql"] * a + q["qr"] * b + q["qo"] * c + q["qc"]
        pi = np.zeros(self.n, dtype=f.dtype)
        if pk.n_public:
            pi[: pk.n_public] = -f.to_array(self.public)
        res = res + pi
        bad = np.nonzero(res != np.zeros(1, dtype=f.dtype))[0]
        if len(bad):
            g = int(bad[0])
            src = pk.gate_source[g] if g < len(pk.gate_source) else -1
            label = pk.constraint_labels[src] if 0 <= src < len(pk.constraint_labels) else None
            if src >= 0:
                where = f"R1CS constraint {src}" + (f" ({label})" if label else "")
            elif g < pk.n_public:
                where = f"the public-input gate of public input {g + 1}"
            else:  # a key read from a .zkey file does not record which R1CS constraint made each gate
                where = (f"constraint gate {g - pk.n_public} (after the {pk.n_public} public-input gates; "
                         "this key does not record its R1CS constraint)")
            raise ConstraintUnsatisfied(f"the witness does not satisfy PLONK gate {g}, from {where}", index=src, label=label)

    # round 2 ---------------------------------------------------------------
    def round2(self) -> None:
        """Challenges beta, gamma; the permutation accumulator ``z``; ``[z]``."""
        pk, f, n, tr = self.pk, self.f, self.n, self.tr
        tr.reset()
        for k in ("Qm", "Ql", "Qr", "Qo", "Qc", "S1", "S2", "S3"):
            tr.add_point(pk.vk.points[k])
        for v in self.public:
            tr.add_scalar(v)
        for k in ("A", "B", "C"):
            tr.add_point(self.affine[k])
        beta = self.ch["beta"] = tr.challenge()
        tr.reset()
        tr.add_scalar(beta)
        gamma = self.ch["gamma"] = tr.challenge()

        a, b, c = self.evals_h["A"], self.evals_h["B"], self.evals_h["C"]
        s1, s2, s3 = pk.sigma_h
        w = powers(f, f.root_of_unity(n), n)
        bw = w * self._s(beta)
        g = self._s(gamma)
        bs = self._s(beta)
        num = (a + bw + g) * (b + bw * self._s(pk.k1) + g) * (c + bw * self._s(pk.k2) + g)
        den = (a + bs * s1 + g) * (b + bs * s2 + g) * (c + bs * s3 + g)
        pn = np.cumprod(num)
        pd = np.cumprod(den)
        if int(pn[-1]) != int(pd[-1]):
            raise ConstraintUnsatisfied("copy constraints do not hold (the permutation product is not 1)")
        # 1/pd[i] = (1/pd[-1]) * prod_{j > i} den_j
        suffix = np.cumprod(den[::-1])[::-1]  # suffix[i] = prod_{j >= i} den_j
        inv_total = self._s(pow(int(pd[-1]), -1, self.r))
        z = np.empty(n, dtype=f.dtype)
        z[0] = self._s(1)[0]
        z[1:] = pn[:-1] * suffix[1:] * inv_total
        self.evals_h["Z"] = z
        self.polys["Z"] = self._blind(intt(f, z), [self.b[9], self.b[8], self.b[7]])
        self._commit("Z", self.polys["Z"])

    # round 3 ---------------------------------------------------------------
    def round3(self) -> None:
        """Challenge alpha; the quotient ``t`` on the 4n coset; ``[T1], [T2], [T3]``."""
        pk, f, n, tr = self.pk, self.f, self.n, self.tr
        tr.reset()
        tr.add_scalar(self.ch["beta"])
        tr.add_scalar(self.ch["gamma"])
        tr.add_point(self.affine["Z"])
        alpha = self.ch["alpha"] = tr.challenge()
        beta, gamma = self.ch["beta"], self.ch["gamma"]
        cs = pk.coset()
        big = 4 * n
        g = f.generator

        def ev(coeffs):
            return coset_ntt(f, np.concatenate([coeffs, np.zeros(big - len(coeffs), dtype=f.dtype)]), g)

        A, B, C, Z = (ev(self.polys[k]) for k in ("A", "B", "C", "Z"))
        Zw = np.roll(Z, -4)
        pi_h = np.zeros(n, dtype=f.dtype)
        if pk.n_public:
            pi_h[: pk.n_public] = -f.to_array(self.public)
        PI = ev(intt(f, pi_h))
        gate = A * B * cs["qm"] + A * cs["ql"] + B * cs["qr"] + C * cs["qo"] + PI + cs["qc"]
        x, bs, gs = cs["x"], self._s(beta), self._s(gamma)
        bx = x * bs
        perm1 = (A + bx + gs) * (B + bx * self._s(pk.k1) + gs) * (C + bx * self._s(pk.k2) + gs) * Z
        perm2 = (A + bs * cs["s1"] + gs) * (B + bs * cs["s2"] + gs) * (C + bs * cs["s3"] + gs) * Zw
        al = self._s(alpha)
        num = gate + (perm1 - perm2) * al + (Z - self._s(1)) * cs["l1"] * self._s(alpha * alpha)
        t = coset_intt(f, num * cs["zh_inv"], g)
        if np.any(t[3 * n + 6 :] != np.zeros(1, dtype=f.dtype)):
            raise ConstraintUnsatisfied("the quotient polynomial has too high a degree: the witness does not satisfy the circuit")
        b10, b11 = self._s(self.b[10]), self._s(self.b[11])
        zero1 = np.zeros(1, dtype=f.dtype)
        t1 = np.concatenate([t[:n], b10])
        t2 = np.concatenate([t[n : 2 * n], b11])
        t2[0] = (t2[:1] - b10)[0]
        t3 = t[2 * n : 3 * n + 6].copy()
        t3[0] = (t3[:1] - b11)[0]
        del zero1
        self.polys["T1"], self.polys["T2"], self.polys["T3"] = t1, t2, t3
        for k in ("T1", "T2", "T3"):
            self._commit(k, self.polys[k])

    # round 4 ---------------------------------------------------------------
    def round4(self) -> None:
        """Challenge xi; ``a(xi), b(xi), c(xi), s1(xi), s2(xi), z(xi w)``."""
        pk, f, tr = self.pk, self.f, self.tr
        tr.reset()
        tr.add_scalar(self.ch["alpha"])
        for k in ("T1", "T2", "T3"):
            tr.add_point(self.affine[k])
        xi = self.ch["xi"] = tr.challenge()
        xiw = self.ch["xiw"] = xi * f.root_of_unity(self.n) % self.r
        self.evals["eval_a"] = evaluate(f, self.polys["A"], xi)
        self.evals["eval_b"] = evaluate(f, self.polys["B"], xi)
        self.evals["eval_c"] = evaluate(f, self.polys["C"], xi)
        self.evals["eval_s1"] = evaluate(f, pk.coefs["s1"], xi)
        self.evals["eval_s2"] = evaluate(f, pk.coefs["s2"], xi)
        self.evals["eval_zw"] = evaluate(f, self.polys["Z"], xiw)

    # round 5 ---------------------------------------------------------------
    def round5(self) -> None:
        """Challenge v; the linearisation ``r`` (snarkjs ``computeR``); ``[Wxi], [Wxiw]``."""
        pk, f, n, tr, r = self.pk, self.f, self.n, self.tr, self.r
        e = self.evals
        tr.reset()
        tr.add_scalar(self.ch["xi"])
        for k in ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw"):
            tr.add_scalar(e[k])
        v1 = tr.challenge()
        v = [0, v1]
        for _ in range(4):
            v.append(v[-1] * v1 % r)
        self.ch["v"] = v1
        xi, beta, gamma, alpha = self.ch["xi"], self.ch["beta"], self.ch["gamma"], self.ch["alpha"]
        xin = pow(xi, n, r)
        zh = (xin - 1) % r
        # Lagrange evaluations L_i(xi) = w^i zh / (n (xi - w^i))
        omega = f.root_of_unity(n)
        ws = [1] * max(1, pk.n_public)
        for i in range(1, len(ws)):
            ws[i] = ws[i - 1] * omega % r
        invs = batch_inverse(f, [n * (xi - w) % r for w in ws])  # one inversion for every public input
        L = [w * zh % r * inv % r for w, inv in zip(ws, invs)]
        pi = 0
        for i, pub in enumerate(self.public):
            pi = (pi - pub * L[i]) % r
        ea, eb, ec, es1, es2, ezw = (e[k] for k in ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw"))
        betaxi = beta * xi % r
        e2 = (ea + betaxi + gamma) * (eb + betaxi * pk.k1 + gamma) % r * (ec + betaxi * pk.k2 + gamma) % r * alpha % r
        e3 = (ea + beta * es1 + gamma) * (eb + beta * es2 + gamma) % r * ezw % r * alpha % r
        e4 = L[0] * alpha % r * alpha % r
        size = n + 6

        def padded(p):
            return np.concatenate([p, np.zeros(size - len(p), dtype=f.dtype)])

        S = self._s
        c = pk.coefs
        R = (
            padded(c["qm"] * S(ea * eb))
            + padded(c["ql"] * S(ea))
            + padded(c["qr"] * S(eb))
            + padded(c["qo"] * S(ec))
            + padded(c["qc"])
            + padded(self.polys["Z"] * S(e2 + e4))
            - padded(c["s3"] * S(e3 * beta))
        )
        tmp = padded(self.polys["T3"] * S(xin * xin)) + padded(self.polys["T2"] * S(xin)) + padded(self.polys["T1"])
        R = R - tmp * S(zh)
        r0 = (pi - e3 * (ec + gamma) - e4) % r
        R[0] = (R[:1] + S(r0))[0]
        W = (
            R
            + padded(self.polys["A"] * S(v[1]))
            + padded(self.polys["B"] * S(v[2]))
            + padded(self.polys["C"] * S(v[3]))
            + padded(c["s1"] * S(v[4]))
            + padded(c["s2"] * S(v[5]))
        )
        const = (v[1] * ea + v[2] * eb + v[3] * ec + v[4] * es1 + v[5] * es2) % r
        W[0] = (W[:1] - S(const))[0]
        self.polys["Wxi"] = divide_by_linear(f, W, xi)
        zc = self.polys["Z"].copy()
        zc[0] = (zc[:1] - S(ezw))[0]
        self.polys["Wxiw"] = divide_by_linear(f, zc, self.ch["xiw"])
        self._commit("Wxi", self.polys["Wxi"])
        self._commit("Wxiw", self.polys["Wxiw"])

    # all -------------------------------------------------------------------
    def prove(self) -> tuple[PlonkProof, list[int]]:
        """Run the five rounds; returns the proof and the public signals."""
        self.round1()
        self.round2()
        self.round3()
        self.round4()
        self.round5()
        pts = {k: self.affine[k] for k in ("A", "B", "C", "Z", "T1", "T2", "T3", "Wxi", "Wxiw")}
        return PlonkProof(curve=self.pk.curve, points=pts, evals=dict(self.evals)), list(self.public)


def pk_values(pk: ProvingKey, witness) -> list[int]:
    """All signal values: the witness with wire 0 set to 0 (as snarkjs), then the addition wires."""
    from ispc_core.zk.errors import WitnessError

    r = pk.field.modulus
    if len(witness) != pk.n_witness:
        raise WitnessError(f"the witness has {len(witness)} values, the circuit {pk.n_witness} wires")
    vals = [int(v) % r for v in witness]
    vals[0] = 0
    for s1, s2, c1, c2 in pk.additions:
        vals.append((c1 * vals[s1] + c2 * vals[s2]) % r)
    return vals


def prove(pk: ProvingKey, witness, *, backend=None, rand=None) -> tuple[PlonkProof, list[int]]:
    """Prove that ``witness`` (a full R1CS witness, wire 0 = 1) satisfies the circuit of ``pk``."""
    return PlonkRun(pk, witness, backend=backend, rand=rand).prove()
