"""Encodings of affine points (ints) to bytes and snarkjs JSON, and back.

Affine points are ``(x, y)`` for G1 and ``((x0, x1), (y0, y1))`` for G2, or
``None`` for the point at infinity. Decoders check the encoding, the
coordinate ranges and that the point is on the curve; the subgroup check
needs group arithmetic and is done by the backend (``Group.from_affine``).

Byte formats (documented in docs/zk.md):

* bls12-381: the ZCash / IETF format (as arkworks, blst, py_ecc): big-endian
  coordinates, G2 ``x = x1 || x0``; top bits of the first byte: 0x80
  compressed, 0x40 infinity, 0x20 "y is the lexicographically larger root".
* bn254 uncompressed: the Ethereum precompile format, big-endian ``x || y``,
  G2 ``x1 || x0 || y1 || y0``, infinity all zeros (64 / 128 bytes).
* bn254 compressed: the gnark format, big-endian ``x`` (G2 ``x1 || x0``) with
  the top two bits of the first byte: 0b10 smaller y, 0b11 larger y,
  0b01 infinity (32 / 64 bytes).
"""

from __future__ import annotations

from ..errors import InvalidPoint
from . import fq
from .params import CurveSpec

G1Affine = tuple[int, int] | None
G2Affine = tuple[tuple[int, int], tuple[int, int]] | None


def _bad(curve: CurveSpec, group: str, check: str, msg: str) -> InvalidPoint:
    return InvalidPoint(f"{curve.name} {group}: {msg}", curve=curve.name, group=group, check=check)


# ---------------------------------------------------------------- checks
def check_g1_affine(curve: CurveSpec, p: G1Affine) -> G1Affine:
    """Range and on-curve check of an affine G1 point; returns it or raises :class:`InvalidPoint`."""
    if p is None:
        return None
    x, y = p
    for name, v in (("x", x), ("y", y)):
        if not isinstance(v, int) or not 0 <= v < curve.q:
            raise _bad(curve, "G1", "range", f"coordinate {name} is not in [0, q)")
    if not fq.g1_on_curve(x, y, curve.b1, curve.q):
        raise _bad(curve, "G1", "on-curve", f"point ({x}, {y}) is not on the curve")
    return (x, y)


def check_g2_affine(curve: CurveSpec, p: G2Affine) -> G2Affine:
    """Range and on-curve check of an affine G2 point; returns it or raises :class:`InvalidPoint`."""
    if p is None:
        return None
    (x0, x1), (y0, y1) = p
    for name, v in (("x0", x0), ("x1", x1), ("y0", y0), ("y1", y1)):
        if not isinstance(v, int) or not 0 <= v < curve.q:
            raise _bad(curve, "G2", "range", f"coordinate {name} is not in [0, q)")
    if not fq.g2_on_curve((x0, x1), (y0, y1), curve.b2, curve.q):
        raise _bad(curve, "G2", "on-curve", "point is not on the twist curve")
    return ((x0, x1), (y0, y1))


# ------------------------------------------------------------ helpers
def _fq_larger(y: int, q: int) -> bool:
    return y > (q - 1) // 2


def _fq2_larger(y: tuple[int, int], q: int) -> bool:
    # lexicographic on (c1, c0): ZCash and gnark both compare c1 first
    if y[1] != 0:
        return y[1] > (q - 1) // 2
    return y[0] > (q - 1) // 2


def _be(v: int, n: int) -> bytes:
    return v.to_bytes(n, "big")


def _take(data: bytes, n: int, curve: CurveSpec, group: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) != n:
        got = len(data) if isinstance(data, (bytes, bytearray, memoryview)) else type(data).__name__
        raise _bad(curve, group, "encoding", f"expected {n} bytes, got {got}")


# ------------------------------------------------------------ G1 bytes
def g1_to_bytes(curve: CurveSpec, p: G1Affine, compressed: bool = True) -> bytes:
    """Encode an affine G1 point (see module docstring for the formats)."""
    n = curve.fq_bytes
    if curve.name == "bls12-381":
        if p is None:
            return bytes([0xC0 if compressed else 0x40]) + bytes(n * (1 if compressed else 2) - 1)
        x, y = p
        if compressed:
            b = bytearray(_be(x, n))
            b[0] |= 0x80 | (0x20 if _fq_larger(y, curve.q) else 0)
            return bytes(b)
        return _be(x, n) + _be(y, n)
    # bn254
    if p is None:
        return bytes([0x40]) + bytes(n - 1) if compressed else bytes(2 * n)
    x, y = p
    if compressed:
        b = bytearray(_be(x, n))
        b[0] |= 0xC0 if _fq_larger(y, curve.q) else 0x80
        return bytes(b)
    return _be(x, n) + _be(y, n)


