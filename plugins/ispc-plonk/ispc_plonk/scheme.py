"""The ``plonk`` prover the node uses: SRS from configuration, keys in the key store, proofs as bytes.

* SRS: ``[plugin.plonk] ptau = "FILE"`` (relative paths are relative to the
  node home), default ``<keystore_dir>/srs.ptau``. When it is missing the
  prover says which command makes one (``ispc srs new --insecure --power K``
  for development, ``ispc srs import FILE.ptau`` for a ceremony file); it
  never makes one silently.
* Keys: derived deterministically from (SRS, R1CS) on first use and stored
  under ``<keystore_dir>/plonk/<curve>/<circuit key id>/`` — ``proving_key.ispc-zkey``
  (the snarkjs zkey container without its section 13, the public inputs'
  Lagrange polynomials, which grow as public inputs × domain and only
  snarkjs' prover reads; ``ispc zk setup`` writes the whole snarkjs file),
  ``verification_key.json``, ``vk.bin`` (canonical encoding;
  its sha256 is the ``verification_key_hash``), ``meta.json``.
* Verification looks the key up **by hash** in the local store and never
  derives one (an unknown hash is rejected at once: deriving keys for a
  stranger's random hash is unbounded work). A node that shares only the SRS
  and the circuit definitions derives the same keys *ahead of time* with
  :meth:`PlonkProver.derive_known_keys` (``ispc zk keys derive``), for the
  circuits it can build (:data:`CIRCUIT_RESOLVERS`, smallest first).
* Proof bytes (``ZKStateProof.proof``): the nine G1 points compressed (curve
  layer encoding) in the order A, B, C, Z, T1, T2, T3, Wxi, Wxiw, then the six
  evaluations as 32-byte big-endian scalars. Decoding checks every point
  (curve, subgroup) and scalar (canonical) before any pairing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ispc_core.errors import ProofError
from ispc_core.specs import ProofArtifact
from ispc_core.zk.curves import get_backend
from ispc_core.zk.curves.params import CURVES
from ispc_core.zk.errors import ConstraintUnsatisfied, FormatError, UnknownCurve, WitnessError
from ispc_core.zk.formats.plonk_json import (
    PROOF_EVALS,
    PROOF_POINTS,
    PlonkProof,
    plonk_proof_from_json,
    plonk_proof_to_json,
    plonk_vk_from_json,
    plonk_vk_to_json,
)
from ispc_core.zk.formats.ptau import read_ptau, required_power

from .circuit import from_r1cs
from .keys import ProvingKey, derive_keys, vk_canonical_bytes, vk_hash
from .prover import prove as plonk_prove
from .verifier import PreparedKey, verify as plonk_verify
from .zkey import read_zkey, write_zkey

log = logging.getLogger("ispc.plonk")

SCHEME = "plonk"
CURVES_SUPPORTED = ("bn254", "bls12-381")

__all__ = ["PlonkProver", "SRSNotFound", "proof_to_bytes", "proof_from_bytes", "CIRCUIT_RESOLVERS", "srs_id"]


class SRSNotFound(ProofError):
    """No powers-of-tau file where the configuration says; the message names the command that makes one."""

    code = "srs_missing"


def _contract_execution(circuit_id: str, curve: str):
    from ispc_core.zk.circuits import contract_execution as ce

    prefix = f"{ce.CIRCUIT_NAME}.{ce.VERSION}/"
    if not circuit_id.startswith(prefix):
        return None
    cap = int(circuit_id[len(prefix) :])
    return ce.compiled(cap, curve) if cap in ce.CAPACITIES else None


def _contract_execution_ids() -> list[str]:
    from ispc_core.zk.circuits import contract_execution as ce

    return [ce.circuit_id(c) for c in ce.CAPACITIES]


#: circuit-id → R1CS builders for circuits a verifying node can re-derive keys of:
#: ``(list_ids() -> [circuit_id, ...], r1cs(circuit_id, curve) -> R1CS | None)``
CIRCUIT_RESOLVERS: list[tuple[Callable[[], list[str]], Callable[[str, str], Any]]] = [
    (_contract_execution_ids, _contract_execution),
]


# ------------------------------------------------------------------ proof bytes
def proof_to_bytes(proof: PlonkProof) -> bytes:
    """Canonical proof bytes (see the module docstring)."""
    from ispc_core.zk.curves import serialization as ser

    spec = CURVES[proof.curve]
    out = [ser.g1_to_bytes(spec, proof.points[k], True) for k in PROOF_POINTS]
    out += [proof.evals[k].to_bytes(32, "big") for k in PROOF_EVALS]
    return b"".join(out)


def proof_from_bytes(curve: str, data: bytes, backend=None) -> PlonkProof:
    """Decode and check proof bytes: :class:`FormatError` (length, non-canonical scalar) or ``InvalidPoint``."""
    if curve not in CURVES:
        raise UnknownCurve(str(curve), CURVES)
    spec = CURVES[curve]
    be = backend or get_backend(curve)
    n = spec.fq_bytes
    want = 9 * n + 6 * 32
    if not isinstance(data, (bytes, bytearray)) or len(data) != want:
        raise FormatError(f"plonk proof: expected {want} bytes for {curve}, got {len(data) if hasattr(data, '__len__') else '?'}")
    pts = {}
    for i, k in enumerate(PROOF_POINTS):
        p = be.g1.from_bytes(bytes(data[i * n : (i + 1) * n]))
        pts[k] = be.g1.to_affine(p)
    evs = {}
    base = 9 * n
    for i, k in enumerate(PROOF_EVALS):
        v = int.from_bytes(data[base + 32 * i : base + 32 * (i + 1)], "big")
        if v >= spec.r:
            raise FormatError(f"plonk proof: evaluation {k} is not below the field order (non-canonical)")
        evs[k] = v
    return PlonkProof(curve=curve, points=pts, evals=evs)


def srs_id(srs) -> str:
    """A short fingerprint of an SRS: sha256 of its curve and ``tau * G2`` (which fixes every power)."""
    raw = srs.raw(3, 1, 1, srs.g2_size)
    return hashlib.sha256(srs.curve.name.encode() + raw).hexdigest()[:16]


#: the proving key in a key directory, and the name earlier versions gave it (a whole snarkjs zkey)
STORED_PK, LEGACY_PK = "proving_key.ispc-zkey", "proving_key.zkey"


def _key_id(circuit_id: str) -> str:
    safe = circuit_id.replace("/", "-")
    if not safe or safe.startswith(".") or any(c in safe for c in "\\\0"):
        raise ValueError(f"circuit id {circuit_id!r} cannot name a key directory")
    return safe


def _atomic_dir(final: Path, files: dict[str, bytes]) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    if final.exists():
        import shutil

        shutil.rmtree(final)
    os.replace(tmp, final)


class PlonkProver:
    """PLONK over bn254 and bls12-381 (see the module docstring)."""

    scheme = SCHEME

    def __init__(self, keystore_dir: Any, *, ptau: Any = None, home: Any = None, curve: str | None = None):
        self.keystore = Path(keystore_dir)
        self.root = self.keystore / SCHEME
        if ptau:
            p = Path(ptau)
            self.ptau_path = p if p.is_absolute() or home is None else Path(home) / p
        else:
            self.ptau_path = self.keystore / "srs.ptau"
        self.default_curve = curve
        self._srs: dict[str, Any] = {}
        self._pk: dict[tuple[str, str], tuple[ProvingKey, dict]] = {}
        self._vk: dict[bytes, tuple[PreparedKey, dict]] = {}
        self._lock = threading.RLock()

    # ---- SRS -----------------------------------------------------------------------------
    def srs(self, curve: str, domain: int | None = None):
        """The configured SRS for ``curve`` (checked: curve, size for ``domain``)."""
        with self._lock:
            s = self._srs.get("file")
            if s is None:
                if not self.ptau_path.exists():
                    need = f" --power {required_power(domain)}" if domain else ""
                    raise SRSNotFound(
                        f"no PLONK SRS at {self.ptau_path}: import a ceremony file with `ispc srs import FILE.ptau`, "
                        f"or for development only create one with `ispc srs new --insecure --curve {curve}{need}` "
                        f"(or set [plugin.plonk] ptau = \"FILE\")"
                    )
                s = self._srs["file"] = read_ptau(self.ptau_path)
        if s.curve.name != curve:
            raise SRSNotFound(
                f"the PLONK SRS at {self.ptau_path} is for {s.curve.name}, not {curve}: "
                f"create or import one for {curve} (`ispc srs new --insecure --curve {curve} ...`)"
            )
        if domain is not None:
            s.check_power(domain)
        return s

    # ---- keys ----------------------------------------------------------------------------
    def key_dir(self, circuit_id: str, curve: str) -> Path:
        """Where the keys of one (circuit id, curve) live."""
        return self.root / curve / _key_id(circuit_id)

    def _store(self, circuit_id: str, curve: str, pk: ProvingKey, r1cs_sha: str, srs) -> dict:
        h = vk_hash(pk.vk)
        meta = {
            "scheme": SCHEME,
            "circuit_id": circuit_id,
            "curve": curve,
            "verification_key_hash": h.hex(),
            "r1cs_sha256": r1cs_sha,
            "srs_id": srs_id(srs),
            "domain_size": pk.n,
            "gates": pk.n_gates,
        }
        _atomic_dir(
            self.key_dir(circuit_id, curve),
            {
                STORED_PK: write_zkey(pk, srs, lagrange=False),
                "verification_key.json": json.dumps(plonk_vk_to_json(pk.vk), indent=1).encode(),
                "vk.bin": vk_canonical_bytes(pk.vk),
                "meta.json": json.dumps(meta, indent=1).encode(),
            },
        )
        return meta

    def keys(self, circuit_id: str, r1cs, curve: str) -> tuple[ProvingKey, dict]:
        """The proving key of (circuit id, curve): from memory, the key store, or derived and stored."""
        from ispc_core.zk.formats import write_r1cs

        with self._lock:
            hit = self._pk.get((circuit_id, curve))
            if hit is not None:
                return hit
            digest = hashlib.sha256(write_r1cs(r1cs)).hexdigest()
            d = self.key_dir(circuit_id, curve)
            meta = None
            if (d / "meta.json").exists():
                meta = json.loads((d / "meta.json").read_text())
            circuit = from_r1cs(r1cs)
            srs = self.srs(curve, circuit.domain_size)
            stored = next((d / n for n in (STORED_PK, LEGACY_PK) if (d / n).exists()), None)
            if meta and stored and meta.get("r1cs_sha256") == digest and meta.get("srs_id") == srs_id(srs):
                pk = read_zkey(stored)
                pk.gate_source, pk.constraint_labels = circuit.gate_source, circuit.constraint_labels
            else:
                t = time.perf_counter()
                pk = derive_keys(circuit, srs)
                meta = self._store(circuit_id, curve, pk, digest, srs)
                log.info("plonk: derived keys of %s on %s in %.1f s", circuit_id, curve, time.perf_counter() - t)
            hit = self._pk[(circuit_id, curve)] = (pk, meta)
            return hit

    def _stored_metas(self):
        if not self.root.exists():
            return
        for meta_path in sorted(self.root.glob("*/*/meta.json")):
            try:
                yield meta_path.parent, json.loads(meta_path.read_text())
            except (OSError, ValueError):
                continue

    def _find_vk(self, h: bytes):
        hit = self._vk.get(h)
        if hit is not None:
            return hit
        for d, meta in self._stored_metas():
            if meta.get("verification_key_hash") != h.hex():
                continue
            try:
                vk = plonk_vk_from_json(json.loads((d / "verification_key.json").read_text()))
            except (OSError, ValueError):
                continue
            if vk_hash(vk) != h:  # re-hash what is on disk: a tampered file is not this key
                continue
            hit = self._vk[h] = (PreparedKey(vk), meta)
            return hit
        return None

    def derive_known_keys(self, curve: str, *, stop_at: bytes | None = None) -> list[str]:
        """Derive and store the keys of every circuit in :data:`CIRCUIT_RESOLVERS` the SRS can serve.

        Smallest circuits first; stops once a key with hash ``stop_at`` exists.
        Returns the circuit ids derived.
        """
        done = []
        try:
            srs = self.srs(curve)
        except (SRSNotFound, FormatError):
            return done
        for list_ids, resolve in CIRCUIT_RESOLVERS:
            for cid in list_ids():
                if (self.key_dir(cid, curve) / "meta.json").exists():
                    continue
                r1cs = resolve(cid, curve)
                if r1cs is None:
                    continue
                if from_r1cs(r1cs).domain_size + 6 > srs.n_tau_g1:
                    continue
                self.keys(cid, r1cs, curve)
                done.append(cid)
                if stop_at is not None and self._find_vk(stop_at) is not None:
                    return done
        return done

    def has_verification_key(self, vk_hash_: bytes) -> bool:
        """True if the local key store holds the key (never derives one: see :meth:`derive_known_keys`)."""
        return self._find_vk(bytes(vk_hash_)) is not None

    def key_info(self, vk_hash_: bytes) -> dict | None:
        """What the local key store records of a verification key (``circuit_id``, ``curve``, ``r1cs_sha256``), or None."""
        found = self._find_vk(bytes(vk_hash_))
        if found is None:
            return None
        prepared, meta = found
        return {**meta, "curve": prepared.vk.curve}

    def verification_key(self, vk_hash_: bytes):
        """The :class:`PlonkVerificationKey` stored under a hash (None if unknown)."""
        hit = self._find_vk(bytes(vk_hash_))
        return hit[0].vk if hit else None

    # ---- Prover protocol -------------------------------------------------------------------
    def prove(self, instance: Any, curve: str) -> ProofArtifact:
        """Prove a circuit instance (``circuit_id``, ``version``, ``r1cs``, ``witness``, ``public_inputs``)."""
        if curve not in CURVES_SUPPORTED:
            raise UnknownCurve(str(curve), CURVES_SUPPORTED)
        for attr in ("circuit_id", "version", "r1cs", "witness"):
            if not hasattr(instance, attr):
                raise FormatError(f"a plonk instance needs {attr!r}; got {type(instance).__name__}")
        if getattr(instance, "curve", curve) != curve:
            raise FormatError(f"the instance was built for {instance.curve}, not {curve}")
        r1cs = instance.r1cs
        if r1cs.field.name != curve:
            raise FormatError(f"the instance's constraint system is over the {r1cs.field.name} field, not {curve}")
        t0 = time.perf_counter()
        witness = list(instance.witness)
        pk, meta = self.keys(instance.circuit_id, r1cs, curve)
        try:
            proof, public = plonk_prove(pk, witness)
        except ConstraintUnsatisfied:
            r1cs.check(witness)  # names the failing R1CS constraint
            raise
        if hasattr(instance, "public_inputs") and tuple(instance.public_inputs) != tuple(public):
            raise WitnessError("the instance's public inputs differ from its witness")
        return ProofArtifact(
            proof=proof_to_bytes(proof),
            public_inputs=tuple(public),
            proving_scheme=SCHEME,
            curve=curve,
            verification_key_hash=bytes.fromhex(meta["verification_key_hash"]),
            circuit_id=instance.circuit_id,
            circuit_version=instance.version,
            constraint_count=len(r1cs.constraints),
            generation_time_ms=int((time.perf_counter() - t0) * 1000),
        )

    def verify(self, artifact: ProofArtifact) -> bool:
        """Verify against the key the local store holds under ``artifact.verification_key_hash``.

        False for another scheme, an unknown key, a key of another curve or
        circuit, or an invalid proof; malformed proof bytes raise
        :class:`FormatError` / ``InvalidPoint`` (checked before any pairing).
        """
        if artifact.proving_scheme != SCHEME:
            return False
        found = self._find_vk(bytes(artifact.verification_key_hash))
        if found is None:  # unknown keys are rejected at once; keys are derived ahead of time, never here
            return False
        prepared, meta = found
        if prepared.vk.curve != artifact.curve or meta.get("circuit_id") not in (None, artifact.circuit_id):
            return False
        proof = proof_from_bytes(artifact.curve, artifact.proof, prepared.be)
        return plonk_verify(prepared, proof, list(artifact.public_inputs))

    def verify_batch(self, artifacts) -> list[bool]:
        """One verdict per artifact, in order: grouped by key, each group's final KZG pairings combined with
        random 128-bit scalars into one 2-pair check (:func:`ispc_plonk.verifier.batch_check`, soundness
        error 2^-128 per batch), a failing group bisected down to the bad proofs. Never raises for a bad
        artifact (unknown key, undecodable proof: False)."""
        from .verifier import verify_batch as plonk_verify_batch

        artifacts = list(artifacts)
        verdicts = [False] * len(artifacts)
        groups: dict[bytes, tuple[Any, list[int], list]] = {}
        for i, art in enumerate(artifacts):
            try:
                if art.proving_scheme != SCHEME:
                    continue
                found = self._find_vk(bytes(art.verification_key_hash))
                if found is None:
                    continue
                prepared, meta = found
                if prepared.vk.curve != art.curve or meta.get("circuit_id") not in (None, art.circuit_id):
                    continue
                proof = proof_from_bytes(art.curve, art.proof, prepared.be)
            except Exception:  # noqa: BLE001 - a malformed proof is an invalid one here
                continue
            group = groups.setdefault(bytes(art.verification_key_hash), (prepared, [], []))
            group[1].append(i)
            group[2].append((proof, list(art.public_inputs)))
        for prepared, index, entries in groups.values():
            for i, ok in zip(index, plonk_verify_batch(prepared, entries)):
                verdicts[i] = ok
        return verdicts

    # ---- files (ispc zk) ---------------------------------------------------------------------
    def setup_files(self, r1cs_path, out_dir, *, curve: str | None = None, ptau=None, progress=None) -> dict:
        """``.r1cs`` + ``.ptau`` → ``circuit.zkey`` (snarkjs PLONK) + ``verification_key.json`` in ``out_dir``.

        ``ptau`` defaults to the configured SRS. Raises :class:`FormatError`
        (malformed files, SRS too small: names the power needed) before
        writing anything.
        """
        from ispc_core.zk.formats import read_r1cs

        try:
            r1cs = read_r1cs(Path(r1cs_path).read_bytes())
        except OSError as exc:
            raise FormatError(f"cannot read {r1cs_path}: {exc.strerror}") from None
        if curve is not None and r1cs.field.name != curve:
            raise FormatError(f"{Path(r1cs_path).name} is over the {r1cs.field.name} field, not {curve}")
        circuit = from_r1cs(r1cs)
        srs = read_ptau(ptau) if ptau else self.srs(r1cs.field.name, circuit.domain_size)
        if srs.curve.name != r1cs.field.name:
            raise FormatError(f"the ptau file is for {srs.curve.name}, the circuit for {r1cs.field.name}")
        srs.check_power(circuit.domain_size)
        pk = derive_keys(circuit, srs)
        zkey = write_zkey(pk, srs)
        vk_json = plonk_vk_to_json(pk.vk)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "circuit.zkey").write_bytes(zkey)
        (out / "verification_key.json").write_text(json.dumps(vk_json, indent=1))
        return {
            "scheme": SCHEME,
            "curve": pk.curve,
            "zkey": str(out / "circuit.zkey"),
            "verification_key": str(out / "verification_key.json"),
            "verification_key_hash": vk_hash(pk.vk).hex(),
            "gates": pk.n_gates,
            "domain_size": pk.n,
            "constraints": len(r1cs.constraints),
        }

    def prove_files(self, key_dir, wtns_path) -> tuple[dict, list[str]]:
        """A key directory (with ``circuit.zkey``) or a ``.zkey`` (ours or snarkjs'), and a ``.wtns`` → (proof.json, public.json)."""
        from ispc_core.zk.formats import read_wtns

        kd = Path(key_dir)
        zkey = kd if kd.is_file() else next((kd / n for n in ("circuit.zkey", STORED_PK, LEGACY_PK) if (kd / n).exists()), None)
        if zkey is None:
            raise FormatError(f"no circuit.zkey in {kd}")
        pk = read_zkey(zkey)
        try:
            field, witness = read_wtns(Path(wtns_path).read_bytes())
        except OSError as exc:
            raise FormatError(f"cannot read {wtns_path}: {exc.strerror}") from None
        if field.name != pk.curve:
            raise FormatError(f"the witness is over the {field.name} field, the key for {pk.curve}")
        if len(witness) != pk.n_witness:
            raise FormatError(f"the witness has {len(witness)} values, the key's circuit {pk.n_witness} wires")
        proof, public = plonk_prove(pk, witness)
        return plonk_proof_to_json(proof), [str(v) for v in public]

    def verify_files(self, vk_json: dict, public_json: list, proof_json: dict) -> bool:
        """snarkjs PLONK ``verification_key.json``, ``public.json``, ``proof.json`` → valid?

        Malformed documents raise :class:`FormatError` / ``InvalidPoint``.
        """
        from ispc_core.zk.formats import public_from_json

        vk = plonk_vk_from_json(vk_json)
        proof = plonk_proof_from_json(proof_json, vk.curve)
        public = public_from_json(public_json, vk.curve)
        return plonk_verify(vk, proof, public)

    def solidity_verifier(self, vk_json: dict) -> str:
        """The Solidity verifier contract of a bn254 ``verification_key.json`` (see :mod:`ispc_plonk.solidity`)."""
        from .solidity import solidity_verifier

        return solidity_verifier(vk_json)
