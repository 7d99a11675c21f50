"""Groth16 verification (after arkworks' ``verifier.rs``): input checks first, then one multi-pairing.

Checks, in order — everything before the pairing is cheap and rejects malformed input:

1. the proof and the key are on the same curve;
2. the number of public inputs equals ``len(IC) - 1``;
3. every public input is a canonical field element (an int in ``[0, r)``);
4. the proof points were range-, curve- and subgroup-checked when decoded
   (:meth:`Proof.from_bytes` / :meth:`Proof.from_json`; the verifying key's
   likewise) — a :class:`Proof` is only ever built from checked points;
5. ``e(A, B) · e(−α, β) · e(−L, γ) · e(−C, δ) = 1`` with ``L = IC_0 + Σ x_i IC_i``,
   as one multi-pairing (one final exponentiation).
"""

from __future__ import annotations

from typing import Sequence

from ispc_core.zk.curves import get_backend
from ispc_core.zk.errors import FormatError

from .data_structures import Proof, VerifyingKey

__all__ = ["PreparedVerifyingKey", "prepare_verifying_key", "check_public_inputs", "verify_proof"]


class PreparedVerifyingKey:
    """A verifying key with ``−α`` precomputed and its IC points in MSM form.

    Where the backend offers fixed-base tables (``g1.fixed_base_msm``), the
    IC points get them: the input MSM of every verification then costs a table
    gather instead of a Pippenger run (0.3 ms instead of 3 ms for 8 inputs).
    """

    def __init__(self, vk: VerifyingKey):
        self.vk = vk
        self.backend = be = get_backend(vk.curve)
        self.neg_alpha_1 = be.g1.neg(vk.alpha_1)
        self.ic0 = vk.ic[0]
        self.ic_rest = vk.ic[1:]
        self.ic_table = None
        if hasattr(be.g1, "fixed_base_msm") and self.ic_rest:
            self.ic_table = be.g1.fixed_base_msm(self.ic_rest)
            self.ic_msm = None
        elif be.name == "zkdtypes" and self.ic_rest:
            self.ic_msm = be.g1.batch_from_affine([be.g1.to_affine(p) for p in self.ic_rest], check=False)
        else:
            self.ic_msm = list(self.ic_rest)

    def input_msm(self, inputs: Sequence[int]):
        """``Σ x_i IC_i`` over the non-constant IC points."""
        if self.ic_table is not None:
            return self.ic_table.msm(inputs)
        return self.backend.g1.msm(self.ic_msm, inputs)


def prepare_verifying_key(vk: VerifyingKey) -> PreparedVerifyingKey:
    """Precompute what every verification with ``vk`` needs."""
    return PreparedVerifyingKey(vk)


def check_public_inputs(vk: VerifyingKey, public_inputs: Sequence) -> list[int]:
    """The public inputs as ints, or :class:`FormatError` (wrong count, not an int, not below r)."""
    r = vk.ic and get_backend(vk.curve).curve.r
    inputs = list(public_inputs)
    if len(inputs) != vk.n_public:
        raise FormatError(f"groth16: {len(inputs)} public inputs, the verifying key takes {vk.n_public}")
    for i, x in enumerate(inputs):
        if isinstance(x, bool) or not isinstance(x, int):
            raise FormatError(f"groth16: public input {i} is not an integer")
        if not 0 <= x < r:
            raise FormatError(f"groth16: public input {i} is not a canonical field element (must be in [0, r))")
    return inputs


def verify_proof(pvk: PreparedVerifyingKey | VerifyingKey, proof: Proof, public_inputs: Sequence[int]) -> bool:
    """True iff ``proof`` verifies for ``public_inputs`` under the key (malformed input raises :class:`FormatError`)."""
    if isinstance(pvk, VerifyingKey):
        pvk = prepare_verifying_key(pvk)
    vk = pvk.vk
    if not isinstance(proof, Proof):
        raise FormatError(f"groth16: expected a Proof, got {type(proof).__name__}")
    if proof.curve != vk.curve:
        raise FormatError(f"groth16: a {proof.curve} proof cannot be checked with a {vk.curve} verifying key")
    inputs = check_public_inputs(vk, public_inputs)
    be = pvk.backend
    g1 = be.g1
    acc = pvk.ic0
    if inputs:
        acc = g1.add(acc, pvk.input_msm(inputs))
    return bool(
        be.pairing_check(
            [
                (proof.a, proof.b),
                (pvk.neg_alpha_1, vk.beta_2),
                (g1.neg(acc), vk.gamma_2),
                (g1.neg(proof.c), vk.delta_2),
            ]
        )
    )
