"""check_points: every point of a .zkey is range-, curve- and subgroup-checked; errors name the section and point.

The keys here are built by hand (tiny, with points that are multiples of the
generators), then damaged: a flipped byte (off the curve), and points on the
curve but outside the prime-order subgroup, which only the subgroup check sees.
"""

from __future__ import annotations

import numpy as np
import pytest

from ispc_core.zk.curves import get_backend
from ispc_core.zk.curves import serialization as ser
from ispc_core.zk.curves.params import CURVES
from ispc_core.zk.errors import InvalidPoint
from ispc_core.zk.formats.zkey import (
    POINT_SECTIONS,
    Zkey,
    check_points,
    encode_points,
    make_coefs,
    read_zkey,
    write_zkey,
)

N_VARS, N_PUBLIC, DOMAIN = 3, 1, 2
SIZES = {3: N_PUBLIC + 1, 5: N_VARS, 6: N_VARS, 7: N_VARS, 8: N_VARS - N_PUBLIC - 1, 9: DOMAIN}


def tiny_zkey(curve: str) -> Zkey:
    spec = CURVES[curve]
    be = get_backend(curve)
    k = iter(range(2, 100))

    def pts(group, n):
        g = be.g1 if group == "G1" else be.g2
        return [g.to_affine(g.mul(g.generator(), next(k))) for _ in range(n)]

    sections = {typ: encode_points(spec, pts(grp, SIZES[typ]), grp) for typ, (_, grp) in POINT_SECTIONS.items()}
    (a1, b1, d1), (b2, g2, d2) = pts("G1", 3), pts("G2", 3)
    return Zkey(
        curve=spec, n_vars=N_VARS, n_public=N_PUBLIC, domain_size=DOMAIN,
        alpha_1=a1, beta_1=b1, beta_2=b2, gamma_2=g2, delta_1=d1, delta_2=d2,
        coefs=make_coefs(spec, [(0, 0, 1, 1), (1, 0, 2, 1)]), sections=sections,
    )


def off_subgroup_point(curve: str, group: str):
    """A point on the curve (or twist) that is not in the prime-order subgroup."""
    spec = CURVES[curve]
    be = get_backend(curve)
    g = be.g1 if group == "G1" else be.g2
    enc = g.to_bytes(g.generator())
    for i in range(1, 500):
        raw = bytearray(enc)
        raw[-1] ^= i  # another x with the same flags
        try:
            aff = (ser.g1_from_bytes if group == "G1" else ser.g2_from_bytes)(spec, bytes(raw))
        except (InvalidPoint, ValueError):
            continue
        if aff is not None and not g.in_subgroup(g.from_affine(aff, check=False)):
            return aff
    raise AssertionError("no off-subgroup point found")


def with_point(z: Zkey, typ: int, index: int, aff) -> Zkey:
    grp = POINT_SECTIONS[typ][1]
    width = (2 if grp == "G1" else 4) * z.n8q
    raw = bytearray(z.sections[typ])
    raw[index * width : (index + 1) * width] = encode_points(z.curve, [aff], grp)
    return Zkey(**{**z.__dict__, "sections": {**z.sections, typ: bytes(raw)}})


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_an_intact_key_passes_every_mode(curve):
    z = read_zkey(write_zkey(tiny_zkey(curve)))
    for mode in ("none", "batch", "full"):
        check_points(z, subgroup=mode)


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
@pytest.mark.parametrize("typ", sorted(POINT_SECTIONS))
def test_a_flipped_byte_is_off_the_curve_and_names_the_section(curve, typ):
    z = tiny_zkey(curve)
    raw = bytearray(z.sections[typ])
    width = (2 if POINT_SECTIONS[typ][1] == "G1" else 4) * z.n8q
    raw[len(raw) - width + 3] ^= 0x10  # a byte of the last point's x
    z = Zkey(**{**z.__dict__, "sections": {**z.sections, typ: bytes(raw)}})
    with pytest.raises(InvalidPoint) as e:
        check_points(z, subgroup="none")
    name = POINT_SECTIONS[typ][0]
    assert f"section {typ} ({name})" in str(e.value) and e.value.check in ("on-curve", "range"), str(e.value)


def test_a_flipped_byte_in_a_header_point_names_it():
    z = tiny_zkey("bn254")
    x, y = z.delta_1
    z = Zkey(**{**z.__dict__, "delta_1": (x ^ 1, y)})
    with pytest.raises(InvalidPoint, match="groth16 header delta_1"):
        check_points(z)


@pytest.mark.parametrize("curve,group,typ", [("bn254", "G2", 7), ("bls12-381", "G1", 9), ("bls12-381", "G2", 7), ("bls12-381", "G1", 3)])
@pytest.mark.parametrize("mode", ["batch", "full"])
def test_a_point_outside_the_subgroup_is_found(curve, group, typ, mode):
    bad = off_subgroup_point(curve, group)
    z = with_point(tiny_zkey(curve), typ, 1, bad)
    check_points(z, subgroup="none")  # on the curve: only the subgroup check sees it
    with pytest.raises(InvalidPoint) as e:
        check_points(z, subgroup=mode)
    assert e.value.check == "subgroup" and f"section {typ}" in str(e.value) and "point 1" in str(e.value), str(e.value)


def test_batched_subgroup_check_on_many_points_finds_one_bad_point():
    z = tiny_zkey("bn254")
    be = get_backend("bn254")
    g2 = be.g2
    many = [g2.to_affine(g2.mul(g2.generator(), k)) for k in range(3, 3 + 40)]
    many[27] = off_subgroup_point("bn254", "G2")
    z = Zkey(**{**z.__dict__, "n_vars": 40, "sections": {**z.sections, 7: encode_points(z.curve, many, "G2")}})
    with pytest.raises(InvalidPoint, match=r"section 7 \(B2\), point 27: .*subgroup"):
        check_points(z, subgroup="batch")


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        check_points(tiny_zkey("bn254"), subgroup="some")
    assert np.dtype  # numpy is what zkey uses for coefficients
