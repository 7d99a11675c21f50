"""File-level Groth16 operations in the circom/snarkjs formats (what ``ispc zk`` runs).

* :func:`setup_files` — ``.r1cs`` → ``circuit.zkey`` + ``verification_key.json`` (development setup,
  or from a prepared powers-of-tau file is not supported: use ``snarkjs groth16 setup`` and
  import the ``.zkey``);
* :func:`prove_files` — key directory (or ``.zkey`` file) + ``.wtns`` → ``proof.json``, ``public.json``;
* :func:`verify_files` — ``verification_key.json``, ``public.json``, ``proof.json`` → bool;
* :func:`import_zkey` — a snarkjs ``.zkey`` (e.g. from a multi-party ceremony) into a key store.

Every reader raises :class:`~ispc_core.zk.errors.FormatError` or
:class:`~ispc_core.zk.errors.InvalidPoint` for malformed input, naming what is
wrong; a truncated, garbled or unreadable key file (``.zkey``, the key
directory's ``circuit.r1cs``) raises :class:`~ispc_groth16.keystore.CorruptKeyFile`
(a ``FormatError`` and an :class:`ispc_core.errors.CorruptData`) naming the
file and, for a ``.zkey``, the section. A ``.zkey`` from outside has every point
checked (range, on-curve, subgroup: :func:`~ispc_core.zk.formats.zkey.check_points`)
before it is used, so a flipped byte fails here, not in a later verification.
Nothing is written unless everything succeeded.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable

from ispc_core.zk.errors import ConstraintUnsatisfied, FormatError
from ispc_core.node.files import write_atomic
from ispc_core.zk.formats import read_r1cs, read_wtns
from ispc_core.zk.formats.snarkjs_json import curve_from_snarkjs, public_from_json, public_to_json
from ispc_core.zk.formats.zkey import write_zkey

from .data_structures import Proof, VerifyingKey
from .generator import generate_parameters
from .keystore import CorruptKeyFile, corrupt, load_zkey_file, read_key_file
from .prover import create_proof, prepare_proving_key
from .verifier import verify_proof

ZKEY_NAME = "circuit.zkey"
VK_NAME = "verification_key.json"

__all__ = ["setup_files", "prove_files", "verify_files", "import_zkey", "find_zkey", "alphabeta_12"]


# ---- vk_alphabeta_12 --------------------------------------------------------------------
#: snarkjs' (ffjavascript's) pairing is a fixed power of the reduced optimal ate pairing of
#: py_ecc: its final exponentiation's hard part computes f^(λ (q^4 - q^2 + 1) / r) with
#: λ = 2x(6x² + 3x + 1) on bn254 (Fuentes-Castañeda et al.), and gives f^-3 on bls12-381
#: (checked against `snarkjs zkey export verificationkey` 0.7.6 in the interop tests)
_BN_X = 4965661367192848881
_GT_POWER = {"bn254": 2 * _BN_X * (6 * _BN_X * _BN_X + 3 * _BN_X + 1), "bls12-381": -3}
#: w^6 = ξ in py_ecc's Fq12 = Fq[w] / (w^12 - 2 ξ0 w^6 + |ξ|²): ξ = 9 + u (bn254), 1 + u (bls12-381)
_XI0 = {"bn254": 9, "bls12-381": 1}


def _gt_to_snarkjs(curve: str, coeffs: list[int], q: int) -> list:
    """py_ecc Fq12 coefficients (basis w^0..w^11) → snarkjs' tower layout ``[c0, c1]`` of
    Fq6 ``[b0, b1, b2]`` of Fq2 ``[a0, a1]`` (decimal strings), with v = w², u = w^6 - ξ0."""
    xi0 = _XI0[curve]
    out = []
    for j in range(2):  # Fq12 = Fq6 + Fq6 · w
        row = []
        for k in range(3):  # Fq6 = Fq2 + Fq2 · v + Fq2 · v²
            e = 2 * k + j
            a1 = coeffs[e + 6] % q
            a0 = (coeffs[e] + xi0 * coeffs[e + 6]) % q
            row.append([str(a0), str(a1)])
        out.append(row)
    return out


@functools.lru_cache(maxsize=64)
def _alphabeta_cached(curve: str, alpha, beta) -> str:
    if alpha is None or beta is None:
        return json.dumps([[["1", "0"], ["0", "0"], ["0", "0"]], [["0", "0"], ["0", "0"], ["0", "0"]]])
    if curve == "bn254":
        from py_ecc import optimized_bn128 as m
    else:
        from py_ecc import optimized_bls12_381 as m
    p = (m.FQ(alpha[0]), m.FQ(alpha[1]), m.FQ.one())
    (x0, x1), (y0, y1) = beta
    qq = (m.FQ2([x0, x1]), m.FQ2([y0, y1]), m.FQ2.one())
    f = m.pairing(qq, p)
    power = _GT_POWER[curve]
    f = f ** power if power > 0 else (f ** -power).inv()
    return json.dumps(_gt_to_snarkjs(curve, [int(c) for c in f.coeffs], m.field_modulus))


def alphabeta_12(vk) -> list:
    """``vk_alphabeta_12`` of a verifying key as snarkjs writes it: e(alpha_1, beta_2) in Fq12 (~0.3 s, cached)."""
    from ispc_core.zk.curves import get_backend

    be = get_backend(vk.curve)
    return json.loads(_alphabeta_cached(vk.curve, be.g1.to_affine(vk.alpha_1), be.g2.to_affine(vk.beta_2)))


def _read(path: Any, what: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{what}: no such file {p}")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise FormatError(f"{what}: cannot read {p} ({exc.strerror or type(exc).__name__}); fix its permissions") from None


_FIX_FILE = "make the key again (`ispc zk setup`) or fetch an intact copy"


def _load_zkey(path: Path):
    if not path.is_file():
        raise FormatError(f"zkey: no such file {path}")
    return load_zkey_file(path, read_key_file(path, fix=_FIX_FILE), subgroup="batch", fix=_FIX_FILE)



def setup_files(r1cs_path, out_dir, *, curve: str | None = None, ptau=None, progress: Callable | None = None) -> dict:
    """Development setup for a ``.r1cs``: writes ``circuit.zkey`` and ``verification_key.json`` into ``out_dir``.

    ``curve`` (optional) must match the field of the ``.r1cs``. ``ptau`` is not
    supported by this prover: for a ceremony-based key run ``snarkjs groth16 setup``
    and use the ``.zkey`` it writes (``prove_files`` accepts it as is).
    """
    if ptau is not None:
        raise FormatError(
            "groth16 setup from a powers-of-tau file is not implemented here; run `snarkjs groth16 setup "
            "CIRCUIT.r1cs FILE.ptau circuit.zkey` and pass that .zkey (or its directory) to `ispc zk prove`"
        )
    r1cs_raw = _read(r1cs_path, "r1cs")
    r1cs = read_r1cs(r1cs_raw)
    field_curve = r1cs.field.name
    if curve is not None and curve_from_snarkjs(curve) != field_curve:
        raise FormatError(f"r1cs: the constraint system is over the {field_curve} scalar field, not {curve}")
    pk = generate_parameters(r1cs, field_curve, progress=progress)
    out = Path(out_dir)
    zkey_path, vk_path = out / ZKEY_NAME, out / VK_NAME
    write_atomic(zkey_path, write_zkey(pk.zkey))
    write_atomic(vk_path, json.dumps(pk.vk.to_json(), indent=1).encode())
    write_atomic(out / "circuit.r1cs", r1cs_raw)  # lets prove_files name a failing constraint
    return {
        "scheme": "groth16",
        "curve": field_curve,
        "constraints": len(r1cs.constraints),
        "domain_size": pk.domain_size,
        "n_public": pk.n_public,
        "proving_key": str(zkey_path),
        "verification_key": str(vk_path),
        "verification_key_hash": pk.vk.hash().hex(),
    }


def find_zkey(key_dir) -> Path:
    """The ``.zkey`` of a key directory (``circuit.zkey``, ``proving_key.zkey`` or the only ``*.zkey``), or the file itself."""
    p = Path(key_dir)
    if p.is_file():
        return p
    for name in (ZKEY_NAME, "proving_key.zkey"):
        if (p / name).is_file():
            return p / name
    found = sorted(p.glob("*.zkey")) if p.is_dir() else []
    if len(found) == 1:
        return found[0]
    raise FormatError(f"{p}: expected a .zkey file or a directory holding exactly one")


def prove_files(key_dir, wtns_path) -> tuple[dict, list[str]]:
    """Prove with the ``.zkey`` in ``key_dir`` and a ``.wtns``; returns ``(proof.json, public.json)``.

    When the directory also holds the ``.r1cs`` (``circuit.r1cs``), the witness is
    checked against it first (:class:`ConstraintUnsatisfied` names the failing
    constraint); otherwise the proof is verified before it is returned, and a
    witness that does not satisfy the circuit raises :class:`ConstraintUnsatisfied`.
    """
    zkey_path = find_zkey(key_dir)
    z, pk = _load_zkey(zkey_path)
    field, witness = read_wtns(_read(wtns_path, "wtns"))
    if field.modulus != z.curve.r:
        raise FormatError(f"wtns: the witness is over the {field.name} field, the key is for {z.curve.name}")
    if len(witness) != z.n_vars:
        raise FormatError(f"wtns: {len(witness)} values, the key's circuit has {z.n_vars} wires")
    r1cs_path = zkey_path.parent / "circuit.r1cs"
    if r1cs_path.is_file():
        try:
            r1cs = read_r1cs(read_key_file(r1cs_path, fix=_FIX_FILE))
        except FormatError as exc:
            if isinstance(exc, CorruptKeyFile):
                raise
            raise corrupt(r1cs_path, str(exc), fix=f"remove it (proofs are then checked by verification) or {_FIX_FILE}") from None
        r1cs.check(witness)
    proof = create_proof(prepare_proving_key(pk), witness)
    public = witness[1 : 1 + z.n_public]
    if not r1cs_path.is_file() and not verify_proof(pk.vk, proof, public):
        raise ConstraintUnsatisfied("the witness does not satisfy the circuit of this key (its proof does not verify)")
    return proof.to_json(), public_to_json(public)


def verify_files(vk_json: Any, public_json: Any, proof_json: Any) -> bool:
    """Verify snarkjs documents (already parsed JSON); :class:`FormatError` / :class:`InvalidPoint` if malformed."""
    vk = VerifyingKey.from_json(vk_json)
    proof = Proof.from_json(proof_json)
    if proof.curve != vk.curve:
        raise FormatError(f"proof.json is for {proof.curve}, verification_key.json for {vk.curve}")
    public = public_from_json(public_json, vk.curve)
    if len(public) != vk.n_public:
        raise FormatError(f"public.json has {len(public)} values, the verification key expects {vk.n_public}")
    return verify_proof(vk, proof, public)


def import_zkey(zkey_path, keystore, circuit_id: str, *, r1cs=None) -> bytes:
    """Store a snarkjs ``.zkey`` as the key of ``circuit_id`` in ``keystore``; returns its vk hash.

    With ``r1cs`` (an :class:`~ispc_core.zk.r1cs.R1CS`) the key must have been
    made for it: same field, wire and public counts, and identical A/B
    coefficient rows (snarkjs derives them from the ``.r1cs`` exactly as
    :func:`~ispc_groth16.r1cs_to_qap.coefficient_rows` does).
    """
    from ispc_core.zk.formats import write_r1cs

    from .r1cs_to_qap import domain_size, r1cs_coefficients

    z, pk = _load_zkey(Path(zkey_path))
    r1cs_bytes = None
    if r1cs is not None:
        if r1cs.field.modulus != z.curve.r:
            raise FormatError(f"zkey: the key is for {z.curve.name}, the circuit over {r1cs.field.name}")
        if (z.n_vars, z.n_public) != (r1cs.n_wires, r1cs.n_public) or z.domain_size != domain_size(len(r1cs.constraints), r1cs.n_public):
            raise FormatError(f"zkey: made for another circuit (wires/public/domain differ from {circuit_id})")
        if r1cs_coefficients(r1cs, z.curve).tobytes() != z.coefs.tobytes():
            raise FormatError(f"zkey: its A/B coefficients differ from the constraint system of {circuit_id}")
        r1cs_bytes = write_r1cs(r1cs)
    return keystore.save(circuit_id, z.curve.name, pk, r1cs_bytes=r1cs_bytes, origin="zkey-import")
