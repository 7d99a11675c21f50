"""snarkjs PLONK JSON documents: ``proof.json`` and ``verification_key.json``.

Proof: ``A, B, C, Z, T1, T2, T3, Wxi, Wxiw`` (G1, ``["x", "y", "1"]``),
``eval_a, eval_b, eval_c, eval_s1, eval_s2, eval_zw`` (decimal strings),
``protocol: "plonk"``, ``curve: "bn128" | "bls12381"``.

Verification key: ``protocol: "plonk"``, ``curve``, ``nPublic``, ``power``,
``k1``, ``k2``, ``Qm, Ql, Qr, Qo, Qc, S1, S2, S3`` (G1), ``X_2`` (G2, tau·G2)
and ``w`` (the primitive 2^power-th root of unity, checked against the field).

Points are parsed through a curve backend, so every point is range-, curve-
and subgroup-checked (:class:`~ispc_core.zk.errors.InvalidPoint`); a scalar
that is not a canonical decimal below r, a missing field or a wrong protocol
raises :class:`~ispc_core.zk.errors.FormatError`. The dataclasses keep affine
integer coordinates (backend-neutral).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..curves import CURVES, get_backend
from ..errors import FormatError
from ..fields import get_field
from .snarkjs_json import curve_from_snarkjs

__all__ = [
    "PlonkProof",
    "PlonkVerificationKey",
    "PROOF_POINTS",
    "PROOF_EVALS",
    "VK_POINTS",
    "plonk_proof_to_json",
    "plonk_proof_from_json",
    "plonk_vk_to_json",
    "plonk_vk_from_json",
    "parse_scalar",
]

PROOF_POINTS = ("A", "B", "C", "Z", "T1", "T2", "T3", "Wxi", "Wxiw")
PROOF_EVALS = ("eval_a", "eval_b", "eval_c", "eval_s1", "eval_s2", "eval_zw")
VK_POINTS = ("Qm", "Ql", "Qr", "Qo", "Qc", "S1", "S2", "S3")


@dataclass
class PlonkProof:
    """A PLONK proof: nine G1 commitments (affine ints or None) and six evaluations (ints < r)."""

    curve: str
    points: dict[str, Any]
    evals: dict[str, int]


@dataclass
class PlonkVerificationKey:
    """A PLONK verifying key: selector and permutation commitments, ``X_2 = tau·G2``, k1, k2."""

    curve: str
    n_public: int
    power: int
    k1: int
    k2: int
    points: dict[str, Any]
    x_2: Any
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def domain_size(self) -> int:
        """``2^power``."""
        return 1 << self.power

    @property
    def omega(self) -> int:
        """The primitive ``2^power``-th root of unity (snarkjs' ``w``)."""
        return get_field(self.curve).root_of_unity(self.domain_size)


def _get(obj: dict, key: str, what: str):
    if not isinstance(obj, dict):
        raise FormatError(f"{what}: expected a JSON object")
    if key not in obj:
        raise FormatError(f"{what}: missing field {key!r}")
    return obj[key]


def parse_scalar(v: Any, r: int, what: str) -> int:
    """A canonical scalar: a decimal string (or int) in ``[0, r)``; :class:`FormatError` otherwise."""
    if isinstance(v, bool):
        raise FormatError(f"{what}: expected a decimal string, got a boolean")
    if isinstance(v, int):
        x = v
    elif isinstance(v, str) and v.isascii() and v.isdigit() and (v == "0" or not v.startswith("0")) and len(v) <= 100:
        x = int(v)
    else:
        raise FormatError(f"{what}: expected a canonical decimal string, got {v!r:.60}")
    if not 0 <= x < r:
        raise FormatError(f"{what}: scalar is not below the field order (non-canonical)")
    return x


def _curve(obj: dict, what: str) -> str:
    try:
        return curve_from_snarkjs(_get(obj, "curve", what))
    except FormatError:
        raise
    except Exception as exc:  # UnknownCurve
        raise FormatError(f"{what}: {exc}") from None


def _protocol(obj: dict, what: str) -> None:
    p = _get(obj, "protocol", what)
    if p != "plonk":
        raise FormatError(f"{what}: protocol is {p!r}, expected 'plonk'")


def _point(group, obj, what: str, label: str):
    try:
        return group.to_affine(group.from_snarkjs(obj))
    except FormatError:
        raise
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        if type(exc).__name__ == "InvalidPoint":
            raise type(exc)(f"{what}: {exc}", curve=exc.curve, group=exc.group, check=exc.check) from None
        raise FormatError(f"{what}: malformed {label} point: {exc}") from None


def _g1(be, obj, what: str):
    return _point(be.g1, obj, what, "G1")


def _g2(be, obj, what: str):
    return _point(be.g2, obj, what, "G2")


def _g1_json(p) -> list[str]:
    if p is None:
        return ["0", "1", "0"]
    return [str(p[0]), str(p[1]), "1"]


def _g2_json(p) -> list[list[str]]:
    if p is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    (x0, x1), (y0, y1) = p
    return [[str(x0), str(x1)], [str(y0), str(y1)], ["1", "0"]]


def plonk_proof_to_json(proof: PlonkProof) -> dict:
    """snarkjs ``proof.json`` of a PLONK proof."""
    out: dict[str, Any] = {k: _g1_json(proof.points[k]) for k in PROOF_POINTS}
    out.update({k: str(proof.evals[k]) for k in PROOF_EVALS})
    out["protocol"] = "plonk"
    out["curve"] = CURVES[proof.curve].snarkjs_name
    return out


def plonk_proof_from_json(obj: dict, curve: str | None = None, backend=None) -> PlonkProof:
    """Parse and check a snarkjs PLONK ``proof.json`` (every point checked; scalars canonical)."""
    what = "plonk proof.json"
    if not isinstance(obj, dict):
        raise FormatError(f"{what}: expected a JSON object")
    if "protocol" in obj:
        _protocol(obj, what)
    c = _curve(obj, what) if "curve" in obj else curve
    if c is None:
        raise FormatError(f"{what}: missing field 'curve'")
    if curve is not None and c != curve:
        raise FormatError(f"{what}: curve is {c}, expected {curve}")
    be = backend or get_backend(c)
    r = CURVES[c].r
    pts = {k: _g1(be, _get(obj, k, what), f"{what}: {k}") for k in PROOF_POINTS}
    evs = {k: parse_scalar(_get(obj, k, what), r, f"{what}: {k}") for k in PROOF_EVALS}
    return PlonkProof(curve=c, points=pts, evals=evs)


def plonk_vk_to_json(vk: PlonkVerificationKey) -> dict:
    """snarkjs ``verification_key.json`` of a PLONK key (same fields, same order as snarkjs)."""
    out: dict[str, Any] = {
        "protocol": "plonk",
        "curve": CURVES[vk.curve].snarkjs_name,
        "nPublic": vk.n_public,
        "power": vk.power,
        "k1": str(vk.k1),
        "k2": str(vk.k2),
    }
    out.update({k: _g1_json(vk.points[k]) for k in VK_POINTS})
    out["X_2"] = _g2_json(vk.x_2)
    out["w"] = str(vk.omega)
    return out


def plonk_vk_from_json(obj: dict, backend=None) -> PlonkVerificationKey:
    """Parse and check a snarkjs PLONK ``verification_key.json``."""
    what = "plonk verification_key.json"
    if not isinstance(obj, dict):
        raise FormatError(f"{what}: expected a JSON object")
    _protocol(obj, what)
    c = _curve(obj, what)
    be = backend or get_backend(c)
    r = CURVES[c].r
    n_public = _get(obj, "nPublic", what)
    power = _get(obj, "power", what)
    for name, v in (("nPublic", n_public), ("power", power)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise FormatError(f"{what}: {name} must be a non-negative integer, got {v!r:.40}")
    if not 1 <= power <= get_field(c).two_adicity:
        raise FormatError(f"{what}: power {power} out of range")
    k1 = parse_scalar(_get(obj, "k1", what), r, f"{what}: k1")
    k2 = parse_scalar(_get(obj, "k2", what), r, f"{what}: k2")
    pts = {k: _g1(be, _get(obj, k, what), f"{what}: {k}") for k in VK_POINTS}
    x2 = _g2(be, _get(obj, "X_2", what), f"{what}: X_2")
    vk = PlonkVerificationKey(curve=c, n_public=n_public, power=power, k1=k1, k2=k2, points=pts, x_2=x2)
    if "w" in obj and parse_scalar(obj["w"], r, f"{what}: w") != vk.omega:
        raise FormatError(f"{what}: w is not the 2^{power}-th root of unity of the field")
    return vk
