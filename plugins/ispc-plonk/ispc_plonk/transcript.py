"""The Fiat–Shamir transcript of snarkjs' PLONK (``Keccak256Transcript.js``).

A challenge is ``keccak256(data) mod r`` where ``data`` concatenates, in the
order they were added since the last reset, G1 points as *uncompressed
big-endian* ``x || y`` (``n8q`` bytes each; the point at infinity is all
zeros) and scalars as 32-byte big-endian integers.

The challenge sequence (prover and verifier alike):

* beta  = H(Qm, Ql, Qr, Qo, Qc, S1, S2, S3, public inputs..., A, B, C)
* gamma = H(beta)
* alpha = H(beta, gamma, Z)
* xi    = H(alpha, T1, T2, T3)
* v     = H(xi, eval_a, eval_b, eval_c, eval_s1, eval_s2, eval_zw); v_i = v^i
* u     = H(Wxi, Wxiw)
"""

from __future__ import annotations

from Crypto.Hash import keccak

from ispc_core.zk.curves.params import CurveSpec

__all__ = ["Keccak256Transcript"]


class Keccak256Transcript:
    """Accumulates points and scalars; :meth:`challenge` hashes them into a field element."""

    def __init__(self, curve: CurveSpec):
        self.curve = curve
        self.n8q = curve.fq_bytes
        self.parts: list[bytes] = []

    def reset(self) -> None:
        """Forget everything added so far."""
        self.parts = []

    def add_point(self, affine) -> None:
        """Add a G1 point given as affine ints ``(x, y)`` (or None for infinity)."""
        if affine is None:
            self.parts.append(bytes(2 * self.n8q))
        else:
            self.parts.append(affine[0].to_bytes(self.n8q, "big") + affine[1].to_bytes(self.n8q, "big"))

    def add_scalar(self, v: int) -> None:
        """Add a scalar (reduced mod r) as 32 big-endian bytes."""
        self.parts.append((int(v) % self.curve.r).to_bytes(32, "big"))

    def challenge(self) -> int:
        """``keccak256(parts) mod r``; raises ``ValueError`` on an empty transcript (as snarkjs)."""
        if not self.parts:
            raise ValueError("Keccak256Transcript: no data to generate a challenge")
        h = keccak.new(digest_bits=256, data=b"".join(self.parts)).digest()
        return int.from_bytes(h, "big") % self.curve.r
