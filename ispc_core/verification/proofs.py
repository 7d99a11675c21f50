"""Check 4, the proof: under a circuit the chain pins for the resource's kind, with a key made for that
circuit, over public inputs recomputed from the transaction.

In order:

1. every state output carries the same proof (one proof per execution), or
   none — then only a chain with ``accept_unproven`` accepts it;
2. the proof's circuit belongs to a family the chain's genesis pins for the
   resource's kind (``ChainParams.circuits``) and that a local circuit plugin
   provides;
3. the verification key is in the **local** key store (a key never travels
   with a transaction, and no key is derived here: an unknown hash is rejected
   at once), was made for that circuit id and curve, and for *the* constraint
   system the local circuit plugin compiles (its iden3 ``.r1cs`` sha256);
4. the constraint count and every public input equal what the verifier
   recomputes from the transaction (``CircuitSpec.public_inputs``), exactly;
5. the prover verifies the proof (one pairing check for Groth16).

Many transactions: :func:`batch_verified` checks their proofs with one
``verify_batch`` call per (scheme, curve) — the prover groups them by key —
and :func:`check_proof` then skips the pairing of those that held (``verified=``).

For a binding-only circuit on a chain that lists ``trusted_executors``, the
executor's attestation must be by one of them.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, Callable, Container, Iterable

from ispc_core.errors import IspcError, NotProvided
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.specs import CircuitSpec, ProofArtifact
from ispc_core.verification.report import CheckFailed

NAME = "proof"

_digests: dict[tuple[str, str, int], tuple[str, int]] = {}
_digest_lock = threading.Lock()


def artifact_from_zk(zk: pb.ZKStateProof) -> ProofArtifact:
    """Rebuild the :class:`ProofArtifact` a ``ZKStateProof`` was made from (public inputs: 32-byte big-endian)."""
    for i, raw in enumerate(zk.public_inputs):
        if len(raw) != 32:
            raise ValueError(f"public input {i} is {len(raw)} bytes; each must be 32-byte big-endian")
    return ProofArtifact(
        proof=bytes(zk.proof),
        public_inputs=tuple(int.from_bytes(x, "big") for x in zk.public_inputs),
        proving_scheme=zk.proving_scheme,
        curve=zk.curve,
        verification_key_hash=bytes(zk.verification_key_hash),
        circuit_id=zk.circuit_id,
        circuit_version=zk.circuit_version,
        constraint_count=zk.constraint_count,
        generation_time_ms=zk.generation_time_ms,
    )


def the_proof(tx: pb.Transaction) -> pb.ZKStateProof | None:
    """The execution's one proof (``CheckFailed`` if state outputs carry different ones; None if none does)."""
    proofs = [o.state.zk_proof for o in tx.outputs if o.WhichOneof("content") == "state"]
    carried = [p for p in proofs if p.ByteSize()]
    if not carried:
        return None
    if len(carried) != len(proofs):
        raise CheckFailed(NAME, "some state outputs carry the proof and some do not")
    first = carried[0].SerializeToString(deterministic=True)
    if any(p.SerializeToString(deterministic=True) != first for p in carried[1:]):
        raise CheckFailed(NAME, "the state outputs carry different proofs (an execution has one)")
    return carried[0]


def r1cs_digest(spec: CircuitSpec, circuit_id: str, curve: str, **extra) -> tuple[str, int]:
    """sha256 (hex) of the iden3 ``.r1cs`` of one circuit and its constraint count (cached per process).

    ``extra`` (``code=``, ``tx=``) goes to ``spec.compile`` for a circuit derived from the program
    (:attr:`CircuitSpec.uses_code`); its circuit id names the program, so the cache key stays the id."""
    from ispc_core.zk.formats import write_r1cs

    key = (circuit_id, curve, id(spec))
    with _digest_lock:
        hit = _digests.get(key)
    if hit is None:
        r1cs = spec.compile(circuit_id, curve, **extra)
        hit = (hashlib.sha256(write_r1cs(r1cs)).hexdigest(), len(r1cs.constraints))
        with _digest_lock:
            _digests[key] = hit
    return hit


