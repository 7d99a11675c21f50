"""PLONK batch verification: the final KZG pairings of many proofs under one key in one 2-pair check."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import attrs
import pytest

from ispc_plonk import verifier
from ispc_plonk.scheme import PlonkProver, proof_from_bytes

from .conftest import sample_circuit


def _instance(curve, circuit_id="sample.v1/1", **kw):
    r1cs, wit = sample_circuit(curve, **kw)
    return SimpleNamespace(circuit_id=circuit_id, version="v1", curve=curve, r1cs=r1cs, witness=tuple(wit),
                           public_inputs=tuple(r1cs.public_values(wit)))


@pytest.fixture(scope="module", params=["bn254", "bls12-381"])
def made(request, tmp_path_factory, ptau_files):
    curve = request.param
    ks = tmp_path_factory.mktemp("ks")
    shutil.copy(ptau_files[curve], ks / "srs.ptau")
    prover = PlonkProver(ks, curve=curve)
    arts = [prover.prove(_instance(curve, x0=x), curve) for x in (3, 4, 5, 6)]
    other = [prover.prove(_instance(curve, "sample.v1/2", x0=x, steps=6), curve) for x in (3, 4)]
    assert arts[0].verification_key_hash != other[0].verification_key_hash
    return curve, prover, arts, other


def _bump(art):
    return attrs.evolve(art, public_inputs=(art.public_inputs[0] + 1,) + art.public_inputs[1:])


def test_valid_batches_mixed_keys_and_empty(made, monkeypatch):
    curve, prover, arts, other = made
    assert prover.verify_batch([]) == []
    calls = []
    real = verifier.batch_check
    monkeypatch.setattr(verifier, "batch_check", lambda pk, entries, **kw: calls.append(len(entries)) or real(pk, entries, **kw))
    mixed = [arts[0], other[0], arts[1], arts[2], other[1], arts[3]]
    assert prover.verify_batch(mixed) == [True] * 6
    assert sorted(calls) == [2, 4]  # one check per key


@pytest.mark.parametrize("where", [0, 2])
def test_a_bad_proof_is_found(made, where):
    curve, prover, arts, other = made
    batch = list(arts)
    batch[where] = _bump(batch[where])
    assert prover.verify_batch(batch) == [i != where for i in range(4)]
    flipped = bytearray(arts[1].proof)
    flipped[-1] ^= 1  # an evaluation changed
    assert prover.verify_batch([arts[0], attrs.evolve(arts[1], proof=bytes(flipped)), arts[2]]) == [True, False, True]
    assert prover.verify_batch([arts[0], attrs.evolve(arts[1], proof=arts[1].proof[:-1])]) == [True, False]


def test_swapped_public_inputs_rejected(made):
    curve, prover, arts, other = made
    a, b = arts[0], arts[1]
    found = prover._find_vk(bytes(a.verification_key_hash))[0]
    pa, pb = (proof_from_bytes(curve, x.proof, found.be) for x in (a, b))
    assert verifier.batch_check(found, [(pa, a.public_inputs), (pb, b.public_inputs)])
    assert not verifier.batch_check(found, [(pa, b.public_inputs), (pb, a.public_inputs)])
    assert prover.verify_batch([attrs.evolve(a, public_inputs=b.public_inputs),
                                attrs.evolve(b, public_inputs=a.public_inputs)]) == [False, False]
