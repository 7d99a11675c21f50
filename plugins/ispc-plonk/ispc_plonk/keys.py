"""PLONK circuit keys derived deterministically from (SRS, circuit).

:func:`derive_keys` turns a :class:`~ispc_plonk.circuit.PlonkCircuit` and a
powers-of-tau file into a :class:`ProvingKey` and a
:class:`~ispc_core.zk.formats.plonk_json.PlonkVerificationKey`: the selector
and permutation polynomials are interpolated on the domain and committed with
the SRS' tauG1 powers (the same points snarkjs gets from the Lagrange
section: ``sum q_i L_i(tau) G = commit(intt(q))``). No randomness is involved,
so every node with the same SRS and circuit derives the same verifying key and
the same :func:`vk_hash`.

:func:`vk_hash` is sha256 of :func:`vk_canonical_bytes`: a domain tag, the
curve name, nPublic, power, k1, k2 (32-byte big-endian), the eight G1
commitments and ``X_2`` in the curve layer's compressed encodings.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ispc_core.zk.curves import get_backend
from ispc_core.zk.curves.params import CURVES
from ispc_core.zk.fields import PrimeField, get_field
from ispc_core.zk.formats.plonk_json import VK_POINTS, PlonkVerificationKey
from ispc_core.zk.ntt import coset_ntt, intt, ntt, powers

from .circuit import PlonkCircuit

__all__ = ["ProvingKey", "derive_keys", "vk_canonical_bytes", "vk_hash", "load_tau_g1", "commit"]

VK_TAG = b"ispc-plonk-vk-v1\x00"


def vk_canonical_bytes(vk: PlonkVerificationKey) -> bytes:
    """The canonical encoding of a verifying key (input of :func:`vk_hash`)."""
    be = get_backend(vk.curve, prefer="reference")
    spec = CURVES[vk.curve]
    from ispc_core.zk.curves import serialization as ser

    out = [VK_TAG, vk.curve.encode() + b"\x00", struct.pack(">II", vk.n_public, vk.power)]
    out += [vk.k1.to_bytes(32, "big"), vk.k2.to_bytes(32, "big")]
    out += [ser.g1_to_bytes(spec, vk.points[k], True) for k in VK_POINTS]
    out.append(ser.g2_to_bytes(spec, vk.x_2, True))
    del be
    return b"".join(out)


def vk_hash(vk: PlonkVerificationKey) -> bytes:
    """sha256 of :func:`vk_canonical_bytes` (the ``verification_key_hash`` of proofs)."""
    return hashlib.sha256(vk_canonical_bytes(vk)).digest()


def load_tau_g1(srs, count: int, backend):
    """The first ``count`` tauG1 points of a :class:`~ispc_core.zk.formats.ptau.PowersOfTau`, in MSM form.

    bn254 on zk-dtypes: the ptau bytes (Montgomery little-endian affine) are
    exactly the zk-dtypes affine layout, so they are viewed, not converted.
    The file is trusted here: ``ispc srs import`` validates it.
    """
    if backend.name == "zkdtypes":
        import zk_dtypes as z

        raw = srs.tau_g1_lem(count)
        return np.frombuffer(raw, dtype=np.uint8).copy().view(z.bn254_g1_affine_mont)
    return backend.g1.batch_from_affine(srs.tau_g1(count), check=False)


def commit(backend, tau_g1, coeffs) -> Any:
    """KZG commitment ``sum coeffs[i] * tau^i G1`` (a backend point)."""
    k = len(coeffs)
    pts = tau_g1[:k]
    return backend.g1.msm(pts, coeffs)


@dataclass
class ProvingKey:
    """Everything the prover needs for one circuit on one curve.

    ``coefs`` holds the monomial coefficients (length n) of ``qm, ql, qr, qo,
    qc, s1, s2, s3``; ``sigma_h`` the permutation values on the domain;
    ``tau_g1`` the first ``n + 6`` SRS powers in MSM form. The 4n-coset
    evaluations are computed on first use (:meth:`coset`).
    """

    curve: str
    power: int
    n_public: int
    n_vars: int
    n_witness: int
    sl: np.ndarray
    sr: np.ndarray
    so: np.ndarray
    additions: list
    k1: int
    k2: int
    coefs: dict[str, np.ndarray]
    tau_g1: Any
    vk: PlonkVerificationKey
    gate_source: list = field(default_factory=list)
    constraint_labels: list = field(default_factory=list)
    _coset: dict = field(default_factory=dict, repr=False)
    _sigma_h: Any = field(default=None, repr=False)

    @property
    def field(self) -> PrimeField:
        """The scalar field."""
        return get_field(self.curve)

    @property
    def n(self) -> int:
        """Domain size."""
        return 1 << self.power

    @property
    def n_gates(self) -> int:
        """Gate rows before padding."""
        return len(self.sl)

    @property
    def sigma_h(self) -> tuple:
        """``(S1, S2, S3)`` on the domain (field arrays)."""
        if self._sigma_h is None:
            f = self.field
            self._sigma_h = tuple(ntt(f, self.coefs[k]) for k in ("s1", "s2", "s3"))
        return self._sigma_h

    def selector_h(self, name: str) -> np.ndarray:
        """A selector's values on the domain."""
        return ntt(self.field, self.coefs[name])

    def coset(self) -> dict:
        """Evaluations on the coset ``g * <w_4n>`` (``g`` = the field generator) of every fixed polynomial.

        Keys: the eight polynomials, ``x`` (the coset points), ``l1`` (the first
        Lagrange polynomial), ``zh_inv`` (``1 / (x^n - 1)``).
        """
        if self._coset:
            return self._coset
        f = self.field
        n = self.n
        g = f.generator
        big = 4 * n
        zeros = np.zeros(3 * n, dtype=f.dtype)
        out = {}
        for k, c in self.coefs.items():
            out[k] = coset_ntt(f, np.concatenate([c, zeros]), g)
        x = powers(f, f.root_of_unity(big), big) * f.to_array([g])
        out["x"] = x
        r = f.modulus
        gn = pow(g, n, r)
        w4 = f.root_of_unity(4)
        zh = [(gn * pow(w4, i, r) - 1) % r for i in range(4)]
        zh_inv = [pow(v, -1, r) for v in zh]
        out["zh_inv"] = np.tile(f.to_array(zh_inv), n)
        # L1(x) = (x^n - 1) / (n (x - 1))
        one = f.to_array([1])
        zh_arr = np.tile(f.to_array(zh), n)
        out["l1"] = zh_arr * (1 / ((x - one) * f.to_array([n])))
        self._coset = out
        return out