def pinned_spec(circuits: dict[str, CircuitSpec], pinned: tuple[str, ...], kind: str, circuit_id: str) -> CircuitSpec:
    """The circuit plugin a proof's ``circuit_id`` belongs to, if the chain pins its family for ``kind``."""
    for spec in circuits.values():
        if spec.member(circuit_id):
            if spec.family not in pinned:
                break
            if spec.public_inputs is None or spec.compile is None:
                raise CheckFailed(NAME, f"circuit {spec.family} gives verifiers no way to recompute its public inputs")
            return spec
    raise CheckFailed(
        NAME,
        f"circuit {circuit_id or '(none)'} is not pinned for resource kind {kind!r} by this chain "
        f"(pinned: {', '.join(pinned) or 'none'})",
    )


def check_proof(
    tx: pb.Transaction,
    *,
    kind: str,
    pinned: tuple[str, ...],
    circuits: dict[str, CircuitSpec],
    prover_for,
    trusted_executors: tuple[bytes, ...],
    accept_unproven: bool,
    check_pairing: bool = True,
    verified: Container[ProofArtifact] = (),
    code: Callable[[], bytes | None] | None = None,
) -> tuple[str, bool, str]:
    """Raise :class:`CheckFailed` unless the proof holds; returns ``(circuit id, proves computation, summary)``.

    ``verified``: artifacts whose pairing already held in a batch (:func:`batch_verified`); for those
    the prover is not asked again (everything else is still checked). ``code()``: the deployed bytes of
    the transaction's resource from this node's own ledger, for a circuit derived from them
    (:attr:`CircuitSpec.uses_code`: ``compile`` and ``public_inputs`` get ``code=`` and ``tx=``).
    """
    zk = the_proof(tx)
    if zk is None:
        if not accept_unproven:
            raise CheckFailed(
                NAME,
                "the execution carries no proof, and this chain accepts no unproven executions "
                "(a node with proof.mode = off can only use a development chain: chain.accept_unproven = true)",
            )
        _trusted(tx, trusted_executors, "an unproven execution")
        return "", False, "no proof (this chain accepts unproven executions: development only)"
    spec = pinned_spec(circuits, pinned, kind, zk.circuit_id)
    try:
        artifact = artifact_from_zk(zk)
    except ValueError as exc:
        raise CheckFailed(NAME, f"malformed proof: {exc}") from None
    if artifact.circuit_version != spec.version:
        raise CheckFailed(NAME, f"circuit version {artifact.circuit_version!r} is not {spec.version!r}")
    try:
        prover = prover_for(artifact.proving_scheme, artifact.curve)
    except NotProvided as exc:
        raise CheckFailed(NAME, f"cannot check scheme {artifact.proving_scheme!r} on {artifact.curve!r}: {exc}") from None
    extra: dict[str, Any] = {}
    if spec.uses_code:
        program = code() if code is not None else None
        if not program:
            raise CheckFailed(NAME, f"circuit {spec.family} is derived from the deployed program, which this node does not hold")
        extra = {"code": program}
    vk = artifact.verification_key_hash.hex()
    info_fn = getattr(prover, "key_info", None)
    try:
        info = info_fn(artifact.verification_key_hash) if callable(info_fn) else None
    except Exception as exc:  # noqa: BLE001 - a damaged key store: this key cannot be checked, say which file
        raise CheckFailed(NAME, f"the local key {vk[:16]}… cannot be read: {exc}") from None
    if not info:
        raise CheckFailed(
            NAME,
            f"unknown verification key {vk[:16]}…: the local key store does not hold it (keys never travel with a "
            "transaction and are never derived during verification; see `ispc zk keys`)",
        )
    if info.get("circuit_id") != artifact.circuit_id or info.get("curve", artifact.curve) != artifact.curve:
        raise CheckFailed(
            NAME, f"key {vk[:16]}… is the key of {info.get('circuit_id')} on {info.get('curve')}, not of {artifact.circuit_id} on {artifact.curve}"
        )
    try:
        digest, constraints = r1cs_digest(spec, artifact.circuit_id, artifact.curve, **(dict(extra, tx=tx) if extra else {}))
    except (ValueError, KeyError, IspcError) as exc:
        raise CheckFailed(NAME, f"circuit {artifact.circuit_id}: {exc}") from None
    if info.get("r1cs_sha256") != digest:
        raise CheckFailed(NAME, f"key {vk[:16]}… was not made for the constraint system of {artifact.circuit_id} this node compiles")
    if artifact.constraint_count != constraints:
        raise CheckFailed(NAME, f"constraint count {artifact.constraint_count} is not {constraints} (the circuit's)")
    try:
        expected = tuple(spec.public_inputs(tx, artifact.curve, artifact.circuit_id, **extra))
    except Exception as exc:  # noqa: BLE001 - a transaction the circuit cannot describe is invalid
        raise CheckFailed(NAME, f"cannot recompute the public inputs: {type(exc).__name__}: {exc}") from None
    if artifact.public_inputs != expected:
        if len(artifact.public_inputs) != len(expected):
            raise CheckFailed(NAME, f"{len(artifact.public_inputs)} public inputs; {artifact.circuit_id} has {len(expected)}")
        i = next(i for i, (a, b) in enumerate(zip(artifact.public_inputs, expected)) if a != b)
        raise CheckFailed(NAME, f"public input {i} is not the value recomputed from the transaction")
    if check_pairing and artifact not in verified:
        try:
            ok = bool(prover.verify(artifact))
        except Exception as exc:  # noqa: BLE001 - a prover refusing input means "invalid"
            raise CheckFailed(NAME, f"the {artifact.proving_scheme} proof is malformed: {type(exc).__name__}: {exc}") from None
        if not ok:
            raise CheckFailed(NAME, f"the {artifact.proving_scheme} proof does not verify under key {vk[:16]}…")
    if not spec.proves_computation:
        _trusted(tx, trusted_executors, f"a binding-only {spec.family} proof")
    what = "proves the computation" if spec.proves_computation else "binding-only: trusts the executing node"
    return (
        artifact.circuit_id,
        spec.proves_computation,
        f"{artifact.proving_scheme}/{artifact.curve} {artifact.circuit_id} ({what}) verifies with local key {vk[:16]}…; "
        "every public input recomputed from the transaction",
    )


