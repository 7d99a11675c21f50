"""snarkjs / Hermez powers-of-tau files (``.ptau``): read, check, write, and an insecure generator.

Layout (iden3 binary container, magic ``ptau``, version 1; all integers
little-endian; every point affine, each coordinate ``n8`` bytes little-endian
in **Montgomery form** (``x * 2^(8*n8) mod q``), the point at infinity all
zeros; G2 coordinates ``x0, x1, y0, y1``):

====  ============  ===========================================================
 id   name          contents
====  ============  ===========================================================
 1    header        ``u32 n8``, ``q`` (n8 bytes), ``u32 power``, ``u32 ceremonyPower``
 2    tauG1         ``2^(power+1) - 1`` points ``tau^i * G1``
 3    tauG2         ``2^power`` points ``tau^i * G2``
 4    alphaTauG1    ``2^power`` points ``alpha * tau^i * G1``
 5    betaTauG1     ``2^power`` points ``beta * tau^i * G1``
 6    betaG2        one point ``beta * G2``
 7    contributions ``u32 count`` then the contributions (kept as raw bytes)
 12   lagrange G1   for p = 0..power+1: the ``2^p`` points ``L_i(tau) * G1`` of the
                    size-``2^p`` domain (the last level from the first
                    ``2^(power+1) - 1`` powers and a zero, as snarkjs does)
 13   lagrange G2   for p = 0..power: ``L_i(tau) * G2``
 14   lagrange αG1  for p = 0..power: ``alpha * L_i(tau) * G1``
 15   lagrange βG1  for p = 0..power: ``beta * L_i(tau) * G1``
====  ============  ===========================================================

Sections 12–15 are written by ``snarkjs powersoftau prepare phase2``; snarkjs'
``plonk setup`` and ``groth16 setup`` refuse a file without them. PLONK as
implemented here needs only tauG1 (``domain + 6`` points) and tauG2[1].

:class:`PowersOfTau` reads a file lazily (a memory map for paths), so large
ceremony files are cheap to open: only the points asked for are decoded.
Structural problems (truncation, wrong section sizes, unknown prime) raise
:class:`~ispc_core.zk.errors.FormatError` naming the section and byte offset;
:meth:`PowersOfTau.validate` checks the points themselves (on the curve, in the
subgroup, consecutive powers of one tau) and raises
:class:`~ispc_core.zk.errors.InvalidPoint` or :class:`FormatError`.

:func:`generate_insecure_ptau` makes a development file from random secrets
that the generating process knows: **insecure**, anyone who saw that process
can forge proofs. It writes every section, the Lagrange ones included, so
snarkjs accepts it.
"""

from __future__ import annotations

import mmap
import os
import secrets
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..curves.params import CURVES, CurveSpec
from ..errors import FormatError, InvalidPoint

__all__ = [
    "PowersOfTau",
    "read_ptau",
    "write_ptau",
    "generate_insecure_ptau",
    "g1_from_lem",
    "g2_from_lem",
    "g1_to_lem",
    "g2_to_lem",
    "SECTION_NAMES",
    "required_power",
]

MAGIC = b"ptau"

SECTION_NAMES = {
    1: "header",
    2: "tauG1",
    3: "tauG2",
    4: "alphaTauG1",
    5: "betaTauG1",
    6: "betaG2",
    7: "contributions",
    12: "lagrange tauG1",
    13: "lagrange tauG2",
    14: "lagrange alphaTauG1",
    15: "lagrange betaTauG1",
}

_BY_Q = {c.q: c for c in CURVES.values()}


