"""Poseidon: parameters, native hash and gadget against circomlibjs vectors; the sponge."""

import hashlib
import json
import random
from pathlib import Path

import pytest

from ispc_core.zk.errors import CircuitError, ConstraintUnsatisfied
from ispc_core.zk.fields import BLS12_381_FR, BN254_FR
from ispc_core.zk.poseidon import (
    partial_rounds,
    poseidon,
    poseidon_gadget,
    poseidon_params,
    poseidon_sponge,
    poseidon_sponge_gadget,
)
from ispc_core.zk.r1cs import CircuitBuilder

VECTORS = json.loads((Path(__file__).parent / "data" / "poseidon_bn254_vectors.json").read_text())
CIRCOMLIB_RP = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68]


def test_partial_rounds_match_circomlib():
    assert [partial_rounds(BN254_FR, t) for t in range(2, 18)] == CIRCOMLIB_RP


def test_partial_rounds_bls12_381():
    rps = [partial_rounds(BLS12_381_FR, t) for t in range(2, 18)]
    assert all(rp % t == 0 for rp, t in zip(rps, range(2, 18)))
    assert rps[1] == 57  # t=3, as in the Poseidon paper's table for 255-bit fields


@pytest.mark.parametrize("t", [2, 3, 5, 9, 17])
def test_constants_match_circomlibjs(t):
    p = poseidon_params("bn254", t)
    data = ",".join(map(str, p.C)) + ";" + ",".join(str(x) for row in p.M for x in row)
    assert hashlib.sha256(data.encode()).hexdigest() == VECTORS["constants_sha256"][str(t)]


@pytest.mark.parametrize("vec", VECTORS["hashes"], ids=lambda v: f"n{len(v['inputs'])}")
def test_native_hash_matches_circomlibjs(vec):
    assert poseidon([int(x) for x in vec["inputs"]]) == int(vec["out"])


@pytest.mark.parametrize("vec", VECTORS["withInit"], ids=lambda v: v["init"])
def test_sponge_single_chunk_is_circomlib_with_init_state(vec):
    xs = [int(x) for x in vec["inputs"]][: int(vec["init"])]
    assert poseidon_sponge(xs) == int(vec["out"])
    assert poseidon([int(x) for x in vec["inputs"]], init_state=int(vec["init"])) == int(vec["out"])


def test_sponge_domain_separation():
    assert poseidon_sponge([]) != poseidon_sponge([0])
    assert poseidon_sponge([1, 2, 3, 4]) != poseidon_sponge([1, 2, 3, 4, 0])
    assert len({poseidon_sponge(list(range(n))) for n in range(10)}) == 10


@pytest.mark.parametrize("n", [1, 2, 5])
def test_gadget_matches_native(n):
    xs = [random.randrange(BN254_FR.modulus) for _ in range(n)]
    cb = CircuitBuilder()
    ins = [cb.private_input(f"x{i}", v) for i, v in enumerate(xs)]
    h = poseidon_gadget(cb, ins)
    out = cb.public_output("h", hint=lambda get: get(h))
    cb.assert_equal(out, h, "h")
    r1cs, w = cb.build()
    r1cs.check(w)
    assert w[1] == poseidon(xs)
    forged = list(w)
    forged[1] = (w[1] + 1) % BN254_FR.modulus
    with pytest.raises(ConstraintUnsatisfied):
        r1cs.check(forged)
    forged = list(w)
    forged[2] = (w[2] + 1) % BN254_FR.modulus  # change an input
    with pytest.raises(ConstraintUnsatisfied):
        r1cs.check(forged)


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
@pytest.mark.parametrize("n", [0, 3, 9])
def test_sponge_gadget_matches_native(curve, n):
    f = BN254_FR if curve == "bn254" else BLS12_381_FR
    xs = [random.randrange(f.modulus) for _ in range(n)]
    cb = CircuitBuilder(curve)
    h = poseidon_sponge_gadget(cb, [cb.private_input(f"x{i}", v) for i, v in enumerate(xs)])
    r1cs, w = cb.build()
    r1cs.check(w)
    assert cb.get(h) == poseidon_sponge(xs, curve)


def test_bls_params_are_distinct_and_valid():
    p = poseidon_params("bls12-381", 3)
    r = BLS12_381_FR.modulus
    assert p.partial_rounds == 57 and len(p.C) == 3 * 65
    assert all(0 <= c < r for c in p.C)
    assert poseidon([1, 2], "bls12-381") != poseidon([1, 2], "bn254")


def test_bad_widths():
    with pytest.raises(CircuitError):
        poseidon([])
    with pytest.raises(CircuitError):
        poseidon(list(range(17)))
