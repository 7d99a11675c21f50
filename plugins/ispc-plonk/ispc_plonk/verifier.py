"""The PLONK verifier (snarkjs 0.7.6 ``plonk_verify.js``), one pairing check.

Inputs are a :class:`~ispc_core.zk.formats.plonk_json.PlonkVerificationKey`
and :class:`~ispc_core.zk.formats.plonk_json.PlonkProof` whose points were
checked when they were parsed (on the curve, in the subgroup) and whose
evaluations are canonical. Public inputs must be canonical too (``< r``) and
as many as the key says; anything else is rejected before any pairing.

With the challenges from the Keccak transcript, ``L_i(xi)``, ``PI(xi)``,
``r0``, and the points

* ``D = ab Qm + a Ql + b Qr + c Qo + Qc + (alpha(a + beta xi + gamma)(b + beta k1 xi + gamma)(c + beta k2 xi + gamma) + alpha^2 L1 + u) Z
  - alpha beta zw (a + beta s1 + gamma)(b + beta s2 + gamma) S3 - Z_H(xi) (T1 + xi^n T2 + xi^2n T3)``
* ``F = D + v A + v^2 B + v^3 C + v^4 S1 + v^5 S2``
* ``E = (-r0 + v a + v^2 b + v^3 c + v^4 s1 + v^5 s2 + u zw) G1``

the proof is valid iff ``e(-(Wxi + u Wxiw), X_2) * e(xi Wxi + u xi w Wxiw + F - E, G2) = 1``.
"""

from __future__ import annotations

from typing import Sequence

from ispc_core.zk.curves import get_backend
from ispc_core.zk.formats.plonk_json import VK_POINTS, PlonkProof, PlonkVerificationKey

from .transcript import Keccak256Transcript

__all__ = ["challenges", "verify", "batch_check", "verify_batch", "PreparedKey"]


#: the key's points (and ``"G1"``, the generator) in the final check's ``B1``, in table order
KEY_TERMS = ("Qm", "Ql", "Qr", "Qo", "Qc", "S3", "S1", "S2", "G1")


class PreparedKey:
    """A verifying key with its points converted to backend points once (they were checked at parse time)."""

    def __init__(self, vk: PlonkVerificationKey, backend=None):
        self.vk = vk
        self.be = backend or get_backend(vk.curve)
        g1 = self.be.g1
        self.points = {k: g1.from_affine(vk.points[k], check=False) for k in VK_POINTS}
        self.x_2 = self.be.g2.from_affine(vk.x_2, check=False)
        self.g2 = self.be.g2.generator()
        self.g1 = g1.generator()
        # the key's points and G1 enter every final check: fixed-base tables where the backend has them
        # (~70 ms once, then ~0.3 ms instead of ~1.8 ms per proof on bn254)
        r, w = self.be.curve.r, 1
        self.domain_points = []  # w^i for each public input's row
        for _ in range(vk.n_public):
            self.domain_points.append(w)
            w = w * vk.omega % r
        self.key_table = g1.fixed_base_msm([_key_point(self, k) for k in KEY_TERMS]) if hasattr(g1, "fixed_base_msm") else None


def challenges(vk: PlonkVerificationKey, proof: PlonkProof, public: Sequence[int]) -> dict:
    """beta, gamma, alpha, xi, v (v^1..v^5 as a list ``v[1..5]``) and u, as the snarkjs verifier derives them."""
    from ispc_core.zk.curves.params import CURVES

    curve = CURVES[vk.curve]
    r = curve.r
    tr = Keccak256Transcript(curve)
    P, E = proof.points, proof.evals
    for k in VK_POINTS:
        tr.add_point(vk.points[k])
    for s in public:
        tr.add_scalar(s)
    for k in ("A", "B", "C"):
        tr.add_point(P[k])
    ch = {"beta": tr.challenge()}
    tr.reset()
    tr.add_scalar(ch["beta"])
    ch["gamma"] = tr.challenge()
    tr.reset()
    tr.add_scalar(ch["beta"])
    tr.add_scalar(ch["gamma"])
    tr.add_point(P["Z"])
    ch["alpha"] = tr.challenge()
    tr.reset()
    tr.add_scalar(ch["alpha"])
    for k in ("T1", "T2", "T3"):
        tr.add_point(P[k])
    ch["xi"] = tr.challenge()
    tr.reset()
    tr.add_scalar(ch["xi"])
    for k in ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw"):
        tr.add_scalar(E[k])
    v1 = tr.challenge()
    v = [0, v1]
    for _ in range(4):
        v.append(v[-1] * v1 % r)
    ch["v"] = v
    tr.reset()
    tr.add_point(P["Wxi"])
    tr.add_point(P["Wxiw"])
    ch["u"] = tr.challenge()
    return ch