def _n8(curve: CurveSpec) -> int:
    return ((curve.q.bit_length() - 1) // 64 + 1) * 8


def required_power(domain_size: int) -> int:
    """The smallest ptau power whose tauG1 section holds ``domain_size + 6`` points (PLONK's need)."""
    p = 0
    while (1 << (p + 1)) - 1 < domain_size + 6:
        p += 1
    return p


# --------------------------------------------------------------- point codecs
def g1_from_lem(curve: CurveSpec, data: bytes, offset: int = 0):
    """Affine G1 ints (or None) from ``2*n8`` Montgomery little-endian bytes (no curve check)."""
    n8 = _n8(curve)
    q = curve.q
    rinv = pow(1 << (8 * n8), -1, q)
    xm = int.from_bytes(data[offset : offset + n8], "little")
    ym = int.from_bytes(data[offset + n8 : offset + 2 * n8], "little")
    if xm == 0 and ym == 0:
        return None
    return (xm * rinv % q, ym * rinv % q)


def g2_from_lem(curve: CurveSpec, data: bytes, offset: int = 0):
    """Affine G2 ints ``((x0, x1), (y0, y1))`` (or None) from ``4*n8`` Montgomery LE bytes (no check)."""
    n8 = _n8(curve)
    q = curve.q
    rinv = pow(1 << (8 * n8), -1, q)
    v = [int.from_bytes(data[offset + i * n8 : offset + (i + 1) * n8], "little") for i in range(4)]
    if not any(v):
        return None
    v = [c * rinv % q for c in v]
    return ((v[0], v[1]), (v[2], v[3]))


def g1_to_lem(curve: CurveSpec, p) -> bytes:
    """Montgomery little-endian bytes of an affine G1 point (zeros for None)."""
    n8 = _n8(curve)
    if p is None:
        return bytes(2 * n8)
    R = (1 << (8 * n8)) % curve.q
    return b"".join((c * R % curve.q).to_bytes(n8, "little") for c in p)


def g2_to_lem(curve: CurveSpec, p) -> bytes:
    """Montgomery little-endian bytes of an affine G2 point (zeros for None)."""
    n8 = _n8(curve)
    if p is None:
        return bytes(4 * n8)
    R = (1 << (8 * n8)) % curve.q
    (x0, x1), (y0, y1) = p
    return b"".join((c * R % curve.q).to_bytes(n8, "little") for c in (x0, x1, y0, y1))


# --------------------------------------------------------------- the reader
@dataclass
class PowersOfTau:
    """An opened ``.ptau`` file: header values and lazily read sections.

    ``sections`` maps a section id to ``(offset, size)`` in ``data`` (a bytes
    object or a memory map). Use :func:`read_ptau` to open one.
    """

    curve: CurveSpec
    power: int
    ceremony_power: int
    data: Any = field(repr=False)
    sections: dict[int, tuple[int, int]] = field(default_factory=dict)
    source: str = ""

    # sizes -----------------------------------------------------------------
    @property
    def n8(self) -> int:
        """Bytes per base-field coordinate."""
        return _n8(self.curve)

    @property
    def g1_size(self) -> int:
        """Bytes per G1 point."""
        return 2 * self.n8

    @property
    def g2_size(self) -> int:
        """Bytes per G2 point."""
        return 4 * self.n8

    @property
    def n_tau_g1(self) -> int:
        """Points in tauG1 (``2^(power+1) - 1``)."""
        return (1 << (self.power + 1)) - 1

    @property
    def has_lagrange(self) -> bool:
        """True if the prepared (phase 2) sections 12–15 are present."""
        return all(s in self.sections for s in (12, 13, 14, 15))

    @property
    def max_domain(self) -> int:
        """The largest PLONK domain this file serves (tauG1 must hold ``domain + 6`` points)."""
        d = 1 << self.power
        while d + 6 > self.n_tau_g1:
            d >>= 1
        return d

    def _section(self, sid: int) -> tuple[int, int]:
        if sid not in self.sections:
            raise FormatError(f"ptau{self._src()}: missing section {sid} ({SECTION_NAMES.get(sid, '?')})")
        return self.sections[sid]

    def _src(self) -> str:
        return f" {self.source}" if self.source else ""

    def raw(self, sid: int, start: int, count: int, size: int) -> bytes:
        """``count`` records of ``size`` bytes from section ``sid`` starting at record ``start``."""
        off, sz = self._section(sid)
        if start < 0 or count < 0 or (start + count) * size > sz:
            raise FormatError(
                f"ptau{self._src()}: section {sid} ({SECTION_NAMES.get(sid, '?')}) holds {sz // size} points; "
                f"asked for points {start}..{start + count - 1}"
            )
        return bytes(self.data[off + start * size : off + (start + count) * size])

    # points ----------------------------------------------------------------
    def tau_g1_lem(self, count: int, start: int = 0) -> bytes:
        """Raw Montgomery bytes of ``tau^start .. tau^(start+count-1)`` times G1."""
        return self.raw(2, start, count, self.g1_size)

    def tau_g1(self, count: int, start: int = 0) -> list:
        """Affine ints of ``count`` tauG1 points (no curve check: see :meth:`validate`)."""
        raw = self.tau_g1_lem(count, start)
        return [g1_from_lem(self.curve, raw, i * self.g1_size) for i in range(count)]

    def tau_g2(self, i: int):
        """Affine ints of ``tau^i * G2``."""
        return g2_from_lem(self.curve, self.raw(3, i, 1, self.g2_size))

    def alpha_tau_g1(self, count: int) -> list:
        """Affine ints of the first ``count`` alphaTauG1 points."""
        raw = self.raw(4, 0, count, self.g1_size)
        return [g1_from_lem(self.curve, raw, i * self.g1_size) for i in range(count)]

    def beta_tau_g1(self, count: int) -> list:
        """Affine ints of the first ``count`` betaTauG1 points."""
        raw = self.raw(5, 0, count, self.g1_size)
        return [g1_from_lem(self.curve, raw, i * self.g1_size) for i in range(count)]

    def beta_g2(self):
        """Affine ints of ``beta * G2``."""
        return g2_from_lem(self.curve, self.raw(6, 0, 1, self.g2_size))

    def lagrange_g1(self, domain: int) -> list:
        """Affine ints of ``L_i(tau) * G1`` for the size-``domain`` domain (needs section 12)."""
        k = domain.bit_length() - 1
        raw = self.raw(12, domain - 1, domain, self.g1_size)
        del k
        return [g1_from_lem(self.curve, raw, i * self.g1_size) for i in range(domain)]

    def contributions(self) -> int:
        """Number of contributions recorded in section 7."""
        off, sz = self._section(7)
        if sz < 4:
            raise FormatError(f"ptau{self._src()}: section 7 (contributions) at offset {off} is shorter than 4 bytes")
        return struct.unpack_from("<I", self.data, off)[0]

    # checks ----------------------------------------------------------------
    def check_power(self, domain_size: int) -> None:
        """Raise :class:`FormatError` unless tauG1 holds ``domain_size + 6`` points; names the power needed."""
        if domain_size + 6 > self.n_tau_g1:
            need = required_power(domain_size)
            raise FormatError(
                f"ptau{self._src()}: power {self.power} is too small for a circuit of domain 2^{domain_size.bit_length() - 1} "
                f"({domain_size + 6} tauG1 points needed, {self.n_tau_g1} present); a file of power {need} or more is needed "
                f"(e.g. `ispc srs new --insecure --power {need}` for development)"
            )

    def validate(self, backend=None, *, count: int | None = None, seed: int | None = None) -> None:
        """Check the points: on the curve and in the subgroup, and that they are powers of one tau.

        Checks the first ``count`` tauG1 points (all by default) and tauG2[0..1]:
        range, curve and subgroup membership of each point, ``tauG1[0] = G1``,
        ``tauG2[0] = G2``, and with one pairing equation over a random linear
        combination that ``tauG1[i+1] = tau * tauG1[i]`` where ``tau * G2 = tauG2[1]``.
        Raises :class:`InvalidPoint` (naming the point) or :class:`FormatError`.
        """
        from ..curves import get_backend

        be = backend or get_backend(self.curve.name)
        n = self.n_tau_g1 if count is None else min(count, self.n_tau_g1)
        affs = self.tau_g1(n)
        for i, a in enumerate(affs):
            if a is None:
                raise InvalidPoint(
                    f"ptau{self._src()}: tauG1[{i}] is the point at infinity", curve=self.curve.name, group="G1", check="range"
                )
        try:
            pts = be.g1.batch_from_affine(affs, check=True)
        except InvalidPoint as exc:
            raise InvalidPoint(f"ptau{self._src()}: section 2 (tauG1): {exc}", curve=exc.curve, group="G1", check=exc.check) from None
        g2s = []
        for i in (0, 1):
            try:
                g2s.append(be.g2.from_affine(self.tau_g2(i), check=True))
            except InvalidPoint as exc:
                raise InvalidPoint(f"ptau{self._src()}: tauG2[{i}]: {exc}", curve=exc.curve, group="G2", check=exc.check) from None
        if affs[0] != self.curve.g1:
            raise FormatError(f"ptau{self._src()}: tauG1[0] is not the generator of G1")
        if self.tau_g2(0) != self.curve.g2:
            raise FormatError(f"ptau{self._src()}: tauG2[0] is not the generator of G2")
        if n < 2:
            return
        rng = secrets.SystemRandom() if seed is None else __import__("random").Random(seed)
        r = self.curve.r
        rho = [rng.randrange(1, r) for _ in range(n - 1)]
        plist = list(pts) if not hasattr(pts, "dtype") else pts
        lo = be.g1.msm(plist[: n - 1], rho)
        hi = be.g1.msm(plist[1:n], rho)
        # e(lo, tau*G2) == e(hi, G2)  <=>  e(lo, tauG2[1]) * e(-hi, G2) == 1
        if not be.pairing_check([(lo, g2s[1]), (be.g1.neg(hi), be.g2.generator())]):
            raise FormatError(f"ptau{self._src()}: tauG1 points are not consecutive powers of the tau of tauG2[1]")


def _check_size(sections, sid: int, expected: int, what: str) -> None:
    if sid not in sections:
        return
    off, size = sections[sid]
    if size != expected:
        raise FormatError(
            f"ptau{what}: section {sid} ({SECTION_NAMES[sid]}) at offset {off} has {size} bytes, expected {expected}"
        )


def read_ptau(source, *, require: Sequence[int] = (1, 2, 3)) -> PowersOfTau:
    """Open a ``.ptau`` file (a path, or bytes) and check its structure.

    Checks the magic, version, section table (no truncation), the header
    (known prime, power), and the size of every known section against the
    power. ``require`` lists sections that must be present (PLONK needs 1, 2
    and 3). Points are not decoded here; see :meth:`PowersOfTau.validate`.
    Raises :class:`FormatError` naming the section and byte offset.
    """
    what = ""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        what = f" {path.name}"
        try:
            fh = open(path, "rb")
        except OSError as exc:
            raise FormatError(f"ptau{what}: cannot open: {exc.strerror}") from None
        with fh:
            size = os.fstat(fh.fileno()).st_size
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    else:
        data = bytes(source)
    if len(data) < 12:
        raise FormatError(f"ptau{what}: file too short for a header ({len(data)} bytes)")
    if bytes(data[:4]) != MAGIC:
        raise FormatError(f"ptau{what}: bad magic {bytes(data[:4])!r} at offset 0, expected {MAGIC!r}")
    version, n_sections = struct.unpack_from("<II", data, 4)
    if version != 1:
        raise FormatError(f"ptau{what}: unsupported version {version} at offset 4")
    pos = 12
    sections: dict[int, tuple[int, int]] = {}
    for i in range(n_sections):
        if pos + 12 > len(data):
            raise FormatError(f"ptau{what}: section header {i} at offset {pos} is truncated (file has {len(data)} bytes)")
        sid, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise FormatError(
                f"ptau{what}: section {sid} ({SECTION_NAMES.get(sid, 'unknown')}) at offset {pos} is truncated: "
                f"{size} bytes declared, {len(data) - pos} present"
            )
        if sid in sections:
            raise FormatError(f"ptau{what}: section {sid} ({SECTION_NAMES.get(sid, 'unknown')}) appears twice (offset {pos})")
        sections[sid] = (pos, size)
        pos += size
    if pos != len(data):
        raise FormatError(f"ptau{what}: {len(data) - pos} trailing bytes at offset {pos} after the last section")
    for sid in require:
        if sid not in sections:
            raise FormatError(f"ptau{what}: missing section {sid} ({SECTION_NAMES.get(sid, '?')})")
    off, hsize = sections[1]
    if hsize < 4:
        raise FormatError(f"ptau{what}: section 1 (header) at offset {off} is shorter than 4 bytes")
    (n8,) = struct.unpack_from("<I", data, off)
    if hsize != 4 + n8 + 8:
        raise FormatError(f"ptau{what}: section 1 (header) at offset {off} has {hsize} bytes, expected {4 + n8 + 8} for n8={n8}")
    q = int.from_bytes(bytes(data[off + 4 : off + 4 + n8]), "little")
    curve = _BY_Q.get(q)
    if curve is None or _n8(curve) != n8:
        raise FormatError(f"ptau{what}: section 1 (header) at offset {off + 4}: unknown base-field prime {q}")
    power, ceremony_power = struct.unpack_from("<II", data, off + 4 + n8)
    if not 1 <= power <= 28:
        raise FormatError(f"ptau{what}: section 1 (header) at offset {off + 4 + n8}: power {power} out of range 1..28")
    g1, g2 = 2 * n8, 4 * n8
    m = 1 << power
    _check_size(sections, 2, (2 * m - 1) * g1, what)
    _check_size(sections, 3, m * g2, what)
    _check_size(sections, 4, m * g1, what)
    _check_size(sections, 5, m * g1, what)
    _check_size(sections, 6, g2, what)
    _check_size(sections, 12, (4 * m - 1) * g1, what)
    _check_size(sections, 13, (2 * m - 1) * g2, what)
    _check_size(sections, 14, (2 * m - 1) * g1, what)
    _check_size(sections, 15, (2 * m - 1) * g1, what)
    return PowersOfTau(curve=curve, power=power, ceremony_power=ceremony_power, data=data, sections=sections, source=what.strip())


# --------------------------------------------------------------- the writer
def write_ptau(
    curve: CurveSpec | str,
    power: int,
    sections: dict[int, bytes],
    *,
    ceremony_power: int | None = None,
) -> bytes:
    """Assemble a ``.ptau`` file from raw (Montgomery LE) section payloads 2..7 and optionally 12..15.

    Section 1 (the header) is written here; section sizes are checked against ``power``.
    """
    from .binfile import write_binfile

    spec = CURVES[curve] if isinstance(curve, str) else curve
    n8 = _n8(spec)
    header = struct.pack("<I", n8) + spec.q.to_bytes(n8, "little") + struct.pack("<II", power, ceremony_power or power)
    out = [(1, header)] + [(sid, sections[sid]) for sid in sorted(sections)]
    data = write_binfile(MAGIC, 1, out)
    read_ptau(data)  # size checks
    return data


def _lagrange_scalars(r: int, omega: int, m: int, tau: int, n_powers: int | None = None) -> list[int]:
    """``(1/m) * sum_{j < n_powers} tau^j * omega^(-i j)`` for i < m: the Lagrange basis at tau (or its truncation)."""
    if n_powers is None or n_powers == m:
        # L_i(tau) = omega^i (tau^m - 1) / (m (tau - omega^i))
        zt = (pow(tau, m, r) - 1) % r
        ws = [1] * m
        for i in range(1, m):
            ws[i] = ws[i - 1] * omega % r
        from ..fields import batch_inverse, get_field

        fr = next(f for f in (get_field("bn254"), get_field("bls12-381")) if f.modulus == r)
        inv = batch_inverse(fr, [(tau - w) % r for w in ws])
        minv = pow(m, -1, r)
        return [w * zt % r * iv % r * minv % r for w, iv in zip(ws, inv)]
    # truncated: L_i(tau) - (1/m) * sum_{j >= n_powers} tau^j omega^(-ij)
    full = _lagrange_scalars(r, omega, m, tau)
    minv = pow(m, -1, r)
    oinv = pow(omega, -1, r)
    out = []
    for i in range(m):
        extra = 0
        for j in range(n_powers, m):
            extra += pow(tau, j, r) * pow(oinv, i * j, r)
        out.append((full[i] - extra * minv) % r)
    return out


def _fixed_base_windows(jac, sf_dtype, r: int, scalars: Sequence[int]):
    """``s * G`` for many scalars with 8-bit fixed-base windows, vectorized in numpy.

    A table ``T[j][d] = d * 256^j * G`` (32 x 256 points) turns each scalar
    multiplication into 31 point additions, done for all scalars at once: about
    8x faster than zk-dtypes' element-wise scalar multiplication.
    """
    import numpy as np

    n = len(scalars)
    if n == 0:
        return np.empty(0, dtype=jac)
    digits = np.frombuffer(b"".join((int(s) % r).to_bytes(32, "little") for s in scalars), dtype=np.uint8)
    digits = digits.reshape(n, 32)
    base = np.full(32, jac(1)) * np.array([pow(256, j, r) for j in range(32)], dtype=sf_dtype)
    table = np.empty((32, 256), dtype=base.dtype)
    table[:, 0] = base * sf_dtype(0)
    for d in range(1, 256):
        table[:, d] = table[:, d - 1] + base
    acc = table[0][digits[:, 0]]
    for j in range(1, 32):
        acc = acc + table[j][digits[:, j]]
    return acc


def _fixed_base(curve: CurveSpec, group: str, scalars: Sequence[int]) -> bytes:
    """``s * generator`` for each scalar, as Montgomery LE bytes (vectorized where the backend allows)."""
    r = curve.r
    if curve.name == "bn254":
        import numpy as np
        import zk_dtypes as z

        jac = z.bn254_g1_jacobian_mont if group == "G1" else z.bn254_g2_jacobian_mont
        aff = z.bn254_g1_affine_mont if group == "G1" else z.bn254_g2_affine_mont
        pts = _fixed_base_windows(jac, z.bn254_sf_mont, r, scalars)
        return pts.astype(aff).tobytes()  # zk-dtypes affine Montgomery limbs are exactly the ptau layout
    from ..curves import get_backend

    be = get_backend(curve.name)
    grp = be.g1 if group == "G1" else be.g2
    gen = grp.generator()
    enc = g1_to_lem if group == "G1" else g2_to_lem
    return b"".join(enc(curve, grp.to_affine(grp.mul(gen, s))) for s in scalars)


def generate_insecure_ptau(
    curve: str,
    power: int,
    *,
    lagrange: bool = True,
    secrets_: tuple[int, int, int] | None = None,
) -> bytes:
    """A development ``.ptau`` of ``power`` from random tau, alpha, beta: **insecure**.

    The process that runs this knows the secrets (the "toxic waste"); whoever
    learns them can forge proofs for every circuit keyed from this file. Use
    it for development and tests only; production nodes import a ceremony
    file (``ispc srs import``). ``secrets_`` fixes ``(tau, alpha, beta)``
    (tests). With ``lagrange`` the prepared sections 12–15 are written, which
    snarkjs requires for ``plonk setup``.
    """
    spec = CURVES[curve]
    r = spec.r
    if not 1 <= power <= 20:
        raise ValueError(f"power must be in 1..20 for a development SRS, got {power}")
    if secrets_ is None:
        tau, alpha, beta = (secrets.randbelow(r - 2) + 2 for _ in range(3))
    else:
        tau, alpha, beta = (s % r for s in secrets_)
    m = 1 << power
    tp = [1] * (2 * m - 1)
    for i in range(1, 2 * m - 1):
        tp[i] = tp[i - 1] * tau % r
    sec = {
        2: _fixed_base(spec, "G1", tp),
        3: _fixed_base(spec, "G2", tp[:m]),
        4: _fixed_base(spec, "G1", [alpha * t % r for t in tp[:m]]),
        5: _fixed_base(spec, "G1", [beta * t % r for t in tp[:m]]),
        6: _fixed_base(spec, "G2", [beta]),
        7: struct.pack("<I", 0),
    }
    if lagrange:
        from ..fields import get_field

        fr = get_field(curve)
        l1, l2, l3, l4 = [], [], [], []
        for p in range(power + 2):
            size = 1 << p
            omega = fr.root_of_unity(size)
            if p == power + 1:
                ls = _lagrange_scalars(r, omega, size, tau, size - 1)
                l1 += ls
                continue
            ls = _lagrange_scalars(r, omega, size, tau)
            l1 += ls
            l2 += ls
            l3 += [alpha * v % r for v in ls]
            l4 += [beta * v % r for v in ls]
        sec[12] = _fixed_base(spec, "G1", l1)
        sec[13] = _fixed_base(spec, "G2", l2)
        sec[14] = _fixed_base(spec, "G1", l3)
        sec[15] = _fixed_base(spec, "G1", l4)
    return write_ptau(spec, power, sec)
