"""iden3 binary ``.wtns`` (version 2): read and write.

Sections: 1 header (``u32 n8, prime[n8] LE, u32 nWitness``), 2 values
(``n8`` bytes little-endian each, standard form).
"""

from __future__ import annotations

import struct
from typing import Sequence

from ..errors import FormatError
from ..fields import PrimeField
from .binfile import one_section, read_binfile, write_binfile
from .r1cs_file import field_from_prime

MAGIC = b"wtns"


def write_wtns(field: PrimeField, witness: Sequence[int]) -> bytes:
    """Serialize a witness (ints in ``[0, r)``) to ``.wtns`` bytes."""
    n8 = field.n8
    r = field.modulus
    for i, v in enumerate(witness):
        if not isinstance(v, int) or not 0 <= v < r:
            raise FormatError(f"wtns: witness value {i} is not a field element")
    header = struct.pack("<I", n8) + r.to_bytes(n8, "little") + struct.pack("<I", len(witness))
    values = b"".join(v.to_bytes(n8, "little") for v in witness)
    return write_binfile(MAGIC, 2, [(1, header), (2, values)])


def read_wtns(data: bytes) -> tuple[PrimeField, list[int]]:
    """Parse ``.wtns`` bytes into ``(field, witness)``."""
    _, secs = read_binfile(data, MAGIC, 2)
    h = one_section(secs, 1, "wtns", "header")
    if len(h) < 4:
        raise FormatError("wtns: header section too short")
    (n8,) = struct.unpack_from("<I", h, 0)
    if len(h) != 8 + n8:
        raise FormatError(f"wtns: header section has {len(h)} bytes, expected {8 + n8}")
    f = field_from_prime(int.from_bytes(h[4 : 4 + n8], "little"), "wtns")
    (n,) = struct.unpack_from("<I", h, 4 + n8)
    body = one_section(secs, 2, "wtns", "values")
    if len(body) != n * n8:
        raise FormatError(f"wtns: values section has {len(body)} bytes, expected {n * n8}")
    vals = [int.from_bytes(body[i : i + n8], "little") for i in range(0, len(body), n8)]
    for i, v in enumerate(vals):
        if v >= f.modulus:
            raise FormatError(f"wtns: value {i} is not reduced below the prime")
    return f, vals
