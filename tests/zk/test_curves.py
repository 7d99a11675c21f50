"""Curves API: every fast backend against the py_ecc reference; point validation."""

import random

import pytest

from ispc_core.zk.curves import BLS12_381, BN254, CurveBackend, backends, get_backend, register_backend
from ispc_core.zk.curves import serialization as ser
from ispc_core.zk.curves.fq import fq2_mul, fq2_sqrt, fq_sqrt
from ispc_core.zk.errors import InvalidPoint, UnknownCurve

CURVE_NAMES = ["bn254", "bls12-381"]


def fast_backends():
    out = []
    for c in CURVE_NAMES:
        for b in backends(c):
            if b.kind == "fast":
                out.append(b)
    return out


def test_fast_backends_present():
    names = {(b.curve.name, b.name) for b in fast_backends()}
    assert ("bn254", "zkdtypes") in names
    assert ("bls12-381", "arkworks") in names
    assert get_backend("bn254", "reference").name == "reference"


def test_unknown_curve():
    with pytest.raises(UnknownCurve) as e:
        get_backend("bn256")
    assert "bls12-381" in str(e.value) and "bn254" in str(e.value)


def test_register_backend_rejects_non_backend():
    with pytest.raises(TypeError):
        register_backend(object())


def _edge_scalars(r):
    return [0, 1, r - 1, 2, r - 2] + [random.randrange(r) for _ in range(4)]


@pytest.mark.parametrize("fast", fast_backends(), ids=lambda b: f"{b.curve.name}-{b.name}")
@pytest.mark.parametrize("gname", ["g1", "g2"])
def test_group_ops_match_reference(fast, gname):
    ref = get_backend(fast.curve.name, "reference")
    rg, fg = getattr(ref, gname), getattr(fast, gname)
    r = fast.curve.r
    for k in _edge_scalars(r):
        assert fg.to_affine(fg.mul(fg.generator(), k)) == rg.to_affine(rg.mul(rg.generator(), k))
    a, b = random.randrange(r), random.randrange(r)
    pa, pb = fg.mul(fg.generator(), a), fg.mul(fg.generator(), b)
    assert fg.eq(fg.add(pa, pb), fg.mul(fg.generator(), a + b))
    assert fg.eq(fg.sub(pa, pa), fg.infinity())
    assert fg.to_affine(fg.infinity()) is None
    assert fg.eq(fg.add(pa, fg.infinity()), pa)


@pytest.mark.parametrize("fast", fast_backends(), ids=lambda b: f"{b.curve.name}-{b.name}")
@pytest.mark.parametrize("gname", ["g1", "g2"])
def test_msm_matches_reference(fast, gname):
    ref = get_backend(fast.curve.name, "reference")
    rg, fg = getattr(ref, gname), getattr(fast, gname)
    r = fast.curve.r
    ks = _edge_scalars(r)
    affs = [rg.to_affine(rg.mul(rg.generator(), random.randrange(1, r))) for _ in ks[:-1]] + [None]
    want = rg.msm([rg.from_affine(a) for a in affs], ks)
    got = fg.msm(fg.batch_from_affine(affs), ks)
    assert fg.to_affine(got) == rg.to_affine(want)
    assert fg.is_infinity(fg.msm(fg.batch_from_affine([]), []))


@pytest.mark.parametrize("fast", [b for b in fast_backends() if b.curve.name == "bn254"], ids=lambda b: b.name)
def test_bn254_msm_larger_with_repeats(fast):
    # 300 points exercise several windows and heavy bucket collisions
    ref = get_backend("bn254", "reference")
    r = BN254.r
    base = [random.randrange(1, r) for _ in range(3)]
    ks = [random.randrange(r) for _ in range(300)]
    base_affs = [ref.g1.to_affine(ref.g1.mul(ref.g1.generator(), b)) for b in base]
    affs = [base_affs[i % 3] for i in range(300)]
    expect = sum(k * base[i % 3] for i, k in enumerate(ks)) % r
    got = fast.g1.msm(fast.g1.batch_from_affine(affs, check=False), ks)
    assert fast.g1.eq(got, fast.g1.mul(fast.g1.generator(), expect))


@pytest.mark.parametrize("curve", CURVE_NAMES)
@pytest.mark.parametrize("prefer", ["fast", "reference"])
def test_pairing_check(curve, prefer):
    be = get_backend(curve, prefer)
    g1, g2 = be.g1.generator(), be.g2.generator()
    a, b = 5, 7
    A = be.g1.mul(g1, a)
    B = be.g2.mul(g2, b)
    C = be.g1.mul(g1, a * b)
    assert be.pairing_check([(A, B), (be.g1.neg(C), g2)])
    assert not be.pairing_check([(A, B), (be.g1.neg(be.g1.add(C, g1)), g2)])
    assert be.pairing_check([(be.g1.infinity(), g2)])
    assert be.pairing_check([])


@pytest.mark.parametrize("fast", fast_backends(), ids=lambda b: f"{b.curve.name}-{b.name}")
def test_serialization_matches_reference(fast):
    ref = get_backend(fast.curve.name, "reference")
    for gname in ("g1", "g2"):
        rg, fg = getattr(ref, gname), getattr(fast, gname)
        for k in (0, 1, fast.curve.r - 1, random.randrange(fast.curve.r)):
            p, q = fg.mul(fg.generator(), k), rg.mul(rg.generator(), k)
            for comp in (True, False):
                data = fg.to_bytes(p, comp)
                assert data == rg.to_bytes(q, comp)
                assert fg.eq(fg.from_bytes(data), p)
                assert rg.eq(rg.from_bytes(data), q)
            js = fg.to_snarkjs(p)
            assert js == rg.to_snarkjs(q)
            assert fg.eq(fg.from_snarkjs(js), p)


