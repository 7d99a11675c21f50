"""Scalar fields and NTTs: fast numpy NTTs against the pure-Python reference."""

import random

import pytest

from ispc_core.zk import ntt as N
from ispc_core.zk.errors import FieldError, UnknownCurve
from ispc_core.zk.fields import BLS12_381_FR, BN254_FR, batch_inverse, get_field, ntt_reference

FIELDS = [BN254_FR, BLS12_381_FR]


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
def test_constants(f):
    assert f.two_adicity == (28 if f.name == "bn254" else 32)
    w = f.root_of_unity(1 << f.two_adicity)
    assert pow(w, 1 << f.two_adicity, f.modulus) == 1
    assert pow(w, 1 << (f.two_adicity - 1), f.modulus) == f.modulus - 1
    assert f.n8 == 32
    with pytest.raises(FieldError):
        f.root_of_unity(1 << (f.two_adicity + 1))
    with pytest.raises(FieldError):
        f.root_of_unity(3)


def test_snarkjs_root_convention():
    # ffjavascript's bn128 Fr.w[28] (root of unity of order 2^28)
    assert BN254_FR.root_of_unity(1 << 28) == 19103219067921713944291392827692070036145651957329286315305642004821462161904


def test_get_field_unknown():
    with pytest.raises(UnknownCurve, match="bls12-381, bn254"):
        get_field("secp256k1")


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
def test_element_ops_and_batch_inverse(f):
    r = f.modulus
    xs = [random.randrange(1, r) for _ in range(50)] + [1, r - 1]
    inv = batch_inverse(f, xs)
    assert all(x * y % r == 1 for x, y in zip(xs, inv))
    assert f.div(f.mul(5, 7), 7) == 5
    with pytest.raises(FieldError, match="element 2 is zero"):
        batch_inverse(f, [1, 2, 0, 3])
    with pytest.raises(FieldError):
        f.inv(0)


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
@pytest.mark.parametrize("n", [1, 2, 8, 64])
def test_ntt_matches_reference(f, n):
    r = f.modulus
    v = [random.randrange(r) for _ in range(n)]
    v[0] = r - 1
    assert f.from_array(N.ntt(f, v)) == ntt_reference(f, v)
    assert f.from_array(N.intt(f, N.ntt(f, v))) == v
    assert f.from_array(N.coset_ntt(f, v, 7)) == ntt_reference(f, v, shift=7)
    assert f.from_array(N.coset_intt(f, N.coset_ntt(f, v))) == v
    assert ntt_reference(f, ntt_reference(f, v), inverse=True) == v


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
def test_ntt_is_polynomial_evaluation(f):
    r = f.modulus
    coeffs = [random.randrange(r) for _ in range(16)]
    w = f.root_of_unity(16)
    evals = f.from_array(N.ntt(f, coeffs))
    for i in (0, 3, 15):
        x = pow(w, i, r)
        assert evals[i] == sum(c * pow(x, j, r) for j, c in enumerate(coeffs)) % r


def test_ntt_bad_size():
    with pytest.raises(FieldError, match="power of two"):
        N.ntt(BN254_FR, [1, 2, 3])


def test_to_array_reduces():
    # values >= r must be reduced before they reach the zk_dtypes array
    a = BN254_FR.to_array([BN254_FR.modulus + 5, -1])
    assert BN254_FR.from_array(a) == [5, BN254_FR.modulus - 1]
