"""Groth16 keys and proofs, and their canonical encodings (after arkworks' ``data_structures.rs``).

* :class:`Proof` — ``(A ∈ G1, B ∈ G2, C ∈ G1)``. Canonical bytes: the compressed
  encodings of A, B, C concatenated (bn254: gnark layout, 32 + 64 + 32 = 128
  bytes; bls12-381: ZCash layout, 48 + 96 + 48 = 192 bytes). Decoding checks the
  exact length, coordinate ranges (no encoding ≥ q), curve and subgroup
  membership, so every accepted byte string is the unique encoding of its proof.
* :class:`VerifyingKey` — ``alpha_1, beta_2, gamma_2, delta_2, IC``. Canonical
  bytes: ``b"ISPC-G16-VK\\x01" ‖ u8 curve (0 bn254, 1 bls12-381) ‖ u32 len(IC)``
  then alpha_1, beta_2, gamma_2, delta_2 and every IC point compressed.
  :meth:`VerifyingKey.hash` is sha256 of these bytes — the ``verification_key_hash``
  a proof names.
* :class:`ProvingKey` — the verifying key plus the snarkjs ``.zkey`` contents
  (:class:`ispc_core.zk.formats.zkey.Zkey`): the proving key *is* a zkey, so keys
  interoperate with snarkjs in both directions.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import Any

from ispc_core.zk.curves import get_backend
from ispc_core.zk.errors import FormatError, InvalidPoint
from ispc_core.zk.formats import snarkjs_json as sj
from ispc_core.zk.formats.zkey import Zkey

VK_MAGIC = b"ISPC-G16-VK\x01"
CURVE_CODES = {"bn254": 0, "bls12-381": 1}
CURVE_NAMES = {v: k for k, v in CURVE_CODES.items()}

__all__ = ["Proof", "VerifyingKey", "ProvingKey", "point_sizes"]


def point_sizes(curve: str) -> tuple[int, int]:
    """Compressed byte sizes ``(G1, G2)`` of a curve."""
    return (32, 64) if curve == "bn254" else (48, 96)


def _curve_name(curve: Any) -> str:
    if curve not in CURVE_CODES:
        from ispc_core.zk.errors import UnknownCurve

        raise UnknownCurve(str(curve), CURVE_CODES)
    return curve


@dataclass
class Proof:
    """A Groth16 proof as backend points of ``curve``."""

    curve: str
    a: Any
    b: Any
    c: Any

    def to_bytes(self) -> bytes:
        """Canonical encoding: compressed ``A ‖ B ‖ C``."""
        be = get_backend(self.curve)
        return be.g1.to_bytes(self.a) + be.g2.to_bytes(self.b) + be.g1.to_bytes(self.c)

    @classmethod
    def from_bytes(cls, curve: str, data: bytes) -> "Proof":
        """Decode :meth:`to_bytes` with every check; :class:`FormatError` / :class:`InvalidPoint` on bad input."""
        curve = _curve_name(curve)
        if not isinstance(data, (bytes, bytearray)):
            raise FormatError("groth16 proof: expected bytes")
        s1, s2 = point_sizes(curve)
        if len(data) != 2 * s1 + s2:
            raise FormatError(f"groth16 proof: {len(data)} bytes, a {curve} proof is {2 * s1 + s2} bytes (compressed A, B, C)")
        be = get_backend(curve)
        return cls(
            curve,
            be.g1.from_bytes(bytes(data[:s1])),
            be.g2.from_bytes(bytes(data[s1 : s1 + s2])),
            be.g1.from_bytes(bytes(data[s1 + s2 :])),
        )

    def to_json(self) -> dict:
        """snarkjs ``proof.json``."""
        return sj.groth16_proof_to_json(sj.Groth16Proof(self.curve, self.a, self.b, self.c))

    @classmethod
    def from_json(cls, obj: Any) -> "Proof":
        """Parse snarkjs ``proof.json`` (every point checked)."""
        p = sj.groth16_proof_from_json(obj)
        return cls(p.curve, p.a, p.b, p.c)


@dataclass
class VerifyingKey:
    """A Groth16 verifying key as backend points."""

    curve: str
    alpha_1: Any
    beta_2: Any
    gamma_2: Any
    delta_2: Any
    ic: list
    _hash: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def n_public(self) -> int:
        """Number of public inputs (``len(IC) - 1``)."""
        return len(self.ic) - 1

    def to_bytes(self) -> bytes:
        """Canonical encoding (see the module docstring)."""
        be = get_backend(self.curve)
        parts = [VK_MAGIC, bytes([CURVE_CODES[self.curve]]), struct.pack("<I", len(self.ic))]
        parts += [be.g1.to_bytes(self.alpha_1), be.g2.to_bytes(self.beta_2), be.g2.to_bytes(self.gamma_2), be.g2.to_bytes(self.delta_2)]
        parts += [be.g1.to_bytes(p) for p in self.ic]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> "VerifyingKey":
        """Decode :meth:`to_bytes` (every point checked)."""
        if not isinstance(data, (bytes, bytearray)) or len(data) < len(VK_MAGIC) + 5 or not data.startswith(VK_MAGIC):
            raise FormatError("groth16 verifying key: bad magic or too short")
        pos = len(VK_MAGIC)
        code = data[pos]
        if code not in CURVE_NAMES:
            raise FormatError(f"groth16 verifying key: unknown curve code {code}")
        curve = CURVE_NAMES[code]
        (n_ic,) = struct.unpack_from("<I", data, pos + 1)
        pos += 5
        s1, s2 = point_sizes(curve)
        if n_ic < 1 or len(data) != pos + s1 + 3 * s2 + n_ic * s1:
            raise FormatError("groth16 verifying key: length does not match its IC count")
        be = get_backend(curve)
        alpha = be.g1.from_bytes(bytes(data[pos : pos + s1]))
        pos += s1
        g2 = []
        for _ in range(3):
            g2.append(be.g2.from_bytes(bytes(data[pos : pos + s2])))
            pos += s2
        ic = [be.g1.from_bytes(bytes(data[pos + i * s1 : pos + (i + 1) * s1])) for i in range(n_ic)]
        return cls(curve, alpha, g2[0], g2[1], g2[2], ic)

    def hash(self) -> bytes:
        """sha256 of the canonical encoding: the ``verification_key_hash``."""
        if self._hash is None:
            self._hash = hashlib.sha256(self.to_bytes()).digest()
        return self._hash

    def to_json(self, alphabeta_12: Any = None) -> dict:
        """snarkjs ``verification_key.json``, with ``vk_alphabeta_12`` (e(alpha, beta) in snarkjs' layout;
        computed when not given, see :func:`ispc_groth16.files.alphabeta_12`)."""
        if alphabeta_12 is None:
            from .files import alphabeta_12 as _alphabeta_12

            alphabeta_12 = _alphabeta_12(self)
        return sj.groth16_vk_to_json(
            sj.Groth16VerificationKey(self.curve, self.n_public, self.alpha_1, self.beta_2, self.gamma_2, self.delta_2, list(self.ic), alphabeta_12)
        )

    @classmethod
    def from_json(cls, obj: Any) -> "VerifyingKey":
        """Parse snarkjs ``verification_key.json`` (every point checked)."""
        vk = sj.groth16_vk_from_json(obj)
        return cls(vk.curve, vk.alpha_1, vk.beta_2, vk.gamma_2, vk.delta_2, list(vk.ic))

    @classmethod
    def from_zkey(cls, z: Zkey) -> "VerifyingKey":
        """The verifying key inside a ``.zkey`` (points range-, curve- and subgroup-checked)."""
        be = get_backend(z.curve.name)
        try:
            return cls(
                z.curve.name,
                be.g1.from_affine(z.alpha_1),
                be.g2.from_affine(z.beta_2),
                be.g2.from_affine(z.gamma_2),
                be.g2.from_affine(z.delta_2),
                [be.g1.from_affine(p) for p in z.ic()],
            )
        except InvalidPoint as exc:
            raise InvalidPoint(f"zkey verifying key: {exc}", curve=exc.curve, group=exc.group, check=exc.check) from None


@dataclass
class ProvingKey:
    """A Groth16 proving key: the snarkjs zkey contents and the verifying key they contain."""

    zkey: Zkey
    vk: VerifyingKey

    @property
    def curve(self) -> str:
        """Curve name."""
        return self.vk.curve

    @property
    def n_public(self) -> int:
        """Number of public inputs."""
        return self.zkey.n_public

    @property
    def n_vars(self) -> int:
        """Number of wires (witness length)."""
        return self.zkey.n_vars

    @property
    def domain_size(self) -> int:
        """Size of the evaluation domain."""
        return self.zkey.domain_size

    @classmethod
    def from_zkey(cls, z: Zkey) -> "ProvingKey":
        """Wrap a parsed zkey (its verifying-key points are checked)."""
        return cls(z, VerifyingKey.from_zkey(z))