def derive_keys(circuit: PlonkCircuit, srs, backend=None) -> ProvingKey:
    """Derive the proving key (with its verifying key) of ``circuit`` from the SRS ``srs``.

    Raises :class:`~ispc_core.zk.errors.FormatError` naming the power needed
    when the SRS is too small, or when its curve is not the circuit's.
    """
    from ispc_core.zk.errors import FormatError

    f = circuit.field
    curve = f.name
    if srs.curve.name != curve:
        raise FormatError(f"the SRS is for {srs.curve.name}, the circuit for {curve}")
    be = backend or get_backend(curve)
    n = circuit.domain_size
    srs.check_power(n)
    tau = load_tau_g1(srs, n + 6, be)
    coefs = {k: intt(f, circuit.selector_evals(k)) for k in ("qm", "ql", "qr", "qo", "qc")}
    s1, s2, s3 = circuit.sigma_evals()
    coefs["s1"], coefs["s2"], coefs["s3"] = intt(f, s1), intt(f, s2), intt(f, s3)
    names = {"qm": "Qm", "ql": "Ql", "qr": "Qr", "qo": "Qo", "qc": "Qc", "s1": "S1", "s2": "S2", "s3": "S3"}
    pts = {names[k]: be.g1.to_affine(commit(be, tau, c)) for k, c in coefs.items()}
    k1, k2 = circuit.k1_k2()
    vk = PlonkVerificationKey(
        curve=curve, n_public=circuit.n_public, power=circuit.power, k1=k1, k2=k2, points=pts, x_2=srs.tau_g2(1)
    )
    pk = ProvingKey(
        curve=curve,
        power=circuit.power,
        n_public=circuit.n_public,
        n_vars=circuit.n_vars,
        n_witness=circuit.n_r1cs_vars,
        sl=circuit.sl,
        sr=circuit.sr,
        so=circuit.so,
        additions=list(circuit.additions),
        k1=k1,
        k2=k2,
        coefs=coefs,
        tau_g1=tau,
        vk=vk,
        gate_source=list(circuit.gate_source),
        constraint_labels=list(circuit.constraint_labels),
    )
    pk._sigma_h = (s1, s2, s3)
    return pk