def _strip_flags(curve: CurveSpec, group: str, data: bytes, compressed: bool) -> tuple[bytes | None, bool]:
    """The coordinate bytes without their flag bits, and the sign flag; ``(None, False)`` for infinity.

    bls12-381: ZCash flags (0x80 compressed, 0x40 infinity, 0x20 sign of y);
    bn254: gnark flags in compressed form (0b10 / 0b11 = smaller / larger y,
    0b01 infinity) and all-zero bytes for infinity in uncompressed form.
    """
    flags = data[0]
    if curve.name == "bls12-381":
        if bool(flags & 0x80) != compressed:
            raise _bad(curve, group, "encoding", "compression flag does not match the length")
        if flags & 0x40:
            if flags & 0x3F or any(data[1:]):
                raise _bad(curve, group, "encoding", "infinity with non-zero bits")
            return None, False
        sign = bool(flags & 0x20)
        if not compressed and sign:
            raise _bad(curve, group, "encoding", "sign flag set in an uncompressed point")
        return bytes([flags & 0x1F]) + data[1:], sign
    if not compressed:
        return (data if any(data) else None), False
    mask = flags >> 6
    if mask == 0b01:
        if (flags & 0x3F) or any(data[1:]):
            raise _bad(curve, group, "encoding", "infinity with non-zero bits")
        return None, False
    if mask not in (0b10, 0b11):
        raise _bad(curve, group, "encoding", f"invalid compression flags {mask:#04b}")
    return bytes([flags & 0x3F]) + data[1:], mask == 0b11


def g1_from_bytes(curve: CurveSpec, data: bytes) -> G1Affine:
    """Decode and check (range, on-curve; not subgroup) a G1 point in either encoding."""
    n = curve.fq_bytes
    q = curve.q
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) not in (n, 2 * n):
        _take(data, n, curve, "G1")
    data = bytes(data)
    compressed = len(data) == n
    body, sign = _strip_flags(curve, "G1", data, compressed)
    if body is None:
        return None
    x = int.from_bytes(body[:n], "big")
    if x >= q:
        raise _bad(curve, "G1", "range", "x is not in [0, q)")
    if compressed:
        y = fq.fq_sqrt(x * x * x + curve.b1, q)
        if y is None:
            raise _bad(curve, "G1", "on-curve", "no point with this x")
        if _fq_larger(y, q) != sign:
            y = (q - y) % q
        return check_g1_affine(curve, (x, y))
    y = int.from_bytes(body[n:], "big")
    return check_g1_affine(curve, (x, y))


# ------------------------------------------------------------ G2 bytes
def g2_to_bytes(curve: CurveSpec, p: G2Affine, compressed: bool = True) -> bytes:
    """Encode an affine G2 point (``x1 || x0`` order, see module docstring)."""
    n = curve.fq_bytes
    size = 2 * n if compressed else 4 * n
    if p is None:
        if curve.name == "bls12-381":
            return bytes([0xC0 if compressed else 0x40]) + bytes(size - 1)
        return (bytes([0x40]) + bytes(size - 1)) if compressed else bytes(size)
    (x0, x1), (y0, y1) = p
    xb = _be(x1, n) + _be(x0, n)
    if not compressed:
        return xb + _be(y1, n) + _be(y0, n)
    b = bytearray(xb)
    larger = _fq2_larger((y0, y1), curve.q)
    if curve.name == "bls12-381":
        b[0] |= 0x80 | (0x20 if larger else 0)
    else:
        b[0] |= 0xC0 if larger else 0x80
    return bytes(b)


