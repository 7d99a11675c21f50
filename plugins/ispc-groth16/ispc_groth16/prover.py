"""Groth16 proving (after arkworks' ``prover.rs``), with snarkjs' QAP so snarkjs keys work unchanged.

Given the witness ``w`` (wire 0 = 1, then the public signals) and fresh
``r, s`` from the OS CSPRNG::

    A = α + Σ w_i A_i(τ) + r δ                                (G1)
    B = β + Σ w_i B_i(τ) + s δ                                (G2, and its G1 twin B')
    C = Σ_priv w_i C_i + Σ_j p(ω_{2N}^{2j+1}) H_j + s A + r B' − r s δ   (G1)

The key is converted to the backend's form once (:class:`PreparedProvingKey`);
per proof the witness becomes a field array once, ``A(ω^j), B(ω^j)`` are
gathered from the coefficient rows, ``p`` on the odd coset takes six NTTs of
size N (:func:`~ispc_groth16.r1cs_to_qap.odd_coset_p`), and five MSMs follow —
A and B only over the signals that occur in A or B (snarkjs keeps zero points
there; skipping them matters most for the G2 MSM).

This module does not check that the witness satisfies the constraints (a wrong
witness simply gives a proof that does not verify); the plugin checks the
R1CS first and raises :class:`~ispc_core.zk.errors.ConstraintUnsatisfied`.
"""

from __future__ import annotations

import secrets
from typing import Sequence

import numpy as np

from ispc_core.zk.errors import WitnessError
from ispc_core.zk.fields import get_field

from .backend import BulkGroup
from .data_structures import Proof, ProvingKey
from .r1cs_to_qap import coef_values, evaluate_ab, odd_coset_p

__all__ = ["PreparedProvingKey", "prepare_proving_key", "create_proof"]


class PreparedProvingKey:
    """A proving key with its point sections in the backend's MSM form (built once per key)."""

    def __init__(self, pk: ProvingKey):
        z = pk.zkey
        self.pk = pk
        self.curve = pk.curve
        self.field = get_field(self.curve)
        self.g1 = BulkGroup(self.curve, "G1")
        self.g2 = BulkGroup(self.curve, "G2")
        self.coefs = z.coefs
        self.values = coef_values(self.field, z.coefs)
        m, s = z.coefs["m"], z.coefs["s"].astype(np.int64)
        self.a_signals = np.unique(s[m == 0])
        self.b_signals = np.unique(s[m == 1])
        self.a_points = self.g1.take(self.g1.load(z.sections[5]), self.a_signals)
        self.b1_points = self.g1.take(self.g1.load(z.sections[6]), self.b_signals)
        self.b2_points = self.g2.take(self.g2.load(z.sections[7]), self.b_signals)
        self.c_points = self.g1.load(z.sections[8])
        self.h_points = self.g1.load(z.sections[9])
        be = self.g1.backend
        self.alpha_1 = be.g1.from_affine(z.alpha_1, check=False)
        self.beta_1 = be.g1.from_affine(z.beta_1, check=False)
        self.beta_2 = be.g2.from_affine(z.beta_2, check=False)
        self.delta_1 = be.g1.from_affine(z.delta_1, check=False)
        self.delta_2 = be.g2.from_affine(z.delta_2, check=False)


def prepare_proving_key(pk: ProvingKey) -> PreparedProvingKey:
    """Convert a proving key for fast proving."""
    return PreparedProvingKey(pk)


def create_proof(ppk: PreparedProvingKey, witness: Sequence[int], *, r: int | None = None, s: int | None = None) -> Proof:
    """A Groth16 proof for ``witness`` (ints in ``[0, r)``, wire 0 = 1); ``r, s`` default to fresh random values."""
    z = ppk.pk.zkey
    f = ppk.field
    order = f.modulus
    if len(witness) != z.n_vars:
        raise WitnessError(f"the witness has {len(witness)} values, the key's circuit {z.n_vars} wires")
    ints = [int(x) for x in witness]
    if ints[0] != 1 or any(not 0 <= x < order for x in ints):
        raise WitnessError("the witness must start with 1 and hold field elements below r")
    r = secrets.randbelow(order) if r is None else r % order
    s = secrets.randbelow(order) if s is None else s % order
    warr = f.to_array(ints)
    a_t, b_t = evaluate_ab(f, ppk.coefs, ppk.values, warr, z.domain_size)
    p = odd_coset_p(f, a_t, b_t)
    h_ints = f.from_array(p)
    g1, g2 = ppk.g1, ppk.g2
    G1, G2 = g1.g, g2.g
    prep = g1.prepare(ints)
    prep2 = prep if g2.kind == g1.kind else g2.prepare(ints)
    sa = prep.take(ppk.a_signals.tolist())
    sb = prep.take(ppk.b_signals.tolist())
    sb2 = sb if prep2 is prep else prep2.take(ppk.b_signals.tolist())
    a = G1.add(G1.add(g1.msm(ppk.a_points, sa), ppk.alpha_1), G1.mul(ppk.delta_1, r))
    b1 = G1.add(G1.add(g1.msm(ppk.b1_points, sb), ppk.beta_1), G1.mul(ppk.delta_1, s))
    b = G2.add(G2.add(g2.msm(ppk.b2_points, sb2), ppk.beta_2), G2.mul(ppk.delta_2, s))
    c = g1.msm(ppk.c_points, prep.slice(z.n_public + 1))
    c = G1.add(c, g1.msm(ppk.h_points, g1.prepare(h_ints)))
    c = G1.add(c, G1.mul(a, s))
    c = G1.add(c, G1.mul(b1, r))
    c = G1.add(c, G1.mul(ppk.delta_1, (-(r * s)) % order))
    return Proof(ppk.curve, a, b, c)
