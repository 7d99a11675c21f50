"""The .ptau reader / writer / generator: structure, typed errors, point checks, sizes."""

from __future__ import annotations

import struct

import pytest

from ispc_core.zk.errors import FormatError, InvalidPoint
from ispc_core.zk.formats.ptau import (
    g1_to_lem,
    generate_insecure_ptau,
    read_ptau,
    required_power,
)


@pytest.mark.parametrize("curve", ["bn254", "bls12-381"])
def test_generated_file_is_consistent(curve, srs):
    p = srs[curve]
    assert p.curve.name == curve and p.power == 7 and p.has_lagrange
    assert p.contributions() == 0
    p.validate()
    assert p.tau_g1(1)[0] == p.curve.g1 and p.tau_g2(0) == p.curve.g2
    # the Lagrange section of the size-8 domain sums to tau^0 * G1 (sum of L_i = 1)
    from ispc_core.zk.curves import get_backend

    be = get_backend(curve)
    pts = [be.g1.from_affine(a, check=True) for a in p.lagrange_g1(8)]
    acc = be.g1.infinity()
    for q in pts:
        acc = be.g1.add(acc, q)
    assert be.g1.to_affine(acc) == p.curve.g1


def test_known_secrets_give_known_points():
    from ispc_core.zk.curves import get_backend

    p = read_ptau(generate_insecure_ptau("bn254", 2, lagrange=False, secrets_=(5, 7, 11)))
    be = get_backend("bn254")
    g = be.g1.generator()
    assert p.tau_g1(3) == [be.g1.to_affine(be.g1.mul(g, 5**i)) for i in range(3)]
    assert p.alpha_tau_g1(1)[0] == be.g1.to_affine(be.g1.mul(g, 7))
    assert p.beta_g2() == be.g2.to_affine(be.g2.mul(be.g2.generator(), 11))


def test_truncated_file_names_section_and_offset(ptau_files):
    data = ptau_files["bn254"].read_bytes()
    with pytest.raises(FormatError, match=r"section 2 \(tauG1\) at offset \d+ is truncated"):
        read_ptau(data[:1000])
    with pytest.raises(FormatError, match="too short"):
        read_ptau(data[:8])
    with pytest.raises(FormatError, match="bad magic"):
        read_ptau(b"zkey" + data[4:])
    with pytest.raises(FormatError, match="trailing bytes"):
        read_ptau(data + b"\0")


def test_wrong_section_size_and_header():
    data = bytearray(generate_insecure_ptau("bn254", 2, lagrange=False))
    # declare power 3 in the header: every section now has the wrong size
    off = 12 + 12 + 4 + 32
    struct.pack_into("<I", data, off, 3)
    with pytest.raises(FormatError, match=r"section 2 \(tauG1\) at offset \d+ has \d+ bytes, expected"):
        read_ptau(bytes(data))
    data2 = bytearray(generate_insecure_ptau("bn254", 2, lagrange=False))
    data2[12 + 12 + 4] ^= 1  # corrupt the prime
    with pytest.raises(FormatError, match="unknown base-field prime"):
        read_ptau(bytes(data2))


def test_missing_required_section():
    from ispc_core.zk.formats.binfile import read_binfile, write_binfile

    data = generate_insecure_ptau("bn254", 2, lagrange=False)
    _, secs = read_binfile(data, b"ptau", 1)
    without = write_binfile(b"ptau", 1, [(k, v[0]) for k, v in secs.items() if k != 3])
    with pytest.raises(FormatError, match=r"missing section 3 \(tauG2\)"):
        read_ptau(without)


def test_off_curve_and_inconsistent_points_rejected():
    from ispc_core.zk.curves.params import BN254

    data = bytearray(generate_insecure_ptau("bn254", 3, lagrange=False))
    p = read_ptau(bytes(data))
    off, _ = p.sections[2]
    bad = bytearray(data)
    bad[off + 64 * 3 : off + 64 * 4] = g1_to_lem(BN254, (1, 3))  # not on the curve
    with pytest.raises(InvalidPoint, match="tauG1"):
        read_ptau(bytes(bad)).validate()
    # a valid point, but not the next power of tau
    swapped = bytearray(data)
    a, b = off + 64 * 2, off + 64 * 3
    swapped[a:b], swapped[b : b + 64] = data[b : b + 64], data[a:b]
    with pytest.raises(FormatError, match="not consecutive powers"):
        read_ptau(bytes(swapped)).validate()


def test_too_small_srs_names_the_power(srs, keys):
    from ispc_plonk.circuit import from_r1cs
    from ispc_plonk.keys import derive_keys

    from .conftest import sample_circuit

    small = read_ptau(generate_insecure_ptau("bn254", 3, lagrange=False))
    r1cs, _ = sample_circuit("bn254")
    c = from_r1cs(r1cs)
    need = required_power(c.domain_size)
    with pytest.raises(FormatError, match=f"a file of power {need} or more is needed"):
        derive_keys(c, small)
    assert required_power(32) == 5 and required_power(1 << 10) == 10


def test_curve_mismatch(srs):
    from ispc_plonk.circuit import from_r1cs
    from ispc_plonk.keys import derive_keys

    from .conftest import sample_circuit

    r1cs, _ = sample_circuit("bn254")
    with pytest.raises(FormatError, match="bls12-381"):
        derive_keys(from_r1cs(r1cs), srs["bls12-381"])