def g2_from_bytes(curve: CurveSpec, data: bytes) -> G2Affine:
    """Decode and check (range, on-curve; not subgroup) a G2 point in either encoding."""
    n = curve.fq_bytes
    q = curve.q
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) not in (2 * n, 4 * n):
        _take(data, 2 * n, curve, "G2")
    data = bytes(data)
    compressed = len(data) == 2 * n
    body, sign = _strip_flags(curve, "G2", data, compressed)
    if body is None:
        return None
    x1 = int.from_bytes(body[:n], "big")
    x0 = int.from_bytes(body[n : 2 * n], "big")
    if x0 >= q or x1 >= q:
        raise _bad(curve, "G2", "range", "x is not in [0, q)")
    if compressed:
        x = (x0, x1)
        rhs = fq.fq2_add(fq.fq2_mul(fq.fq2_mul(x, x, q), x, q), curve.b2, q)
        y = fq.fq2_sqrt(rhs, q)
        if y is None:
            raise _bad(curve, "G2", "on-curve", "no point with this x")
        if _fq2_larger(y, q) != sign:
            y = fq.fq2_neg(y, q)
        return check_g2_affine(curve, (x, y))
    y1 = int.from_bytes(body[2 * n : 3 * n], "big")
    y0 = int.from_bytes(body[3 * n :], "big")
    return check_g2_affine(curve, ((x0, x1), (y0, y1)))


# ------------------------------------------------------------ snarkjs JSON
def g1_to_snarkjs(p: G1Affine) -> list[str]:
    """snarkjs projective JSON: ``["x", "y", "1"]``; infinity ``["0", "1", "0"]``."""
    if p is None:
        return ["0", "1", "0"]
    return [str(p[0]), str(p[1]), "1"]


def g2_to_snarkjs(p: G2Affine) -> list[list[str]]:
    """snarkjs JSON ``[["x0","x1"],["y0","y1"],["1","0"]]``; infinity ``[["0","0"],["1","0"],["0","0"]]``."""
    if p is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    (x0, x1), (y0, y1) = p
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def _dec(s, curve: CurveSpec, group: str) -> int:
    if isinstance(s, int) and not isinstance(s, bool):
        v = s
    elif isinstance(s, str) and s.isdigit():
        v = int(s)
    else:
        raise _bad(curve, group, "encoding", f"coordinate {s!r} is not a decimal string")
    if v >= curve.q:
        raise _bad(curve, group, "range", "coordinate is not in [0, q)")
    return v


def g1_from_snarkjs(curve: CurveSpec, obj) -> G1Affine:
    """Decode and check (range, on-curve) snarkjs projective G1 JSON (Jacobian ``z`` accepted)."""
    if not isinstance(obj, (list, tuple)) or len(obj) not in (2, 3):
        raise _bad(curve, "G1", "encoding", "expected a list of 3 decimal strings")
    x, y = _dec(obj[0], curve, "G1"), _dec(obj[1], curve, "G1")
    z = _dec(obj[2], curve, "G1") if len(obj) == 3 else 1
    q = curve.q
    if z == 0:
        return None
    if z != 1:  # Jacobian (ffjavascript toAffine convention)
        zi = pow(z, -1, q)
        x, y = x * zi * zi % q, y * zi * zi * zi % q
    return check_g1_affine(curve, (x, y))


def g2_from_snarkjs(curve: CurveSpec, obj) -> G2Affine:
    """Decode and check (range, on-curve) snarkjs G2 JSON ``[[x0,x1],[y0,y1],[z0,z1]]``."""
    if not isinstance(obj, (list, tuple)) or len(obj) not in (2, 3) or not all(
        isinstance(c, (list, tuple)) and len(c) == 2 for c in obj
    ):
        raise _bad(curve, "G2", "encoding", "expected [[x0,x1],[y0,y1],[z0,z1]] decimal strings")
    x = tuple(_dec(c, curve, "G2") for c in obj[0])
    y = tuple(_dec(c, curve, "G2") for c in obj[1])
    z = tuple(_dec(c, curve, "G2") for c in obj[2]) if len(obj) == 3 else (1, 0)
    q = curve.q
    if z == (0, 0):
        return None
    if z != (1, 0):
        n = (z[0] * z[0] + z[1] * z[1]) % q
        zi = (z[0] * pow(n, -1, q) % q, (-z[1]) * pow(n, -1, q) % q)
        zi2 = fq.fq2_mul(zi, zi, q)
        x = fq.fq2_mul(x, zi2, q)
        y = fq.fq2_mul(y, fq.fq2_mul(zi2, zi, q), q)
    return check_g2_affine(curve, (x, y))
