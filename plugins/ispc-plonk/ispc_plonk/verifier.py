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

__all__ = ["challenges", "verify", "PreparedKey"]


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


def verify(key: PlonkVerificationKey | PreparedKey, proof: PlonkProof, public: Sequence[int]) -> bool:
    """True iff ``proof`` is valid for ``public`` under ``key`` (see the module docstring).

    Returns False (never raises) for a wrong number of public inputs, a
    non-canonical public input or evaluation, or a proof for another curve.
    """
    pk = key if isinstance(key, PreparedKey) else PreparedKey(key)
    vk, be = pk.vk, pk.be
    r = be.curve.r
    if proof.curve != vk.curve or len(public) != vk.n_public:
        return False
    if any(not isinstance(s, int) or not 0 <= s < r for s in public):
        return False
    E = proof.evals
    if any(not isinstance(E.get(k), int) or not 0 <= E[k] < r for k in ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw")):
        return False
    ch = challenges(vk, proof, public)
    beta, gamma, alpha, xi, v, u = ch["beta"], ch["gamma"], ch["alpha"], ch["xi"], ch["v"], ch["u"]
    n = vk.domain_size
    xin = pow(xi, n, r)
    zh = (xin - 1) % r
    omega = vk.omega
    m = max(1, vk.n_public)
    # L_i(xi) = w^i zh / (n (xi - w^i)), one inversion for all
    ws = [1] * m
    for i in range(1, m):
        ws[i] = ws[i - 1] * omega % r
    dens = [n * (xi - w) % r for w in ws]
    if any(d == 0 for d in dens):
        return False
    invs = [pow(d, -1, r) for d in dens]  # m = #public inputs: small
    L = [ws[i] * zh % r * invs[i] % r for i in range(m)]
    pi = 0
    for i, s in enumerate(public):
        pi = (pi - s * L[i]) % r
    ea, eb, ec, es1, es2, ezw = (E[k] for k in ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw"))
    a2 = alpha * alpha % r
    e3 = (ea + beta * es1 + gamma) * (eb + beta * es2 + gamma) % r * (ec + gamma) % r * ezw % r * alpha % r
    r0 = (pi - L[0] * a2 - e3) % r
    betaxi = beta * xi % r
    d2a = (ea + betaxi + gamma) * (eb + betaxi * vk.k1 + gamma) % r * (ec + betaxi * vk.k2 + gamma) % r * alpha % r
    d2 = (d2a + L[0] * a2 + u) % r
    d3 = (ea + beta * es1 + gamma) * (eb + beta * es2 + gamma) % r * (alpha * beta % r * ezw % r) % r
    e = (-r0 + v[1] * ea + v[2] * eb + v[3] * ec + v[4] * es1 + v[5] * es2 + u * ezw) % r
    g1 = be.g1
    P = {k: g1.from_affine(proof.points[k], check=False) for k in proof.points}
    K = pk.points
    s = u * xi % r * omega % r
    bases = [K["Qm"], K["Ql"], K["Qr"], K["Qo"], K["Qc"], P["Z"], K["S3"], P["T1"], P["T2"], P["T3"],
             P["A"], P["B"], P["C"], K["S1"], K["S2"], pk.g1, P["Wxi"], P["Wxiw"]]
    scal = [ea * eb % r, ea, eb, ec, 1, d2, (-d3) % r, (-zh) % r, (-zh * xin) % r, (-zh * xin % r * xin) % r,
            v[1], v[2], v[3], v[4], v[5], (-e) % r, xi, s]
    B1 = _lincomb(be, bases, scal)
    A1 = _lincomb(be, [P["Wxi"], P["Wxiw"]], [1, u])
    return bool(be.pairing_check([(g1.neg(A1), pk.x_2), (B1, pk.g2)]))
