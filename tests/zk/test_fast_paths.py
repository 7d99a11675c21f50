"""Fast twins agree with their readable references: Fq2 square roots, fixed-base MSM tables, ptau generation."""

from __future__ import annotations

import random

import pytest

from ispc_core.zk.curves import get_backend
from ispc_core.zk.curves.fq import fq2_mul, fq2_sqrt, fq2_sqrt_reference

BN254_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
BLS_Q = int(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab", 16
)


@pytest.mark.parametrize("q", [BN254_Q, BLS_Q], ids=["bn254", "bls12-381"])
def test_fq2_sqrt_matches_the_reference(q):
    rng = random.Random(7)
    seen_non_square = seen_square = False
    for i in range(200):
        a = (rng.randrange(q), rng.randrange(q) if i % 4 else 0)
        fast, ref = fq2_sqrt(a, q), fq2_sqrt_reference(a, q)
        assert (fast is None) == (ref is None)
        if fast is None:
            seen_non_square = True
            continue
        seen_square = True
        assert fq2_mul(fast, fast, q) == a
        assert fast in (ref, ((-ref[0]) % q, (-ref[1]) % q))
    assert seen_square and seen_non_square
    assert fq2_sqrt((0, 0), q) == (0, 0)


@pytest.mark.parametrize("window_bits", [8, 4])
def test_fixed_base_msm_equals_pippenger_and_the_reference(window_bits):
    fast = get_backend("bn254", prefer="fast")
    ref = get_backend("bn254", prefer="reference")
    r = fast.curve.r
    rng = random.Random(3)
    ks = [rng.randrange(1, r) for _ in range(6)]
    points = [fast.g1.mul(fast.g1.generator(), k) for k in ks]
    table = fast.g1.fixed_base_msm(points, window_bits)
    assert table.c == window_bits
    half = r // 2
    signed = [rng.randrange(2**16) if i % 2 else r - rng.randrange(1, 2**16) for i in range(6)]  # fixed-point inputs
    for scalars in ([rng.randrange(r) for _ in range(6)], [0] * 6, [1, 0, r - 1, 2**128, 5, r - 2], signed,
                    [half, half + 1, half - 1, r + 3, -1, 2**255]):  # around r/2, and outside [0, r): reduced
        got = table.msm(scalars)
        assert fast.g1.eq(got, fast.g1.msm(points, scalars))
        expected = ref.g1.mul(ref.g1.generator(), sum(k * s for k, s in zip(ks, scalars)) % r)
        assert fast.g1.to_affine(got) == ref.g1.to_affine(expected)
    with pytest.raises(ValueError):
        table.msm([1, 2])


def test_fixed_base_msm_window_follows_the_number_of_points():
    """Few points get 8-bit tables; a zkML key's hundreds get 8-bit windows on the two low bytes and 4-bit ones above."""
    g1 = get_backend("bn254", prefer="fast").g1
    few = [g1.generator()] * 8
    assert g1.fixed_base_msm(few).c == 8
    from ispc_core.zk.curves.zkdtypes_bn254 import FixedBaseMSM

    many = FixedBaseMSM.MAX_8BIT_ENTRIES // (32 * 256) + 1
    assert g1.fixed_base_msm([g1.generator()] * many).c == 4
    with pytest.raises(ValueError, match="4 or 8"):
        g1.fixed_base_msm(few, 5)


def test_windowed_fixed_base_matches_scalar_multiplication():
    import numpy as np
    import zk_dtypes as z

    from ispc_core.zk.formats.ptau import _fixed_base_windows

    r = get_backend("bn254").curve.r
    scalars = [0, 1, 2, r - 1, 12345678901234567890, r // 3]
    for jac in (z.bn254_g1_jacobian_mont, z.bn254_g2_jacobian_mont):
        got = _fixed_base_windows(jac, z.bn254_sf_mont, r, scalars)
        for s, p in zip(scalars, got):
            assert p == jac(1) * z.bn254_sf_mont(s)
        assert len(got) == len(scalars) and isinstance(got, np.ndarray)
