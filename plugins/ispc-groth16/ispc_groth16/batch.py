"""Groth16 batch verification: k proofs under one key with one multi-pairing of k + 3 pairs.

One proof ``(A, B, C)`` for public inputs ``x`` verifies iff
``e(A, B) = e(α, β) · e(L, γ) · e(C, δ)`` with ``L = IC_0 + Σ_j x_j IC_j``
(:mod:`ispc_groth16.verifier`: 4 pairings). For k proofs under the **same**
key this module draws independent random scalars ``r_1 … r_k`` of 128 bits
(:mod:`secrets`, drawn after the proofs are fixed) and checks the random linear
combination of the k equations, as the protocol reads::

    Π_i e(r_i·A_i, B_i) = e(Σ_i r_i·α, β) · e(Σ_i r_i·L_i, γ) · e(Σ_i r_i·C_i, δ)

moved to one side, ``Π_i e(r_i·A_i, B_i) · e(−(Σr_i)·α, β) · e(−Σr_i·L_i, γ) · e(−Σr_i·C_i, δ) = 1``:
**k + 3 pairings and one final exponentiation instead of 4k pairings and k
final exponentiations**. ``Σ r_i·L_i = (Σ r_i)·IC_0 + Σ_j (Σ_i r_i x_ij)·IC_j``, so
the public inputs cost one input MSM for the whole batch (the key's
fixed-base table), and ``Σ r_i·C_i`` one G1 MSM of k points.

Soundness: every point was range-, curve- and subgroup-checked when the proof
was decoded (:meth:`Proof.from_bytes`), so all pairing values lie in the
order-r subgroup of the target group. If some proof of the batch is invalid,
the combined check passes only if ``Σ_i r_i·e_i ≡ 0 (mod r)`` for the nonzero
discrete-log errors ``e_i`` — a nonzero linear form in the ``r_i``, which
uniform 128-bit scalars hit with probability at most 2^-128. **The soundness
error is 2^-128 per batch check.** Without random scalars (all ``r_i = 1``)
batching is unsound: two valid proofs whose public inputs are swapped cancel
out in the sums (``tests/test_batch.py`` shows it with :func:`batch_check`'s
``scalars=`` argument).

A rejected batch is split in halves and each half checked again (bisection,
reusing the scalars already drawn and the products r_i·A_i: each
re-check is again a check with randomness independent of the proofs, so a
bisection of k proofs has error at most ``2k·2^-128``); a single proof is
checked with the normal :func:`~ispc_groth16.verifier.verify_proof`. So the
invalid proofs are identified exactly, at the cost of about
``2·(#bad)·log2(k)`` extra batch checks.
"""

from __future__ import annotations

import secrets
from typing import Sequence

from ispc_core.zk.errors import FormatError

from .data_structures import Proof
from .verifier import PreparedVerifyingKey, check_public_inputs, verify_proof

__all__ = ["SCALAR_BITS", "BatchItem", "batch_check", "verify_batch_proofs"]

#: bits of each random scalar r_i: the soundness error of one batch check is 2^-SCALAR_BITS
SCALAR_BITS = 128


class BatchItem:
    """One proof of a batch with its checked public inputs, its scalar ``r`` and ``r·A`` once computed."""

    __slots__ = ("proof", "inputs", "r", "ra")

    def __init__(self, proof: Proof, inputs: list[int]):
        self.proof = proof
        self.inputs = inputs
        self.r: int | None = None
        self.ra = None


def _scalar() -> int:
    """A uniform nonzero scalar of :data:`SCALAR_BITS` bits from :mod:`secrets`."""
    while True:
        r = secrets.randbits(SCALAR_BITS)
        if r:
            return r


def batch_check(pvk: PreparedVerifyingKey, items: Sequence[BatchItem], *, scalars: Sequence[int] | None = None) -> bool:
    """The combined check of ``items`` (module docstring): True iff the k + 3 multi-pairing is 1.

    Items get fresh random scalars the first time they are checked and keep
    them (bisection reuses them). ``scalars`` forces them (tests only: e.g. all
    ones, the naive and unsound batching).
    """
    if not items:
        return True
    be = pvk.backend
    g1 = be.g1
    r_mod = be.curve.r
    vk = pvk.vk
    if scalars is not None:
        if len(scalars) != len(items):
            raise ValueError("one scalar per item")
        for it, s in zip(items, scalars):
            it.r, it.ra = int(s) % r_mod, None
    for it in items:
        if it.r is None:
            it.r = _scalar()
        if it.ra is None:
            it.ra = g1.mul(it.proof.a, it.r)
    sum_r = sum(it.r for it in items) % r_mod
    n = vk.n_public
    combined = [0] * n
    for it in items:
        r = it.r
        for j, x in enumerate(it.inputs):
            if x:
                combined[j] += r * x
    combined = [s % r_mod for s in combined]
    acc = g1.mul(pvk.ic0, sum_r)  # Σ r_i·L_i = (Σ r_i)·IC_0 + Σ_j (Σ_i r_i x_ij)·IC_j
    if n and any(combined):
        acc = g1.add(acc, pvk.input_msm(combined))
    sum_c = g1.msm([it.proof.c for it in items], [it.r for it in items])
    pairs = [(it.ra, it.proof.b) for it in items]
    pairs.append((g1.mul(pvk.neg_alpha_1, sum_r), vk.beta_2))
    pairs.append((g1.neg(acc), vk.gamma_2))
    pairs.append((g1.neg(sum_c), vk.delta_2))
    return bool(be.pairing_check(pairs))


def _bisect(pvk: PreparedVerifyingKey, items: list[BatchItem], verdicts: list[bool], index: list[int], *, checked: bool) -> None:
    """Fill ``verdicts[index[i]]`` for ``items[i]``; ``checked``: this exact set is already known to fail."""
    if len(items) == 1:
        verdicts[index[0]] = bool(verify_proof(pvk, items[0].proof, items[0].inputs))
        return
    if not checked and batch_check(pvk, items):
        for i in index:
            verdicts[i] = True
        return
    mid = len(items) // 2
    _bisect(pvk, items[:mid], verdicts, index[:mid], checked=False)
    _bisect(pvk, items[mid:], verdicts, index[mid:], checked=False)


def verify_batch_proofs(pvk: PreparedVerifyingKey, proofs: Sequence[tuple[Proof, Sequence[int]]]) -> list[bool]:
    """One verdict per ``(proof, public inputs)`` under one key, in order (batch check, then bisection).

    A malformed entry (a proof of another curve, wrong number of public
    inputs, a non-canonical input) is False without entering the batch; the
    others are checked together. A single proof is checked with
    :func:`~ispc_groth16.verifier.verify_proof`.
    """
    verdicts = [False] * len(proofs)
    items: list[BatchItem] = []
    index: list[int] = []
    for i, (proof, public) in enumerate(proofs):
        if not isinstance(proof, Proof) or proof.curve != pvk.vk.curve:
            continue
        try:
            inputs = check_public_inputs(pvk.vk, public)
        except FormatError:
            continue
        items.append(BatchItem(proof, inputs))
        index.append(i)
    if len(items) == 1:
        _bisect(pvk, items, verdicts, index, checked=True)
    elif items:
        _bisect(pvk, items, verdicts, index, checked=False)
    return verdicts