def _trusted(tx: pb.Transaction, trusted: tuple[bytes, ...], what: str) -> None:
    if trusted and bytes(tx.executor.public_key) not in trusted:
        raise CheckFailed(NAME, f"{what} must be attested by one of the chain's trusted executors")


def circuits_of(plugins) -> dict[str, Any]:
    """Every registered circuit plugin by name."""
    return {n: s for n, (_, s) in plugins.named("ispc_circuits").items()}


def proof_artifact(tx: pb.Transaction) -> ProofArtifact | None:
    """The artifact of ``tx``'s one proof, or None (no execution, no proof, or a malformed one: the
    proof check will say why)."""
    if not tx.HasField("execution"):
        return None
    try:
        zk = the_proof(tx)
        return artifact_from_zk(zk) if zk is not None else None
    except (CheckFailed, ValueError):
        return None


def batch_verified(artifacts: Iterable[ProofArtifact], prover_for: Callable[[str, str], Any]) -> set[ProofArtifact]:
    """The artifacts whose proofs verify, checked with one ``prover.verify_batch(artifacts)`` per
    (scheme, curve); a prover without ``verify_batch`` verifies them one by one. Never raises for a bad
    artifact: it is simply not in the result (and :func:`check_proof` verifies it again, alone, to say why)."""
    groups: dict[tuple[str, str], dict[ProofArtifact, None]] = {}
    for art in artifacts:
        groups.setdefault((art.proving_scheme, art.curve), {})[art] = None  # duplicates once, order kept
    good: set[ProofArtifact] = set()
    for (scheme, curve), unique in groups.items():
        arts = list(unique)
        try:
            prover = prover_for(scheme, curve)
        except Exception:  # noqa: BLE001 - an unknown scheme: check_proof refuses each with the reason
            continue
        batch = getattr(prover, "verify_batch", None)
        if callable(batch):
            try:
                verdicts = list(batch(arts))
            except Exception:  # noqa: BLE001 - a failing batch: check each alone
                verdicts = [False] * len(arts)
        else:
            verdicts = []
            for art in arts:
                try:
                    verdicts.append(bool(prover.verify(art)))
                except Exception:  # noqa: BLE001
                    verdicts.append(False)
        good.update(a for a, ok in zip(arts, verdicts) if ok is True)
    return good
