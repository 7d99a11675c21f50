"""snarkjs binary ``.zkey`` (Groth16 proving key, version 1): read and write.

The container is the iden3 binary file (:mod:`.binfile`) with magic ``zkey``.
Sections (as snarkjs 0.7 ``zkey_new.js`` writes them):

==  =============  ===============================================================
 1  header         ``u32 protocol`` (1 = groth16)
 2  groth16 header ``u32 n8q, q[n8q], u32 n8r, r[n8r], u32 nVars, u32 nPublic,
                   u32 domainSize, alpha_1, beta_1, beta_2, gamma_2, delta_1, delta_2``
 3  IC             ``nPublic + 1`` G1 points
 4  coefs          ``u32 n`` then n × ``(u32 matrix, u32 constraint, u32 signal, value[n8r])``;
                   matrix 0 = A, 1 = B; one extra A row ``nConstraints + i`` per public signal
 5  A              ``nVars`` G1 points  ``A_i(tau)``
 6  B1             ``nVars`` G1 points  ``B_i(tau)``
 7  B2             ``nVars`` G2 points  ``B_i(tau)``
 8  C              ``nVars - nPublic - 1`` G1 points ``(beta A_i + alpha B_i + C_i)(tau) / delta``
 9  H              ``domainSize`` G1 points: the Lagrange basis of the ``2·domainSize`` domain at
                   the odd indices, divided by delta (the prover evaluates ``A·B - C`` on that odd coset)
10  contributions  64-byte circuit hash, ``u32`` count, contribution records (kept verbatim)
==  =============  ===============================================================

Encodings (snarkjs' "LEM"): base-field coordinates little-endian **in Montgomery
form** (``x · 2^(8·n8q) mod q``), G1 ``x || y``, G2 ``x.c0 || x.c1 || y.c0 || y.c1``,
the point at infinity all zeros. Coefficient values are stored as
``v · R² mod r`` with ``R = 2^(8·n8r)`` (so one Montgomery multiplication with a
standard-form witness value yields the Montgomery form of the product).

Point sections are kept as raw bytes (:attr:`Zkey.sections`) so a prover can
convert them to its backend's form in bulk; :func:`decode_points` gives affine
ints. Points are **not** curve-checked by :func:`read_zkey`; :func:`check_points`
does that for keys from outside:

* range and on-curve checks of every point (exact; catches any flipped byte of
  a coordinate — a random pair is on the curve with probability about 1/q);
* subgroup membership, ``subgroup="full"`` point by point, or ``"batch"``
  (the default): nothing for bn254 G1 (cofactor 1); for bn254 G2 random
  linear combinations ``Σ ρ_i P_i`` with one subgroup check each (a point
  outside the subgroup survives a round with probability at most 1/10069, the
  smallest prime of the G2 cofactor; three rounds: at most 2^-39.9); for
  bls12-381, whose cofactors have the primes 3 (G1) and 13 (G2), batching
  would need dozens of rounds, so points are checked one by one natively.

Measured on 2^14 keys (2 cores, ~82k points): bn254 range + on-curve 0.50 s,
plus 0.33 s for the three batched G2 rounds (exact checks of the 16k B2 points,
vectorized, would take 9 s); bls12-381 range + on-curve 0.39 s, plus 3.8 s for
the native per-point subgroup checks. That is why the Groth16 key store checks
points once, when a key is stored, and afterwards a sha256 of the file (0.01 s).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..curves.params import CURVES, CurveSpec
from ..errors import FormatError, InvalidPoint
from .binfile import one_section, read_binfile, write_binfile

MAGIC = b"zkey"
GROTH16 = 1
POINT_SECTIONS = {3: ("IC", "G1"), 5: ("A", "G1"), 6: ("B1", "G1"), 7: ("B2", "G2"), 8: ("C", "G1"), 9: ("H", "G1")}

__all__ = [
    "Zkey", "read_zkey", "write_zkey", "decode_points", "encode_points", "coef_dtype", "curve_of_zkey", "make_coefs",
    "check_points",
]


def _n8(p: int) -> int:
    return ((p.bit_length() - 1) // 64 + 1) * 8


def curve_of_zkey(q: int, r: int) -> CurveSpec:
    """The known curve with base field ``q`` and scalar field ``r``, else :class:`FormatError`."""
    for c in CURVES.values():
        if c.q == q and c.r == r:
            return c
    raise FormatError("zkey: the primes q/r are not those of bn254 or bls12-381")


def coef_dtype(n8r: int) -> np.dtype:
    """numpy structured dtype of one coefficient record of section 4."""
    return np.dtype([("m", "<u4"), ("c", "<u4"), ("s", "<u4"), ("v", "u1", (n8r,))])


@dataclass
class Zkey:
    """A parsed Groth16 ``.zkey``.

    Header points are affine ints (G1 ``(x, y)``, G2 ``((x0, x1), (y0, y1))``,
    ``None`` = infinity). ``coefs`` is a numpy structured array (``m``, ``c``,
    ``s``, raw ``v``); :meth:`coef_values` decodes the values to ints.
    ``sections`` holds the raw point sections 3, 5–9 in LEM encoding.
    """

    curve: CurveSpec
    n_vars: int
    n_public: int
    domain_size: int
    alpha_1: Any
    beta_1: Any
    beta_2: Any
    gamma_2: Any
    delta_1: Any
    delta_2: Any
    coefs: np.ndarray
    sections: dict[int, bytes]
    cs_hash: bytes = b"\x00" * 64
    contributions: bytes = b"\x00\x00\x00\x00"
    extra: dict[int, list[bytes]] = field(default_factory=dict)

    @property
    def n8q(self) -> int:
        """Bytes per base-field element."""
        return _n8(self.curve.q)

    @property
    def n8r(self) -> int:
        """Bytes per scalar-field element."""
        return _n8(self.curve.r)

    def coef_values(self) -> list[int]:
        """Coefficient values (standard form ints)."""
        r = self.curve.r
        rr_inv = pow(pow(2, 8 * self.n8r, r) ** 2 % r, -1, r)
        raw = self.coefs["v"]
        return [int.from_bytes(bytes(row), "little") * rr_inv % r for row in raw]

    def ic(self) -> list:
        """The IC points as affine ints."""
        return decode_points(self.curve, self.sections[3], "G1")


def _fe(data: bytes, off: int, n8: int, q: int, rinv: int) -> int:
    v = int.from_bytes(data[off : off + n8], "little")
    if v >= q:
        raise FormatError("zkey: a coordinate is not reduced below q")
    return v * rinv % q


def decode_points(curve: CurveSpec, raw: bytes, group: str) -> list:
    """LEM point section → affine ints (``None`` for the all-zero point at infinity)."""
    n8 = _n8(curve.q)
    width = 2 if group == "G1" else 4
    size = n8 * width
    if len(raw) % size:
        raise FormatError(f"zkey: a {group} section of {len(raw)} bytes is not a whole number of points")
    q = curve.q
    rinv = pow(pow(2, 8 * n8, q), -1, q)
    out = []
    for off in range(0, len(raw), size):
        chunk = raw[off : off + size]
        if not any(chunk):
            out.append(None)
            continue
        v = [_fe(chunk, i * n8, n8, q, rinv) for i in range(width)]
        out.append((v[0], v[1]) if group == "G1" else ((v[0], v[1]), (v[2], v[3])))
    return out


def encode_points(curve: CurveSpec, points, group: str) -> bytes:
    """Affine ints → LEM bytes (``None`` = all zeros)."""
    n8 = _n8(curve.q)
    q = curve.q
    R = pow(2, 8 * n8, q)
    width = 2 if group == "G1" else 4
    parts = []
    for p in points:
        if p is None:
            parts.append(b"\x00" * (n8 * width))
            continue
        coords = [p[0], p[1]] if group == "G1" else [p[0][0], p[0][1], p[1][0], p[1][1]]
        parts.append(b"".join((c * R % q).to_bytes(n8, "little") for c in coords))
    return b"".join(parts)


def read_zkey(data: bytes) -> Zkey:
    """Parse ``.zkey`` bytes; :class:`FormatError` names the section that is wrong."""
    _, secs = read_binfile(data, MAGIC, 1)
    h = one_section(secs, 1, "zkey", "header")
    if len(h) != 4:
        raise FormatError(f"zkey: header section has {len(h)} bytes, expected 4")
    (proto,) = struct.unpack("<I", h)
    if proto != GROTH16:
        raise FormatError(f"zkey: protocol {proto} is not groth16 (1)")
    g = one_section(secs, 2, "zkey", "groth16 header")
    try:
        (n8q,) = struct.unpack_from("<I", g, 0)
        q = int.from_bytes(g[4 : 4 + n8q], "little")
        (n8r,) = struct.unpack_from("<I", g, 4 + n8q)
        pos = 8 + n8q
        r = int.from_bytes(g[pos : pos + n8r], "little")
        pos += n8r
        n_vars, n_public, domain = struct.unpack_from("<III", g, pos)
        pos += 12
    except struct.error:
        raise FormatError("zkey: groth16 header section is truncated") from None
    curve = curve_of_zkey(q, r)
    if n8q != _n8(q) or n8r != _n8(r):
        raise FormatError("zkey: n8q/n8r do not match the primes")
    s1, s2 = 2 * n8q, 4 * n8q
    if len(g) != pos + 3 * s1 + 3 * s2:  # alpha1, beta1, beta2, gamma2, delta1, delta2
        raise FormatError(f"zkey: groth16 header section has {len(g)} bytes, expected {pos + 3 * s1 + 3 * s2}")
    if domain < 1 or domain & (domain - 1):
        raise FormatError(f"zkey: domain size {domain} is not a power of two")
    if n_public + 1 > n_vars:
        raise FormatError("zkey: more public signals than variables")

    def take(size, grp):
        nonlocal pos
        chunk = g[pos : pos + size]
        pos += size
        return decode_points(curve, chunk, grp)[0]

    alpha_1 = take(s1, "G1")
    beta_1 = take(s1, "G1")
    beta_2 = take(s2, "G2")
    gamma_2 = take(s2, "G2")
    delta_1 = take(s1, "G1")
    delta_2 = take(s2, "G2")
    sections: dict[int, bytes] = {}
    expect = {3: (n_public + 1) * s1, 5: n_vars * s1, 6: n_vars * s1, 7: n_vars * s2, 8: (n_vars - n_public - 1) * s1, 9: domain * s1}
    for typ, size in expect.items():
        body = one_section(secs, typ, "zkey", POINT_SECTIONS[typ][0])
        if len(body) != size:
            raise FormatError(f"zkey: section {typ} ({POINT_SECTIONS[typ][0]}) has {len(body)} bytes, expected {size}")
        sections[typ] = body
    cbody = one_section(secs, 4, "zkey", "coefs")
    if len(cbody) < 4:
        raise FormatError("zkey: coefs section too short")
    (n_coefs,) = struct.unpack_from("<I", cbody, 0)
    dt = coef_dtype(n8r)
    if len(cbody) != 4 + n_coefs * dt.itemsize:
        raise FormatError(f"zkey: coefs section has {len(cbody)} bytes for {n_coefs} coefficients")
    coefs = np.frombuffer(cbody, dtype=dt, offset=4, count=n_coefs)
    if n_coefs and (coefs["m"].max() > 1 or coefs["c"].max() >= domain or coefs["s"].max() >= n_vars):
        raise FormatError("zkey: a coefficient names a matrix, constraint or signal out of range")
    contrib = secs.get(10, [b"\x00" * 64 + b"\x00" * 4])[0]
    extra = {k: v for k, v in secs.items() if k not in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)}
    return Zkey(
        curve=curve,
        n_vars=n_vars,
        n_public=n_public,
        domain_size=domain,
        alpha_1=alpha_1,
        beta_1=beta_1,
        beta_2=beta_2,
        gamma_2=gamma_2,
        delta_1=delta_1,
        delta_2=delta_2,
        coefs=coefs,
        sections=sections,
        cs_hash=contrib[:64],
        contributions=contrib[64:],
        extra=extra,
    )


def make_coefs(curve: CurveSpec, rows) -> np.ndarray:
    """Coefficient records from ``(matrix, constraint, signal, value)`` tuples (value: standard-form int)."""
    n8r = _n8(curve.r)
    r = curve.r
    rr = pow(2, 8 * n8r, r) ** 2 % r
    rows = list(rows)
    arr = np.zeros(len(rows), dtype=coef_dtype(n8r))
    if rows:
        arr["m"] = [x[0] for x in rows]
        arr["c"] = [x[1] for x in rows]
        arr["s"] = [x[2] for x in rows]
        raw = b"".join((x[3] % r * rr % r).to_bytes(n8r, "little") for x in rows)
        arr["v"] = np.frombuffer(raw, dtype=np.uint8).reshape(len(rows), n8r)
    return arr


def write_zkey(z: Zkey) -> bytes:
    """Serialize a :class:`Zkey` (sections in snarkjs' order)."""
    c = z.curve
    n8q, n8r = z.n8q, z.n8r
    g = (
        struct.pack("<I", n8q)
        + c.q.to_bytes(n8q, "little")
        + struct.pack("<I", n8r)
        + c.r.to_bytes(n8r, "little")
        + struct.pack("<III", z.n_vars, z.n_public, z.domain_size)
        + encode_points(c, [z.alpha_1], "G1")
        + encode_points(c, [z.beta_1], "G1")
        + encode_points(c, [z.beta_2], "G2")
        + encode_points(c, [z.gamma_2], "G2")
        + encode_points(c, [z.delta_1], "G1")
        + encode_points(c, [z.delta_2], "G2")
    )
    coefs = struct.pack("<I", len(z.coefs)) + z.coefs.tobytes()
    sections = [
        (1, struct.pack("<I", GROTH16)),
        (2, g),
        (3, z.sections[3]),
        (4, coefs),
        (5, z.sections[5]),
        (6, z.sections[6]),
        (7, z.sections[7]),
        (8, z.sections[8]),
        (9, z.sections[9]),
        (10, z.cs_hash + z.contributions),
    ]
    return write_binfile(MAGIC, 1, sections)


# ------------------------------------------------------------------ point checks
#: smallest prime factor of each cofactor (bounds what one random linear combination misses)
_COFACTOR_MIN_PRIME = {("bn254", "G1"): None, ("bn254", "G2"): 10069, ("bls12-381", "G1"): 3, ("bls12-381", "G2"): 13}
#: batch only when a round misses a bad point with probability at most 1/_BATCH_MIN_PRIME
_BATCH_MIN_PRIME = 1 << 10
#: bit sizes of the random coefficients of the batch rounds (the first large: big torsion orders)
_BATCH_ROUNDS = (64, 32, 32)
#: the header points and the sections in the order they are checked
_HEADER_POINTS = (("alpha_1", "G1"), ("beta_1", "G1"), ("beta_2", "G2"), ("gamma_2", "G2"), ("delta_1", "G1"), ("delta_2", "G2"))


def _where(typ: int) -> str:
    return f"section {typ} ({POINT_SECTIONS[typ][0]})"


def _bad(msg: str, exc: InvalidPoint | None = None, *, curve: str, group: str, check: str) -> InvalidPoint:
    if exc is not None:
        return InvalidPoint(msg, curve=exc.curve or curve, group=exc.group or group, check=exc.check or check)
    return InvalidPoint(msg, curve=curve, group=group, check=check)


def _batch_in_subgroup(g, points, rounds=_BATCH_ROUNDS) -> bool:
    """Random linear combinations of ``points`` (backend MSM form) are each in the subgroup."""
    import secrets

    n = len(points)
    if n == 0:
        return True
    for bits in rounds:
        rho = [secrets.randbits(bits) | 1 for _ in range(n)]
        if not g.in_subgroup(g.msm(points, rho)):
            return False
    return True


def check_points(z: "Zkey", *, subgroup: str = "batch", backend=None) -> None:
    """Check every point of a parsed zkey; :class:`InvalidPoint` names the section and point that fail.

    ``subgroup``: ``"batch"`` (default), ``"full"`` or ``"none"`` (see the module docstring).
    """
    if subgroup not in ("batch", "full", "none"):
        raise ValueError(f"subgroup must be 'batch', 'full' or 'none', not {subgroup!r}")
    from ..curves import get_backend
    from ..curves import serialization as ser

    curve = z.curve
    be = backend or get_backend(curve.name)
    check = {"G1": ser.check_g1_affine, "G2": ser.check_g2_affine}
    items = [(f"groth16 header {name}", grp, [getattr(z, name)]) for name, grp in _HEADER_POINTS]
    for typ in sorted(POINT_SECTIONS):
        grp = POINT_SECTIONS[typ][1]
        try:
            affs = decode_points(curve, z.sections[typ], grp)
        except FormatError as exc:
            raise InvalidPoint(f"zkey: {_where(typ)}: {str(exc).removeprefix('zkey: ')}", curve=curve.name, group=grp, check="range") from None
        items.append((_where(typ), grp, affs))
    for where, grp, affs in items:
        present = []
        for i, a in enumerate(affs):
            if a is None:
                continue
            try:
                check[grp](curve, a)
            except InvalidPoint as exc:
                raise _bad(f"zkey: {where}, point {i}: {exc}", exc, curve=curve.name, group=grp, check="on-curve") from None
            present.append((i, a))
        if subgroup == "none" or not present:
            continue
        small = _COFACTOR_MIN_PRIME.get((curve.name, grp), 2)
        if small is None:
            continue  # cofactor 1: every curve point is in the subgroup
        g = be.g1 if grp == "G1" else be.g2
        if subgroup == "batch" and small >= _BATCH_MIN_PRIME and len(present) > 1:
            pts = g.batch_from_affine([a for _, a in present], check=False)
            if _batch_in_subgroup(g, pts):
                continue
        for i, a in present:  # exact, point by point (also finds the culprit of a failed batch)
            if not g.in_subgroup(g.from_affine(a, check=False)):
                raise InvalidPoint(
                    f"zkey: {where}, point {i}: {curve.name} {grp}: point is not in the prime-order subgroup",
                    curve=curve.name, group=grp, check="subgroup",
                )
