"""snarkjs JSON documents: ``proof.json`` (groth16), ``public.json``, ``verification_key.json`` (groth16).

Points are parsed through a curve backend (``get_backend(curve)``), so every
point is range-, curve- and subgroup-checked; numbers are decimal strings.
Curve names: snarkjs says "bn128" / "bls12381", this package "bn254" / "bls12-381";
both spellings are accepted on input, snarkjs spelling is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from ..curves import CURVES, CurveBackend, get_backend
from ..errors import FormatError, UnknownCurve
from ..fields import get_field

_ALIASES = {"bn128": "bn254", "bn254": "bn254", "alt_bn128": "bn254", "bls12381": "bls12-381", "bls12-381": "bls12-381"}


def curve_from_snarkjs(name: Any) -> str:
    """Normalize a curve name ("bn128" -> "bn254", "bls12381" -> "bls12-381")."""
    if not isinstance(name, str) or name.lower() not in _ALIASES:
        raise UnknownCurve(str(name), list(CURVES) + ["bn128", "bls12381"])
    return _ALIASES[name.lower()]


def _field(obj: dict, key: str, what: str):
    if not isinstance(obj, dict):
        raise FormatError(f"{what}: expected a JSON object")
    if key not in obj:
        raise FormatError(f"{what}: missing field {key!r}")
    return obj[key]



@dataclass
class Groth16Proof:
    """A Groth16 proof ``(A in G1, B in G2, C in G1)`` as backend points."""

    curve: str
    a: Any
    b: Any
    c: Any


@dataclass
class Groth16VerificationKey:
    """A Groth16 verification key as backend points; ``alphabeta_12`` kept as snarkjs wrote it (or None)."""

    curve: str
    n_public: int
    alpha_1: Any
    beta_2: Any
    gamma_2: Any
    delta_2: Any
    ic: list
    alphabeta_12: Any = None


def groth16_proof_to_json(proof: Groth16Proof, backend: CurveBackend | None = None) -> dict:
    """``proof.json`` object."""
    be = backend or get_backend(proof.curve)
    return {
        "pi_a": be.g1.to_snarkjs(proof.a),
        "pi_b": be.g2.to_snarkjs(proof.b),
        "pi_c": be.g1.to_snarkjs(proof.c),
        "protocol": "groth16",
        "curve": be.curve.snarkjs_name,
    }


def groth16_proof_from_json(obj: dict, backend: CurveBackend | None = None) -> Groth16Proof:
    """Parse ``proof.json`` (all points checked); :class:`FormatError` / :class:`InvalidPoint` on bad input."""
    proto = _field(obj, "protocol", "proof.json")
    if proto != "groth16":
        raise FormatError(f"proof.json: protocol is {proto!r}, expected 'groth16'")
    curve = curve_from_snarkjs(_field(obj, "curve", "proof.json"))
    be = backend or get_backend(curve)
    if be.curve.name != curve:
        raise FormatError(f"proof.json: curve {curve} but backend is for {be.curve.name}")
    return Groth16Proof(
        curve,
        be.g1.from_snarkjs(_field(obj, "pi_a", "proof.json")),
        be.g2.from_snarkjs(_field(obj, "pi_b", "proof.json")),
        be.g1.from_snarkjs(_field(obj, "pi_c", "proof.json")),
    )


def public_to_json(values: Sequence[int]) -> list[str]:
    """``public.json`` (decimal strings)."""
    return [str(int(v)) for v in values]


def public_from_json(obj, curve: str) -> list[int]:
    """Parse ``public.json``: a list of decimal strings, each below the scalar field modulus."""
    r = get_field(curve_from_snarkjs(curve)).modulus
    if not isinstance(obj, list):
        raise FormatError("public.json: expected a list of decimal strings")
    out = []
    for i, s in enumerate(obj):
        if not isinstance(s, str) or not s.isdigit():
            raise FormatError(f"public.json: entry {i} is not a decimal string")
        v = int(s)
        if v >= r:
            raise FormatError(f"public.json: entry {i} is not below the scalar field modulus")
        out.append(v)
    return out


def _check_gt(obj, q: int):
    ok = (
        isinstance(obj, list)
        and len(obj) == 2
        and all(isinstance(a, list) and len(a) == 3 for a in obj)
        and all(isinstance(b, list) and len(b) == 2 for a in obj for b in a)
        and all(isinstance(c, str) and c.isdigit() and int(c) < q for a in obj for b in a for c in b)
    )
    if not ok:
        raise FormatError("verification_key.json: vk_alphabeta_12 is not a 2x3x2 array of field elements")
    return obj


def groth16_vk_to_json(vk: Groth16VerificationKey, backend: CurveBackend | None = None) -> dict:
    """``verification_key.json`` object (snarkjs field order)."""
    be = backend or get_backend(vk.curve)
    out = {
        "protocol": "groth16",
        "curve": be.curve.snarkjs_name,
        "nPublic": vk.n_public,
        "vk_alpha_1": be.g1.to_snarkjs(vk.alpha_1),
        "vk_beta_2": be.g2.to_snarkjs(vk.beta_2),
        "vk_gamma_2": be.g2.to_snarkjs(vk.gamma_2),
        "vk_delta_2": be.g2.to_snarkjs(vk.delta_2),
    }
    if vk.alphabeta_12 is not None:
        out["vk_alphabeta_12"] = vk.alphabeta_12
    out["IC"] = [be.g1.to_snarkjs(p) for p in vk.ic]
    return out


def groth16_vk_from_json(obj: dict, backend: CurveBackend | None = None) -> Groth16VerificationKey:
    """Parse a groth16 ``verification_key.json`` (all points checked, ``len(IC) == nPublic + 1``)."""
    what = "verification_key.json"
    proto = _field(obj, "protocol", what)
    if proto != "groth16":
        raise FormatError(f"{what}: protocol is {proto!r}, expected 'groth16'")
    curve = curve_from_snarkjs(_field(obj, "curve", what))
    be = backend or get_backend(curve)
    n_public = _field(obj, "nPublic", what)
    if not isinstance(n_public, int) or isinstance(n_public, bool) or n_public < 0:
        raise FormatError(f"{what}: nPublic must be a non-negative integer")
    ic_raw = _field(obj, "IC", what)
    if not isinstance(ic_raw, list) or len(ic_raw) != n_public + 1:
        raise FormatError(f"{what}: IC must have nPublic + 1 = {n_public + 1} points")
    ab = obj.get("vk_alphabeta_12")
    return Groth16VerificationKey(
        curve=curve,
        n_public=n_public,
        alpha_1=be.g1.from_snarkjs(_field(obj, "vk_alpha_1", what)),
        beta_2=be.g2.from_snarkjs(_field(obj, "vk_beta_2", what)),
        gamma_2=be.g2.from_snarkjs(_field(obj, "vk_gamma_2", what)),
        delta_2=be.g2.from_snarkjs(_field(obj, "vk_delta_2", what)),
        ic=[be.g1.from_snarkjs(p) for p in ic_raw],
        alphabeta_12=None if ab is None else _check_gt(ab, be.curve.q),
    )


def dumps(obj) -> str:
    """JSON text as snarkjs writes it (indent 1)."""
    return json.dumps(obj, indent=1)
