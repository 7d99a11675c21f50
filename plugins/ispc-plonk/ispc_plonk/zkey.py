"""snarkjs PLONK ``.zkey`` files: write a proving key as snarkjs does, read one snarkjs wrote.

Container ``zkey`` version 1 (iden3 binary), protocol id 2 (PLONK). Field
elements are 32-byte little-endian **Montgomery** form, points affine
Montgomery little-endian (as in ``.ptau``). Sections:

==  ==========  ==============================================================
 1  header      ``u32 2`` (PLONK)
 2  plonk hdr   n8q, q, n8r, r, nVars, nPublic, domainSize, nAdditions,
                nConstraints, k1, k2, Qm, Ql, Qr, Qo, Qc, S1, S2, S3 (G1), X_2 (G2)
 3  additions   per addition ``u32 w1, u32 w2, c1, c2``
 4-6 maps       ``u32`` signal of wire a / b / c per gate
 7-11 Q*        qm, ql, qr, qo, qc: ``n`` coefficients then ``4n`` evaluations on the 4n domain
 12 sigma       S1, S2, S3 each as above
 13 lagrange    ``max(nPublic, 1)`` Lagrange polynomials L_i, each as above
 14 ptau        the first ``n + 6`` tauG1 points
==  ==========  ==============================================================

The node's key store writes the same container without section 13
(``write_zkey(..., lagrange=False)``, file ``proving_key.ispc-zkey``): it is
the only section that grows with the public inputs, and only snarkjs reads it.

A zkey written here is accepted by ``snarkjs plonk prove``; a snarkjs zkey
loads as a :class:`~ispc_plonk.keys.ProvingKey` (its verifying key read from
the header, the commitments trusted as the file's author computed them).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ispc_core.zk.curves import get_backend
from ispc_core.zk.curves.params import CURVES
from ispc_core.zk.errors import FormatError
from ispc_core.zk.fields import get_field
from ispc_core.zk.formats.binfile import one_section, read_binfile, write_binfile
from ispc_core.zk.formats.plonk_json import VK_POINTS, PlonkVerificationKey
from ispc_core.zk.formats.ptau import g1_from_lem, g1_to_lem, g2_from_lem, g2_to_lem
from ispc_core.zk.ntt import ntt

from .keys import ProvingKey

__all__ = ["write_zkey", "read_zkey"]

MAGIC = b"zkey"
PLONK_PROTOCOL_ID = 2


def _n8(v: int) -> int:
    return ((v.bit_length() - 1) // 64 + 1) * 8


def _mont_bytes(f, arr: np.ndarray) -> bytes:
    return f.to_array(arr).tobytes()  # zk-dtypes Montgomery limbs, R = 2^256: snarkjs' layout


def _from_mont(f, raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.uint8).copy().view(f.dtype)


def _p4(f, coeffs: np.ndarray, n: int) -> bytes:
    big = np.concatenate([coeffs, np.zeros(3 * n, dtype=f.dtype)])
    return coeffs.tobytes() + ntt(f, big).tobytes()


def write_zkey(pk: ProvingKey, srs=None, *, lagrange: bool = True) -> bytes:
    """snarkjs PLONK zkey bytes of a proving key (``srs`` supplies the ptau section; else ``pk.tau_g1``).

    ``lagrange=False`` leaves out section 13, the public inputs' Lagrange
    polynomials at ``5n`` field elements each: :func:`read_zkey` and this
    project's prover never read it, snarkjs' prover does. It is what grows
    with the public inputs (a 796-input circuit on a 2^16 domain: 8.3 GB), so
    the node's key store writes its keys without it and ``ispc zk setup``
    writes the whole file for snarkjs.

    >>> len(write_zkey(pk, srs, lagrange=False)) < len(write_zkey(pk, srs))   # doctest: +SKIP
    True
    """
    f = pk.field
    spec = CURVES[pk.curve]
    n = pk.n
    n8q, n8r = _n8(spec.q), _n8(spec.r)
    vk = pk.vk
    mont = lambda v: f.to_array([v]).tobytes()  # noqa: E731
    hdr = [
        struct.pack("<I", n8q), spec.q.to_bytes(n8q, "little"),
        struct.pack("<I", n8r), spec.r.to_bytes(n8r, "little"),
        struct.pack("<IIIII", pk.n_vars, pk.n_public, n, len(pk.additions), pk.n_gates),
        mont(pk.k1), mont(pk.k2),
    ]
    hdr += [g1_to_lem(spec, vk.points[k]) for k in VK_POINTS]
    hdr.append(g2_to_lem(spec, vk.x_2))
    adds = b"".join(struct.pack("<II", a, b) + mont(c1) + mont(c2) for a, b, c1, c2 in pk.additions)
    sections = [
        (1, struct.pack("<I", PLONK_PROTOCOL_ID)),
        (2, b"".join(hdr)),
        (3, adds),
        (4, pk.sl.astype("<u4").tobytes()),
        (5, pk.sr.astype("<u4").tobytes()),
        (6, pk.so.astype("<u4").tobytes()),
    ]
    for sid, k in zip(range(7, 12), ("qm", "ql", "qr", "qo", "qc")):
        sections.append((sid, _p4(f, pk.coefs[k], n)))
    sections.append((12, b"".join(_p4(f, pk.coefs[k], n) for k in ("s1", "s2", "s3"))))
    from ispc_core.zk.ntt import intt

    lag = []
    for i in range(max(pk.n_public, 1) if lagrange else 0):
        e = np.zeros(n, dtype=f.dtype)
        e[i] = f.to_array([1])[0]
        lag.append(_p4(f, intt(f, e), n))
    if lagrange:
        sections.append((13, b"".join(lag)))
    if srs is not None:
        ptau = srs.tau_g1_lem(n + 6)
    else:
        be = get_backend(pk.curve)
        ptau = b"".join(g1_to_lem(spec, a) for a in be.g1.batch_to_affine(pk.tau_g1[: n + 6]))
    sections.append((14, ptau))
    # snarkjs writes the headers last: the same order gives byte-identical files
    sections = sections[2:] + sections[:2]
    return write_binfile(MAGIC, 1, sections)


def read_zkey(source, backend=None) -> ProvingKey:
    """Load a snarkjs PLONK zkey (path or bytes) as a :class:`ProvingKey`; :class:`FormatError` if malformed.

    The verifying key's points are checked (curve and subgroup); the ptau
    points are taken as written.
    """
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    _, secs = read_binfile(data, MAGIC, 1)
    h1 = one_section(secs, 1, "zkey", "header")
    if len(h1) != 4 or struct.unpack("<I", h1)[0] != PLONK_PROTOCOL_ID:
        raise FormatError("zkey: section 1 does not declare the PLONK protocol (2)")
    h = one_section(secs, 2, "zkey", "plonk header")
    try:
        pos = 0
        (n8q,) = struct.unpack_from("<I", h, pos)
        pos += 4
        q = int.from_bytes(h[pos : pos + n8q], "little")
        pos += n8q
        (n8r,) = struct.unpack_from("<I", h, pos)
        pos += 4
        r = int.from_bytes(h[pos : pos + n8r], "little")
        pos += n8r
        spec = next((c for c in CURVES.values() if c.q == q and c.r == r), None)
        if spec is None:
            raise FormatError(f"zkey: section 2: unknown curve (q = {q})")
        n_vars, n_public, n, n_add, n_cons = struct.unpack_from("<IIIII", h, pos)
        pos += 20
        f = get_field(spec.name)
        k1 = int(_from_mont(f, h[pos : pos + 32])[0])
        k2 = int(_from_mont(f, h[pos + 32 : pos + 64])[0])
        pos += 64
        be = backend or get_backend(spec.name)
        pts = {}
        for k in VK_POINTS:
            aff = g1_from_lem(spec, h, pos)
            be.g1.from_affine(aff, check=True)
            pts[k] = aff
            pos += 2 * n8q
        x2 = g2_from_lem(spec, h, pos)
        be.g2.from_affine(x2, check=True)
        pos += 4 * n8q
    except struct.error:
        raise FormatError("zkey: section 2 (plonk header) is truncated") from None
    if pos != len(h):
        raise FormatError(f"zkey: section 2 (plonk header) has {len(h)} bytes, expected {pos}")
    if n < 8 or n & (n - 1):
        raise FormatError(f"zkey: domain size {n} is not a power of two >= 8")
    power = n.bit_length() - 1

    def sec(sid, size, name):
        s = one_section(secs, sid, "zkey", name)
        if len(s) != size:
            raise FormatError(f"zkey: section {sid} ({name}) has {len(s)} bytes, expected {size}")
        return s

    add_raw = sec(3, n_add * (8 + 2 * n8r), "additions")
    additions = []
    for i in range(n_add):
        o = i * (8 + 2 * n8r)
        a, b = struct.unpack_from("<II", add_raw, o)
        c1 = int(_from_mont(f, add_raw[o + 8 : o + 8 + n8r])[0])
        c2 = int(_from_mont(f, add_raw[o + 8 + n8r : o + 8 + 2 * n8r])[0])
        additions.append((a, b, c1, c2))
    maps = [np.frombuffer(sec(s, 4 * n_cons, nm), dtype="<u4").astype(np.int64) for s, nm in ((4, "A map"), (5, "B map"), (6, "C map"))]
    if n_cons > n or any(len(m) and int(m.max()) >= n_vars for m in maps):
        raise FormatError("zkey: a wire map names a signal beyond nVars, or more gates than the domain")
    sd = n * n8r
    coefs = {}
    for sid, k in zip(range(7, 12), ("qm", "ql", "qr", "qo", "qc")):
        coefs[k] = _from_mont(f, sec(sid, 5 * sd, k)[:sd])
    sig = sec(12, 15 * sd, "sigma")
    for i, k in enumerate(("s1", "s2", "s3")):
        coefs[k] = _from_mont(f, sig[5 * i * sd : 5 * i * sd + sd])
    ptau = sec(14, (n + 6) * 2 * n8q, "ptau")
    if be.name == "zkdtypes":
        import zk_dtypes as z

        tau = np.frombuffer(ptau, dtype=np.uint8).copy().view(z.bn254_g1_affine_mont)
    else:
        tau = be.g1.batch_from_affine([g1_from_lem(spec, ptau, i * 2 * n8q) for i in range(n + 6)], check=False)
    vk = PlonkVerificationKey(curve=spec.name, n_public=n_public, power=power, k1=k1, k2=k2, points=pts, x_2=x2)
    return ProvingKey(
        curve=spec.name,
        power=power,
        n_public=n_public,
        n_vars=n_vars,
        n_witness=n_vars - n_add,
        sl=maps[0],
        sr=maps[1],
        so=maps[2],
        additions=additions,
        k1=k1,
        k2=k2,
        coefs=coefs,
        tau_g1=tau,
        vk=vk,
    )
