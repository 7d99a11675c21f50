"""Circuit-specific Groth16 setup (after arkworks' ``generator.rs``) — **single party, for development**.

:func:`generate_parameters` draws the toxic waste ``τ, α, β, γ, δ`` from the
operating system's CSPRNG, computes the proving key and forgets them. Whoever
runs it could forge proofs if they kept those values: a production deployment
should use keys from a multi-party ceremony instead (``snarkjs powersoftau`` +
``snarkjs zkey contribute``), imported with :func:`ispc_groth16.files.import_zkey`
or used directly by ``ispc zk prove``.

The key has exactly the layout snarkjs' ``zkey new`` produces from a powers of
tau (see :mod:`ispc_groth16.r1cs_to_qap`): A, B1, B2 are ``A_i(τ), B_i(τ)``;
IC and C are ``(β A_i(τ) + α B_i(τ) + C_i(τ))`` divided by γ (public signals) or
δ (the rest); H are ``L^{(2N)}_{2i+1}(τ)/δ``. Unlike a fresh snarkjs zkey
(γ = δ = 1 until someone contributes), γ and δ are random here.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Callable

from ispc_core.zk.curves import get_curve
from ispc_core.zk.fields import get_field
from ispc_core.zk.formats.zkey import Zkey, encode_points
from ispc_core.zk.r1cs import R1CS

from .backend import BulkGroup
from .data_structures import ProvingKey, VerifyingKey
from .r1cs_to_qap import coefficient_rows, domain_size, lagrange_at, r1cs_coefficients

__all__ = ["generate_parameters"]

Progress = Callable[[str, int, int], None]


def _rand_nonzero(r: int) -> int:
    while True:
        x = secrets.randbelow(r)
        if x:
            return x


def generate_parameters(r1cs: R1CS, curve: str, *, progress: Progress | None = None, toxic: dict | None = None) -> ProvingKey:
    """A fresh Groth16 proving key (with its verifying key) for ``r1cs`` on ``curve``.

    ``progress(stage, done, total)`` is called as the point sections are made.
    ``toxic`` (tests only) fixes ``tau, alpha, beta, gamma, delta``.
    """
    f = get_field(curve)
    if r1cs.field.modulus != f.modulus:
        from ispc_core.zk.errors import CircuitError

        raise CircuitError(f"the constraint system is over the {r1cs.field.name} field, not {curve}'s")
    spec = get_curve(curve)
    r = f.modulus
    say = progress or (lambda stage, done, total: None)
    n_cons = len(r1cs.constraints)
    n_pub = r1cs.n_public
    n_vars = r1cs.n_wires
    n = domain_size(n_cons, n_pub)
    t = dict(toxic or {})
    tau = t.get("tau") or _rand_nonzero(r)
    while pow(tau, n, r) == 1:  # never inside the domain
        tau = _rand_nonzero(r)
    alpha, beta = t.get("alpha") or _rand_nonzero(r), t.get("beta") or _rand_nonzero(r)
    gamma, delta = t.get("gamma") or _rand_nonzero(r), t.get("delta") or _rand_nonzero(r)
    total = 7
    say("lagrange", 0, total)
    lag = lagrange_at(f, n, tau)
    u = [0] * n_vars
    v = [0] * n_vars
    w = [0] * n_vars
    rows = coefficient_rows(r1cs)
    for m, c, s, val in rows:
        if m == 0:
            u[s] += val * lag[c]
        else:
            v[s] += val * lag[c]
    for c, con in enumerate(r1cs.constraints):
        lc = lag[c]
        for s, val in con.c.items():
            w[s] += val * lc
    u = [x % r for x in u]
    v = [x % r for x in v]
    gi, di = pow(gamma, -1, r), pow(delta, -1, r)
    k = [(beta * u[i] + alpha * v[i] + w[i]) % r for i in range(n_vars)]
    ic_s = [k[i] * gi % r for i in range(n_pub + 1)]
    c_s = [k[i] * di % r for i in range(n_pub + 1, n_vars)]
    # H: the 2N-domain Lagrange basis at the odd indices, over delta
    lag2 = lagrange_at(f, 2 * n, tau)
    h_s = [lag2[2 * i + 1] * di % r for i in range(n)]
    g1 = BulkGroup(curve, "G1")
    g2 = BulkGroup(curve, "G2")
    G1, G2 = g1.g.generator(), g2.g.generator()
    sections = {}
    for step, (sec, grp, scalars) in enumerate(
        ((3, g1, ic_s), (5, g1, u), (6, g1, v), (7, g2, v), (8, g1, c_s), (9, g1, h_s)), start=1
    ):
        say(("IC", "A", "B1", "B2", "C", "H")[step - 1], step, total)
        sections[sec] = grp.fixed_base_lem(G1 if grp is g1 else G2, scalars)
    say("done", total, total)
    be = g1.backend
    aff1 = lambda x: be.g1.to_affine(be.g1.mul(G1, x))  # noqa: E731
    aff2 = lambda x: be.g2.to_affine(be.g2.mul(G2, x))  # noqa: E731
    z = Zkey(
        curve=spec,
        n_vars=n_vars,
        n_public=n_pub,
        domain_size=n,
        alpha_1=aff1(alpha),
        beta_1=aff1(beta),
        beta_2=aff2(beta),
        gamma_2=aff2(gamma),
        delta_1=aff1(delta),
        delta_2=aff2(delta),
        coefs=r1cs_coefficients(r1cs, spec),
        sections=sections,
    )
    del tau, alpha, beta, gamma, delta, gi, di, k
    vk = VerifyingKey.from_zkey(z)
    z.cs_hash = hashlib.blake2b(vk.to_bytes() + encode_points(spec, [], "G1"), digest_size=64).digest()
    return ProvingKey(z, vk)
