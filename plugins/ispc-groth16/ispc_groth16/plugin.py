"""The ``groth16`` prover plugin: registration and the prover object the node uses.

:class:`Groth16Prover` implements :class:`ispc_core.specs.Prover`:

* ``prove(instance, curve)`` — ``instance`` has ``circuit_id``, ``version``,
  ``r1cs``, ``witness`` and ``public_inputs`` (e.g. a
  :class:`~ispc_core.zk.circuits.contract_execution.ContractExecutionInstance`).
  The key for (circuit id, curve) comes from the node's key store; if there is
  none, a **development** setup makes one and stores it (``ispc setup`` does
  the same ahead of time). The witness is checked against the R1CS first
  (:class:`~ispc_core.zk.errors.ConstraintUnsatisfied` names the constraint).
* ``verify_batch(artifacts)`` — one verdict per artifact from one multi-pairing
  per key (:mod:`ispc_groth16.batch`), bisected down to the bad ones.
* ``verify(artifact)`` — the verifying key is looked up **by hash** in the local
  key store (never taken from the artifact); malformed proofs or public inputs
  raise :class:`~ispc_core.zk.errors.FormatError` / ``InvalidPoint`` before any pairing.
* ``has_verification_key(hash)``, ``setup(...)``, ``import_zkey(...)``, the
  file operations of :mod:`ispc_groth16.files` for the ``ispc zk`` commands, and
  ``solidity_verifier(vk_json)`` (:mod:`ispc_groth16.solidity`) for
  ``ispc zk export solidityverifier``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

from ispc_core.hookspecs import hookimpl
from ispc_core.specs import ProofArtifact, ProverSpec
from ispc_core.zk.errors import FormatError, UnknownCurve, WitnessError
from ispc_core.zk.formats import write_r1cs

from . import files
from .data_structures import CURVE_CODES, Proof
from .generator import generate_parameters
from .keystore import KeyStore
from .prover import create_proof, prepare_proving_key
from .verifier import prepare_verifying_key, verify_proof

log = logging.getLogger("ispc.groth16")

CURVES = ("bn254", "bls12-381")

__all__ = ["Groth16Prover", "ispc_provers", "CURVES"]


class Groth16Prover:
    """Groth16 over bn254 and bls12-381 with keys in the node's key store (see the module docstring)."""

    scheme = "groth16"

    def __init__(self, keystore_dir: Any):
        self.keystore = KeyStore(keystore_dir)
        self._pk: dict[tuple[str, str], tuple[Any, dict]] = {}
        self._vk: dict[bytes, tuple[Any, dict]] = {}
        self._r1cs_sha: dict[int, tuple[Any, str]] = {}
        self._lock = threading.RLock()

    # ---- keys -------------------------------------------------------------------------
    def _r1cs_digest(self, r1cs) -> tuple[bytes, str]:
        hit = self._r1cs_sha.get(id(r1cs))
        if hit is None or hit[0] is not r1cs:
            data = write_r1cs(r1cs)
            hit = (r1cs, hashlib.sha256(data).hexdigest(), data)
            self._r1cs_sha[id(r1cs)] = hit
        return hit[2], hit[1]

    def setup(self, circuit_id: str, r1cs, curve: str, *, progress=None, force: bool = False) -> bytes:
        """Make (development setup) and store the key of ``circuit_id`` on ``curve``; returns the vk hash.

        An existing key for the same constraint system is kept unless ``force``.
        """
        self._check_curve(curve)
        data, digest = self._r1cs_digest(r1cs)
        with self._lock:
            if not force and self.keystore.has_key(circuit_id, curve):
                meta = self.keystore.meta(circuit_id, curve)
                if meta.get("r1cs_sha256") == digest:
                    return bytes.fromhex(meta["verification_key_hash"])
            log.warning("groth16: single-party development setup for %s on %s (not for production keys)", circuit_id, curve)
            pk = generate_parameters(r1cs, curve, progress=progress)
            vk_hash = self.keystore.save(circuit_id, curve, pk, r1cs_bytes=data, origin="dev-setup")
            self._pk.pop((circuit_id, curve), None)
            return vk_hash

    def import_zkey(self, zkey_path, circuit_id: str, *, r1cs=None) -> bytes:
        """Store a snarkjs ``.zkey`` (e.g. from a ceremony) as the key of ``circuit_id``; returns its vk hash."""
        with self._lock:
            h = files.import_zkey(zkey_path, self.keystore, circuit_id, r1cs=r1cs)
            self._pk = {k: v for k, v in self._pk.items() if k[0] != circuit_id}
            return h

    def _prepared(self, circuit_id: str, curve: str, r1cs) -> tuple[Any, dict]:
        with self._lock:
            hit = self._pk.get((circuit_id, curve))
            if hit is not None:
                return hit
            if r1cs is not None:
                self.setup(circuit_id, r1cs, curve)  # keeps a matching stored key
            elif not self.keystore.has_key(circuit_id, curve):
                raise FormatError(f"no groth16 key for {circuit_id} on {curve} in the key store")
            pk, meta = self.keystore.load_proving_key(circuit_id, curve)
            if r1cs is not None and meta.get("r1cs_sha256") not in (None, self._r1cs_digest(r1cs)[1]):
                raise FormatError(f"the stored key of {circuit_id} on {curve} was made for another constraint system")
            hit = self._pk[(circuit_id, curve)] = (prepare_proving_key(pk), meta)
            return hit

    def has_verification_key(self, vk_hash: bytes) -> bool:
        """True if the local key store holds a verifying key with this hash."""
        return self.keystore.has_verification_key(vk_hash)

    def key_info(self, vk_hash: bytes) -> dict | None:
        """What the local key store records of a verifying key (``circuit_id``, ``curve``, ``r1cs_sha256``), or None."""
        found = self._verifying_key(bytes(vk_hash))
        if found is None:
            return None
        pvk, meta = found
        return {**meta, "curve": pvk.vk.curve}

    def _verifying_key(self, vk_hash: bytes):
        hit = self._vk.get(vk_hash)
        if hit is None:
            found = self.keystore.find_verifying_key(vk_hash)
            if found is None:
                return None
            vk, meta = found
            hit = self._vk[vk_hash] = (prepare_verifying_key(vk), meta)
        return hit

    @staticmethod
    def _check_curve(curve: str) -> None:
        if curve not in CURVE_CODES:
            raise UnknownCurve(str(curve), CURVES)

    # ---- Prover protocol ------------------------------------------------------------------
    def prove(self, instance: Any, curve: str) -> ProofArtifact:
        """Prove one circuit instance (see the module docstring)."""
        self._check_curve(curve)
        if getattr(instance, "curve", curve) != curve:
            raise FormatError(f"the instance was built for {instance.curve}, not {curve}")
        for attr in ("circuit_id", "version", "r1cs", "witness", "public_inputs"):
            if not hasattr(instance, attr):
                raise FormatError(f"a groth16 instance needs {attr!r}; got {type(instance).__name__}")
        t0 = time.perf_counter()
        r1cs = instance.r1cs
        if r1cs.field.modulus != CURVE_FIELD[curve]:
            raise FormatError(f"the instance's constraint system is not over the {curve} scalar field")
        witness = list(instance.witness)
        r1cs.check(witness)  # ConstraintUnsatisfied names the failing constraint
        ppk, meta = self._prepared(instance.circuit_id, curve, r1cs)
        proof = create_proof(ppk, witness)
        public = tuple(witness[1 : 1 + r1cs.n_public])
        if tuple(instance.public_inputs) != public:
            raise WitnessError("the instance's public inputs differ from its witness")
        ms = int((time.perf_counter() - t0) * 1000)
        return ProofArtifact(
            proof=proof.to_bytes(),
            public_inputs=public,
            proving_scheme=self.scheme,
            curve=curve,
            verification_key_hash=bytes.fromhex(meta["verification_key_hash"]),
            circuit_id=instance.circuit_id,
            circuit_version=instance.version,
            constraint_count=len(r1cs.constraints),
            generation_time_ms=ms,
        )

    def _key_for(self, artifact: ProofArtifact):
        """The prepared key ``artifact`` names, or None (another scheme, an unknown key, another curve or circuit)."""
        if artifact.proving_scheme != self.scheme:
            return None
        found = self._verifying_key(bytes(artifact.verification_key_hash))
        if found is None:
            return None
        pvk, meta = found
        if pvk.vk.curve != artifact.curve or meta.get("circuit_id") != artifact.circuit_id:
            return None
        return pvk

    def verify(self, artifact: ProofArtifact) -> bool:
        """Verify against the verifying key the local key store holds under ``artifact.verification_key_hash``."""
        pvk = self._key_for(artifact)
        if pvk is None:
            return False
        proof = Proof.from_bytes(artifact.curve, artifact.proof)
        return verify_proof(pvk, proof, list(artifact.public_inputs))

    def verify_batch(self, artifacts) -> list[bool]:
        """One verdict per artifact, in order, from one random-linear-combination check per key.

        Artifacts are grouped by verifying key (each looked up as
        :meth:`verify` does); each group is checked with one multi-pairing of
        k + 3 pairs (:mod:`ispc_groth16.batch`: 128-bit random scalars,
        soundness error 2^-128 per batch), and a failing group is bisected
        down to the invalid proofs, single ones checked with the normal
        verification. Never raises for a bad artifact: one whose key is
        unknown, whose proof bytes do not decode or whose public inputs are
        malformed is False (:meth:`verify` raises for the last two).
        """
        from .batch import verify_batch_proofs

        artifacts = list(artifacts)
        verdicts = [False] * len(artifacts)
        groups: dict[bytes, tuple[Any, list[int], list]] = {}
        for i, art in enumerate(artifacts):
            try:
                pvk = self._key_for(art)
                if pvk is None:
                    continue
                proof = Proof.from_bytes(art.curve, art.proof)
            except Exception:  # noqa: BLE001 - a malformed proof is an invalid one here
                continue
            group = groups.setdefault(bytes(art.verification_key_hash), (pvk, [], []))
            group[1].append(i)
            group[2].append((proof, list(art.public_inputs)))
        for pvk, index, entries in groups.values():
            for i, ok in zip(index, verify_batch_proofs(pvk, entries)):
                verdicts[i] = ok
        return verdicts

    # ---- files (ispc zk) --------------------------------------------------------------------
    def setup_files(self, r1cs_path, out_dir, *, curve: str | None = None, ptau=None, progress=None) -> dict:
        """``.r1cs`` → ``circuit.zkey`` + ``verification_key.json`` in ``out_dir`` (see :mod:`ispc_groth16.files`)."""
        return files.setup_files(r1cs_path, out_dir, curve=curve, ptau=ptau, progress=progress)

    def prove_files(self, key_dir, wtns_path) -> tuple[dict, list[str]]:
        """Key directory (or ``.zkey``) + ``.wtns`` → ``(proof.json, public.json)``."""
        return files.prove_files(key_dir, wtns_path)

    def verify_files(self, vk_json, public_json, proof_json) -> bool:
        """snarkjs ``verification_key.json``, ``public.json``, ``proof.json`` → valid?"""
        return files.verify_files(vk_json, public_json, proof_json)

    def solidity_verifier(self, vk_json) -> str:
        """The Solidity verifier contract of a bn254 ``verification_key.json`` (see :mod:`ispc_groth16.solidity`)."""
        from .solidity import solidity_verifier

        return solidity_verifier(vk_json)


def _field_moduli() -> dict[str, int]:
    from ispc_core.zk.fields import get_field

    return {c: get_field(c).modulus for c in CURVES}


CURVE_FIELD = _field_moduli()


def _factory(services) -> Groth16Prover:
    try:  # the fastest curve backends the installed plugins offer (ispc_curve_backends)
        from ispc_core.builtins.curves import install_once

        install_once()
    except ImportError:  # an older core without the hook wiring
        pass
    return Groth16Prover(services.keystore_dir)


@hookimpl
def ispc_provers():
    """The ``groth16`` prover (bn254, bls12-381)."""
    return [
        ProverSpec(
            name="groth16",
            curves=CURVES,
            factory=_factory,
            description="Groth16 (snarkjs-compatible .zkey keys, proof.json, verification_key.json); bn254 and bls12-381",
        )
    ]