def test_bls_compressed_matches_arkworks():
    be = get_backend("bls12-381")
    for g in (be.g1, be.g2):
        p = g.mul(g.generator(), 123456789)
        assert g.to_bytes(p) == p.to_compressed_bytes()
        assert g.to_bytes(g.infinity()) == g.infinity().to_compressed_bytes()


def test_snarkjs_json_shapes():
    be = get_backend("bn254")
    assert be.g1.to_snarkjs(be.g1.generator()) == ["1", "2", "1"]
    assert be.g2.to_snarkjs(be.g2.generator())[2] == ["1", "0"]
    assert be.g1.to_snarkjs(be.g1.infinity()) == ["0", "1", "0"]
    assert be.g1.is_infinity(be.g1.from_snarkjs(["0", "1", "0"]))


def test_fq_sqrt():
    for curve in (BN254, BLS12_381):
        q = curve.q
        x = random.randrange(q)
        s = fq_sqrt(x * x, q)
        assert s * s % q == x * x % q
        a = (random.randrange(q), random.randrange(q))
        s2 = fq2_sqrt(fq2_mul(a, a, q), q)
        assert fq2_mul(s2, s2, q) == fq2_mul(a, a, q)


# ---------------------------------------------------------------- negative tests
def _off_curve_g1(curve):
    x = 1
    while True:
        y2 = (x**3 + curve.b1) % curve.q
        y = fq_sqrt(y2, curve.q)
        if y is not None:
            return (x, (y + 1) % curve.q)
        x += 1


def _wrong_subgroup_g1(curve):
    """A curve point outside the order-r subgroup (exists since the cofactor > 1)."""
    q = curve.q
    x = 1
    while True:
        y = fq_sqrt(x**3 + curve.b1, q)
        if y is not None:
            return (x, y)
        x += 1


def _wrong_subgroup_g2(curve):
    q = curve.q
    x0 = 1
    while True:
        x = (x0, 1)
        rhs = ((x[0] ** 3 - 3 * x[0] * x[1] ** 2 + curve.b2[0]) % q, (3 * x[0] ** 2 * x[1] - x[1] ** 3 + curve.b2[1]) % q)
        y = fq2_sqrt(rhs, q)
        if y is not None:
            return (x, y)
        x0 += 1


ALL_BACKENDS = [b for c in CURVE_NAMES for b in backends(c)]


@pytest.mark.parametrize("be", ALL_BACKENDS, ids=lambda b: f"{b.curve.name}-{b.name}")
def test_off_curve_rejected(be):
    p = _off_curve_g1(be.curve)
    with pytest.raises(InvalidPoint) as e:
        be.g1.from_affine(p)
    assert e.value.check == "on-curve" and e.value.group == "G1"
    with pytest.raises(InvalidPoint, match="on the curve"):
        be.g1.from_snarkjs([str(p[0]), str(p[1]), "1"])
    with pytest.raises(InvalidPoint):
        be.g1.from_bytes(p[0].to_bytes(be.curve.fq_bytes, "big") + p[1].to_bytes(be.curve.fq_bytes, "big"))
    g2 = be.g2.to_affine(be.g2.generator())
    bad = (g2[0], (g2[1][0], (g2[1][1] + 1) % be.curve.q))
    with pytest.raises(InvalidPoint) as e:
        be.g2.from_affine(bad)
    assert e.value.check == "on-curve" and e.value.group == "G2"


@pytest.mark.parametrize("be", ALL_BACKENDS, ids=lambda b: f"{b.curve.name}-{b.name}")
def test_wrong_subgroup_rejected(be):
    p2 = _wrong_subgroup_g2(be.curve)
    with pytest.raises(InvalidPoint) as e:
        be.g2.from_affine(p2)
    assert e.value.check == "subgroup"
    with pytest.raises(InvalidPoint):
        be.g2.from_bytes(ser.g2_to_bytes(be.curve, p2, compressed=True))
    with pytest.raises(InvalidPoint):
        be.g2.batch_from_affine([be.g2.to_affine(be.g2.generator()), p2])
    p1 = _wrong_subgroup_g1(be.curve)
    if be.curve.g1_cofactor == 1:
        be.g1.from_affine(p1)  # bn254 G1: every curve point is in the group
    else:
        with pytest.raises(InvalidPoint) as e:
            be.g1.from_affine(p1)
        assert e.value.check == "subgroup"


@pytest.mark.parametrize("curve", CURVE_NAMES)
def test_bad_encodings(curve):
    be = get_backend(curve)
    n = be.curve.fq_bytes
    with pytest.raises(InvalidPoint, match="expected"):
        be.g1.from_bytes(b"\x00" * (n + 1))
    with pytest.raises(InvalidPoint):
        be.g1.from_bytes(b"\xff" * n)  # x >= q or bad flags
    with pytest.raises(InvalidPoint):
        be.g1.from_snarkjs(["1", "two", "1"])
    with pytest.raises(InvalidPoint, match=r"not in \[0, q\)") as e:
        be.g1.from_snarkjs([str(be.curve.q), "2", "1"])
    assert e.value.check == "range"
    with pytest.raises(InvalidPoint):
        be.g2.from_snarkjs([["1", "2"], ["3"]])
