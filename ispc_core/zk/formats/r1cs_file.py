"""iden3 binary ``.r1cs`` (version 1): read and write.

Sections: 1 header (``u32 n8, prime[n8] LE, u32 nWires, u32 nPubOut,
u32 nPubIn, u32 nPrvIn, u64 nLabels, u32 nConstraints``), 2 constraints (for
each of A, B, C: ``u32 nTerms`` then ``u32 wire, coeff[n8] LE`` per term,
coefficients in standard form), 3 wire-to-label map (``u64`` per wire).
"""

from __future__ import annotations

import struct

from ..errors import FormatError
from ..fields import BLS12_381_FR, BN254_FR, PrimeField
from ..r1cs import R1CS, Constraint
from .binfile import one_section, read_binfile, write_binfile

MAGIC = b"r1cs"
_FIELDS = {f.modulus: f for f in (BN254_FR, BLS12_381_FR)}


def field_from_prime(prime: int, what: str) -> PrimeField:
    """The known field with this modulus, or :class:`FormatError`."""
    try:
        return _FIELDS[prime]
    except KeyError:
        raise FormatError(f"{what}: unknown field prime {prime}") from None


def _lc_bytes(terms: dict[int, int], n8: int) -> bytes:
    out = [struct.pack("<I", len(terms))]
    for w in sorted(terms):
        out.append(struct.pack("<I", w))
        out.append(terms[w].to_bytes(n8, "little"))
    return b"".join(out)


def write_r1cs(r1cs: R1CS) -> bytes:
    """Serialize an :class:`R1CS` to ``.r1cs`` bytes."""
    f = r1cs.field
    n8 = f.n8
    header = (
        struct.pack("<I", n8)
        + f.modulus.to_bytes(n8, "little")
        + struct.pack("<IIIIQI", r1cs.n_wires, r1cs.n_pub_out, r1cs.n_pub_in, r1cs.n_prv_in, r1cs.n_labels or r1cs.n_wires, len(r1cs.constraints))
    )
    cons = b"".join(_lc_bytes(c.a, n8) + _lc_bytes(c.b, n8) + _lc_bytes(c.c, n8) for c in r1cs.constraints)
    w2l = r1cs.wire2label or list(range(r1cs.n_wires))
    labels = struct.pack(f"<{len(w2l)}Q", *w2l)
    return write_binfile(MAGIC, 1, [(1, header), (2, cons), (3, labels)])


def read_r1cs(data: bytes) -> R1CS:
    """Parse ``.r1cs`` bytes (checks sizes, wire indices and coefficient ranges)."""
    _, secs = read_binfile(data, MAGIC, 1)
    h = one_section(secs, 1, "r1cs", "header")
    if len(h) < 4:
        raise FormatError("r1cs: header section too short")
    (n8,) = struct.unpack_from("<I", h, 0)
    if n8 % 8 or len(h) != 4 + n8 + 28:
        raise FormatError(f"r1cs: header section has {len(h)} bytes, expected {4 + n8 + 28} for n8={n8}")
    f = field_from_prime(int.from_bytes(h[4 : 4 + n8], "little"), "r1cs")
    n_wires, n_out, n_pub, n_prv, n_labels, m = struct.unpack_from("<IIIIQI", h, 4 + n8)
    if 1 + n_out + n_pub + n_prv > n_wires:
        raise FormatError("r1cs: header declares more inputs/outputs than wires")
    body = one_section(secs, 2, "r1cs", "constraints")
    pos = 0
    r = f.modulus
    constraints = []

    def lc() -> dict[int, int]:
        nonlocal pos
        if pos + 4 > len(body):
            raise FormatError(f"r1cs: constraint {len(constraints)} is truncated")
        (nt,) = struct.unpack_from("<I", body, pos)
        pos += 4
        if pos + nt * (4 + n8) > len(body):
            raise FormatError(f"r1cs: constraint {len(constraints)} is truncated")
        terms = {}
        for _ in range(nt):
            (w,) = struct.unpack_from("<I", body, pos)
            c = int.from_bytes(body[pos + 4 : pos + 4 + n8], "little")
            pos += 4 + n8
            if w >= n_wires:
                raise FormatError(f"r1cs: constraint {len(constraints)} uses wire {w} >= nWires {n_wires}")
            if c >= r:
                raise FormatError(f"r1cs: constraint {len(constraints)} has a coefficient >= the prime")
            terms[w] = (terms.get(w, 0) + c) % r
        return terms

    for _ in range(m):
        a = lc()
        b = lc()
        c = lc()
        constraints.append(Constraint(a, b, c))
    if pos != len(body):
        raise FormatError(f"r1cs: constraints section has {len(body) - pos} extra bytes")
    w2l: list[int] = []
    if 3 in secs:
        s3 = one_section(secs, 3, "r1cs", "wire2label")
        if len(s3) != 8 * n_wires:
            raise FormatError(f"r1cs: wire2label section has {len(s3)} bytes, expected {8 * n_wires}")
        w2l = list(struct.unpack(f"<{n_wires}Q", s3))
    return R1CS(f, n_wires, n_out, n_pub, n_prv, constraints, [], w2l, n_labels)
