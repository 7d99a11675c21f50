"""Groth16 batch verification (ispc_groth16.batch): valid batches pass, bad proofs are found exactly,
random scalars stop the swapped-inputs cancellation that naive batching accepts."""

from __future__ import annotations

import attrs
import pytest

from ispc_core.zk.curves import get_backend
from ispc_core.zk.r1cs import CircuitBuilder
from ispc_groth16 import batch
from ispc_groth16.batch import BatchItem, batch_check, verify_batch_proofs
from ispc_groth16.data_structures import Proof
from ispc_groth16.plugin import Groth16Prover


def circuit(curve, x, y=5, k=0):
    """x public, y private: (x*y)^2 + k = out (public)."""
    cb = CircuitBuilder(curve)
    out = cb.public_output("out", hint=lambda get: (get(t) ** 2 + k))
    xw = cb.public_input("x", x)
    yw = cb.private_input("y", y)
    t = cb.mul(xw, yw, "t")
    cb.constrain(t, t, out - k, "square")
    return cb.build()


class Inst:
    def __init__(self, circuit_id, curve, x, k=0):
        self.r1cs, wit = circuit(curve, x, k=k)
        self.circuit_id, self.version, self.curve, self.witness = circuit_id, "v1", curve, tuple(wit)
        self.public_inputs = tuple(wit[1 : 1 + self.r1cs.n_public])


@pytest.fixture(scope="module", params=["bn254", "bls12-381"])
def made(request, tmp_path_factory):
    """(curve, prover, 6 artifacts of key k0, 3 artifacts of key k1)."""
    curve = request.param
    prover = Groth16Prover(tmp_path_factory.mktemp("ks"))
    arts = [prover.prove(Inst("batch.k0/1", curve, x), curve) for x in range(2, 8)]
    other = [prover.prove(Inst("batch.k1/1", curve, x, k=7), curve) for x in (3, 4, 5)]
    assert arts[0].verification_key_hash != other[0].verification_key_hash
    return curve, prover, arts, other


def _tamper_a(art):
    g1 = get_backend(art.curve).g1
    p = Proof.from_bytes(art.curve, art.proof)
    bad = Proof(p.curve, g1.add(p.a, g1.generator()), p.b, p.c)
    return attrs.evolve(art, proof=bad.to_bytes())


def _tamper_c(art):
    g1 = get_backend(art.curve).g1
    p = Proof.from_bytes(art.curve, art.proof)
    return attrs.evolve(art, proof=Proof(p.curve, p.a, p.b, g1.neg(p.c)).to_bytes())


def _tamper_input(art):
    return attrs.evolve(art, public_inputs=(art.public_inputs[0] + 1,) + art.public_inputs[1:])


def test_a_valid_batch_is_accepted(made):
    curve, prover, arts, other = made
    assert prover.verify_batch(arts) == [True] * len(arts)
    assert prover.verify_batch(arts[:1]) == [True]
    assert prover.verify_batch([]) == []


@pytest.mark.parametrize("tamper", [_tamper_a, _tamper_c, _tamper_input], ids=["A", "C", "public input"])
@pytest.mark.parametrize("where", [0, 3, 5])
def test_one_tampered_proof_is_found(made, tamper, where):
    curve, prover, arts, other = made
    batch_ = list(arts)
    batch_[where] = tamper(batch_[where])
    assert not prover.verify(batch_[where])
    assert prover.verify_batch(batch_) == [i != where for i in range(len(arts))]


def test_several_bad_proofs_are_found(made):
    curve, prover, arts, other = made
    batch_ = list(arts)
    batch_[1], batch_[4] = _tamper_a(batch_[1]), _tamper_input(batch_[4])
    assert prover.verify_batch(batch_) == [True, False, True, True, False, True]
    assert prover.verify_batch([_tamper_c(a) for a in arts[:3]]) == [False] * 3


def test_swapped_public_inputs_cancel_without_random_scalars(made):
    """The classic attack on naive batching: two valid proofs with their public inputs swapped.

    Each pair (proof_1, x_2), (proof_2, x_1) is invalid, but with r_1 = r_2 = 1 the sums
    Σ e(A_i, B_i), Σ L_i and Σ C_i are those of the two valid pairs, so the naive check passes.
    """
    curve, prover, arts, other = made
    a1, a2 = arts[0], arts[1]
    pvk = prover._key_for(a1)
    p1, p2 = (Proof.from_bytes(curve, a.proof) for a in (a1, a2))
    swapped = [(p1, list(a2.public_inputs)), (p2, list(a1.public_inputs))]
    assert batch_check(pvk, [BatchItem(p, x) for p, x in swapped], scalars=[1, 1])  # naive batching: accepted
    assert not batch_check(pvk, [BatchItem(p, x) for p, x in swapped])  # random scalars: rejected
    assert verify_batch_proofs(pvk, swapped) == [False, False]
    assert prover.verify_batch([attrs.evolve(a1, public_inputs=a2.public_inputs),
                                attrs.evolve(a2, public_inputs=a1.public_inputs)]) == [False, False]


def test_mixed_keys_are_grouped_and_order_kept(made, monkeypatch):
    curve, prover, arts, other = made
    calls = []
    real = batch.batch_check
    monkeypatch.setattr(batch, "batch_check", lambda pvk, items, **kw: calls.append(len(items)) or real(pvk, items, **kw))
    mixed = [arts[0], other[0], arts[1], other[1], arts[2], other[2]]
    assert prover.verify_batch(mixed) == [True] * 6
    assert sorted(calls) == [3, 3]  # one check per key
    calls.clear()
    mixed[3] = _tamper_c(mixed[3])
    assert prover.verify_batch(mixed) == [True, True, True, False, True, True]
    # key k0: one check of 3; key k1: a failing check of 3, then other[0] alone (verify_proof) and
    # [bad, other[2]] (a failing check of 2, then each alone)
    assert sorted(calls) == [2, 3, 3]


def test_bad_artifacts_are_false_not_errors(made):
    curve, prover, arts, other = made
    good = arts[0]
    bad = [
        attrs.evolve(good, verification_key_hash=bytes(32)),          # unknown key
        attrs.evolve(good, proving_scheme="plonk"),                   # another scheme
        attrs.evolve(good, circuit_id="batch.k1/1"),                  # key of another circuit
        attrs.evolve(good, proof=good.proof[:-1]),                    # does not decode
        attrs.evolve(good, public_inputs=good.public_inputs[:1]),     # wrong count
        attrs.evolve(good, public_inputs=(get_backend(curve).curve.r,) + good.public_inputs[1:]),  # not < r
    ]
    assert prover.verify_batch([good, *bad, arts[1]]) == [True] + [False] * len(bad) + [True]
    assert prover.verify_batch(bad) == [False] * len(bad)


def test_scalars_are_128_bit_and_fresh(made):
    curve, prover, arts, other = made
    pvk = prover._key_for(arts[0])
    items = [BatchItem(Proof.from_bytes(curve, a.proof), list(a.public_inputs)) for a in arts[:3]]
    assert batch_check(pvk, items)
    assert all(0 < it.r < 2**batch.SCALAR_BITS for it in items) and len({it.r for it in items}) == 3
    again = [BatchItem(it.proof, it.inputs) for it in items]
    batch_check(pvk, again)
    assert [it.r for it in again] != [it.r for it in items]