def _lincomb(be, pts, scalars):
    g1 = be.g1
    if be.name == "arkworks":
        return g1.msm(pts, scalars)
    acc = g1.infinity()
    for p, s in zip(pts, scalars):
        if s == 1:
            acc = g1.add(acc, p)
        elif s:
            acc = g1.add(acc, g1.mul(p, s))
    return acc


def _final_terms(pk: PreparedKey, proof: PlonkProof, public: Sequence[int]):
    """The final check's two G1 points as linear combinations, or None for malformed input.

    Returns ``(key_terms, proof_terms, a1_terms)``: ``B1 = Σ key_terms + Σ proof_terms``
    (``key_terms`` a dict over the key's points, by name, plus ``"G1"``), ``A1 = Σ a1_terms``;
    each term a ``(point, scalar)``. The check is ``e(−A1, X_2)·e(B1, G2) = 1``.
    """
    vk, be = pk.vk, pk.be
    r = be.curve.r
    if proof.curve != vk.curve or len(public) != vk.n_public:
        return None
    if any(not isinstance(s, int) or not 0 <= s < r for s in public):
        return None
    E = proof.evals
    if any(not isinstance(E.get(k), int) or not 0 <= E[k] < r for k in ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw")):
        return None
    ch = challenges(vk, proof, public)
    beta, gamma, alpha, xi, v, u = ch["beta"], ch["gamma"], ch["alpha"], ch["xi"], ch["v"], ch["u"]
    n = vk.domain_size
    xin = pow(xi, n, r)
    zh = (xin - 1) % r
    omega = vk.omega
    if zh == 0:  # xi in the domain: the Lagrange formula divides by zero (probability ~n/r for a real proof)
        return None
    # L_i(xi) = w^i zh / (n (xi - w^i)); PI(xi) = -sum s_i L_i(xi) = -(zh / n) sum s_i w^i / (xi - w^i),
    # summed as one fraction (four products per nonzero input, one inversion): a zkML circuit has ~800
    # public inputs, most of them small and many zero
    num, den = 0, 1
    for s, w in zip(public, pk.domain_points):
        if s:
            b = xi - w
            num = (num * b + s * w % r * den) % r
            den = den * b % r
    n_inv = pow(n, -1, r)
    pi = (-zh * n_inv % r * num % r * pow(den, -1, r)) % r
    L0 = zh * n_inv % r * pow(xi - 1, -1, r) % r
    ea, eb, ec, es1, es2, ezw = (E[k] for k in ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw"))
    a2 = alpha * alpha % r
    e3 = (ea + beta * es1 + gamma) * (eb + beta * es2 + gamma) % r * (ec + gamma) % r * ezw % r * alpha % r
    r0 = (pi - L0 * a2 - e3) % r
    betaxi = beta * xi % r
    d2a = (ea + betaxi + gamma) * (eb + betaxi * vk.k1 + gamma) % r * (ec + betaxi * vk.k2 + gamma) % r * alpha % r
    d2 = (d2a + L0 * a2 + u) % r
    d3 = (ea + beta * es1 + gamma) * (eb + beta * es2 + gamma) % r * (alpha * beta % r * ezw % r) % r
    e = (-r0 + v[1] * ea + v[2] * eb + v[3] * ec + v[4] * es1 + v[5] * es2 + u * ezw) % r
    g1 = be.g1
    P = {k: g1.from_affine(proof.points[k], check=False) for k in proof.points}
    s = u * xi % r * omega % r
    key_terms = {"Qm": ea * eb % r, "Ql": ea, "Qr": eb, "Qo": ec, "Qc": 1, "S3": (-d3) % r,
                 "S1": v[4], "S2": v[5], "G1": (-e) % r}
    proof_terms = [(P["Z"], d2), (P["T1"], (-zh) % r), (P["T2"], (-zh * xin) % r), (P["T3"], (-zh * xin % r * xin) % r),
                   (P["A"], v[1]), (P["B"], v[2]), (P["C"], v[3]), (P["Wxi"], xi), (P["Wxiw"], s)]
    a1_terms = [(P["Wxi"], 1), (P["Wxiw"], u)]
    return key_terms, proof_terms, a1_terms


def _key_point(pk: PreparedKey, name: str):
    return pk.g1 if name == "G1" else pk.points[name]


def verify(key: PlonkVerificationKey | PreparedKey, proof: PlonkProof, public: Sequence[int]) -> bool:
    """True iff ``proof`` is valid for ``public`` under ``key`` (see the module docstring).

    Returns False (never raises) for a wrong number of public inputs, a
    non-canonical public input or evaluation, or a proof for another curve.
    """
    pk = key if isinstance(key, PreparedKey) else PreparedKey(key)
    be = pk.be
    terms = _final_terms(pk, proof, public)
    if terms is None:
        return False
    key_terms, proof_terms, a1_terms = terms
    g1 = be.g1
    if pk.key_table is not None:
        B1 = g1.add(pk.key_table.msm([key_terms[k] for k in KEY_TERMS]), _lincomb(be, *zip(*proof_terms)))
    else:
        pts = [_key_point(pk, k) for k in key_terms] + [p for p, _ in proof_terms]
        scal = list(key_terms.values()) + [s for _, s in proof_terms]
        B1 = _lincomb(be, pts, scal)
    A1 = _lincomb(be, [p for p, _ in a1_terms], [s for _, s in a1_terms])
    return bool(be.pairing_check([(g1.neg(A1), pk.x_2), (B1, pk.g2)]))


#: bits of each random scalar of a batch: the soundness error of one batch check is 2^-BATCH_SCALAR_BITS
BATCH_SCALAR_BITS = 128


def batch_check(pk: PreparedKey, entries: Sequence[tuple], *, scalars: Sequence[int] | None = None) -> bool:
    """One pairing check for many proofs under one key: a random linear combination of their final checks.

    Each proof's final check is ``e(−A1_i, X_2)·e(B1_i, G2) = 1``; with independent
    random 128-bit scalars ``r_i`` (:mod:`secrets`) this checks
    ``e(−Σ r_i·A1_i, X_2)·e(Σ r_i·B1_i, G2) = 1`` — **two pairings for the whole
    batch**, and the key's nine points enter ``Σ r_i·B1_i`` once each (their
    scalars summed over the proofs). Every point was subgroup-checked when the
    proof was parsed, so a batch holding an invalid proof passes with
    probability at most 2^-128 (soundness error per batch check).
    ``entries`` are ``(proof, public)``; False if any is malformed.
    ``scalars`` forces the r_i (tests only).
    """
    import secrets

    if not entries:
        return True
    be = pk.be
    r = be.curve.r
    key_acc: dict[str, int] = {}
    pts, scal, a_pts, a_scal = [], [], [], []
    for i, (proof, public) in enumerate(entries):
        terms = _final_terms(pk, proof, list(public))
        if terms is None:
            return False
        rho = int(scalars[i]) % r if scalars is not None else (secrets.randbits(BATCH_SCALAR_BITS) or 1)
        key_terms, proof_terms, a1_terms = terms
        for k, s in key_terms.items():
            key_acc[k] = (key_acc.get(k, 0) + rho * s) % r
        for p, s in proof_terms:
            pts.append(p)
            scal.append(rho * s % r)
        for p, s in a1_terms:
            a_pts.append(p)
            a_scal.append(rho * s % r)
    g1 = be.g1
    if pk.key_table is not None:
        B1 = g1.add(g1.msm(pts, scal), pk.key_table.msm([key_acc[k] for k in KEY_TERMS]))
    else:
        B1 = g1.msm(pts + [_key_point(pk, k) for k in key_acc], scal + list(key_acc.values()))
    A1 = g1.msm(a_pts, a_scal)
    return bool(be.pairing_check([(g1.neg(A1), pk.x_2), (B1, pk.g2)]))


def verify_batch(pk: PreparedKey, entries: Sequence[tuple]) -> list[bool]:
    """One verdict per ``(proof, public)`` under one key: :func:`batch_check`, bisected down to the bad ones
    (halves re-checked with fresh scalars; a single proof checked with :func:`verify`)."""
    verdicts = [False] * len(entries)

    def walk(idx: list[int], known_bad: bool) -> None:
        if len(idx) == 1:
            proof, public = entries[idx[0]]
            verdicts[idx[0]] = verify(pk, proof, list(public))
            return
        if not known_bad and batch_check(pk, [entries[i] for i in idx]):
            for i in idx:
                verdicts[i] = True
            return
        mid = len(idx) // 2
        walk(idx[:mid], False)
        walk(idx[mid:], False)

    if entries:
        walk(list(range(len(entries))), False)
    return verdicts
