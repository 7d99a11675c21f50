"""Verify a transaction without running its program.

:func:`verify_transaction` checks, in order:

1. **structure** — a ``Transaction`` with an execution record, whose state
   outputs all carry the execution's result hash;
2. **signatures** — every signed input's signature verifies over the tx id
   (always; the signer's ownership of the spent output is a ledger check);
3. **ledger rules** (``check_ledger=True``) — the node's ``Ledger.validate``
   (ownership, double spends against the mempool, amounts, state versions,
   proofs present); a transaction already confirmed or pending passes this
   check by reference to where it is;
4. **proofs** — for every ``StateOutput.zk_proof``: the prover named by
   ``proving_scheme`` verifies a :class:`~ispc_core.specs.ProofArtifact` rebuilt
   from it, against the verifying key the **local** key store holds under
   ``verification_key_hash`` (a key never travels with a transaction; an
   unknown hash is invalid); and the execution result hash is **bound** to the
   proof — one public input must encode it (see :data:`ERH_ENCODINGS`) — and it must be
   the hash of what the transaction carries (recomputed: resource id, request hash,
   trace commitment, and the effects digest of return data, events and outputs);
   for ``contract_execution`` proofs every public input must equal its value in the
   transaction (docs/circuits.md);
5. optionally **re-execution** (``reexecute=True``, for audits) — the program
   runs again on a scratch copy of the node home and the execution result
   hashes must match.

Nothing but step 5 runs the program.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import attrs

from ispc_core.errors import IspcError, NotProvided, TransactionRejected
from ispc_core.node import txcodec
from ispc_core.node.keys import verify_signature
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.specs import ProofArtifact

log = logging.getLogger("ispc.verify")

#: how a circuit may carry the 32-byte execution result hash ``h`` (as a big-endian
#: integer) in one public input: exactly, its top 248 bits (``h >> 8``, so it fits
#: every supported scalar field), or reduced modulo the curve's scalar field order.
ERH_ENCODINGS = ("exact", "top248", "mod_r")


@attrs.frozen
class Check:
    """One check of a verification: its name, whether it passed, and why."""

    name: str
    ok: bool
    detail: str = ""


@attrs.frozen
class VerificationReport:
    """The verdict: ``valid`` is True only if every check passed; ``reason`` names the first failure."""

    valid: bool
    reason: str
    checks: list[Check]
    tx_id: bytes = b""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "tx_id": self.tx_id.hex(),
            "valid": self.valid,
            "reason": self.reason,
            "checks": [attrs.asdict(c) for c in self.checks],
        }


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


def erh_binding(erh: bytes, public_inputs, curve: str) -> str | None:
    """Which of :data:`ERH_ENCODINGS` ties ``erh`` to one of ``public_inputs`` (None if none does)."""
    h = int.from_bytes(erh, "big")
    candidates = {"exact": h, "top248": h >> 8}
    try:
        from ispc_core.zk.curves.params import CURVES

        candidates["mod_r"] = h % CURVES[curve].r
    except Exception:  # noqa: BLE001 - unknown curve: only the curve-free encodings
        pass
    values = set(public_inputs)
    for name in ERH_ENCODINGS:
        if name in candidates and candidates[name] in values:
            return name
    return None


def _prover(manager, scheme: str, curve: str):
    """The local prover for ``scheme`` (built once per node, like the coordinator's)."""
    core = manager.core
    spec = manager.plugins.get("ispc_provers", scheme)
    if curve not in spec.curves:
        raise NotProvided(f"prover {scheme!r} does not support curve {curve!r}; it supports: {', '.join(spec.curves)}")
    cache = core._provers  # shared with the coordinator: one prover (and key cache) per node
    if scheme not in cache:
        from ispc_core.specs import ProverServices

        keystore = manager.config.home / "zkkeys"
        keystore.mkdir(parents=True, exist_ok=True)
        cache[scheme] = spec.factory(ProverServices(home=manager.config.home, config=manager.config, keystore_dir=keystore))
    return cache[scheme]


def _knows_key(prover, vk_hash: bytes) -> bool | None:
    """Whether the local key store holds ``vk_hash`` (None if the prover cannot say)."""
    for name in ("has_verification_key", "has_verifying_key"):
        fn = getattr(prover, name, None)
        if callable(fn):
            try:
                return bool(fn(vk_hash))
            except Exception:  # noqa: BLE001
                return False
    return None


def _check_structure(tx, checks: list[Check]) -> list[pb.StateOutput]:
    if not isinstance(tx, pb.Transaction):
        raise TypeError(f"a Transaction is expected, got {type(tx).__name__}")
    states = [o.state for o in tx.outputs if o.HasField("state")]
    erh = tx.execution.execution_result_hash
    if not tx.HasField("execution") or len(erh) != 32:
        checks.append(Check("structure", False, "the transaction carries no execution record with a 32-byte result hash"))
        return states
    bad = [i for i, s in enumerate(states) if s.execution_result_hash != erh]
    if bad:
        checks.append(Check("structure", False, f"state output {bad[0]} names another execution result hash than the execution record"))
    elif not states:
        checks.append(Check("structure", False, "the transaction has no state output (every execution carries one)"))
    else:
        checks.append(Check("structure", True, f"{len(states)} state output(s) bound to result hash {erh.hex()[:16]}…"))
    return states


def _check_signatures(tx, tx_id: bytes, checks: list[Check]) -> None:
    for i, tx_input in enumerate(tx.inputs):
        proof = tx_input.unlocking_proof
        if proof.public_key or proof.signature:
            if not verify_signature(proof.public_key, tx_id, proof.signature):
                checks.append(Check("signatures", False, f"input {i}: the signature does not verify over the transaction id"))
                return
    signed = sum(1 for t in tx.inputs if t.unlocking_proof.signature)
    checks.append(Check("signatures", True, f"{signed} signed input(s) verify over the transaction id"))


def _check_ledger(manager, tx, tx_id: bytes, checks: list[Check]) -> None:
    node = manager.node
    found = node.ledger.get_tx(tx_id)
    if found is not None:
        checks.append(Check("ledger", True, f"confirmed at height {found[1]} (validated when its block was made)"))
        return
    if node.mempool.get(tx_id) is not None:
        checks.append(Check("ledger", True, "pending in the mempool (validated against the ledger when admitted)"))
        return
    overlay = {}
    for s in (o.state for o in tx.outputs if o.HasField("state")):
        head = node.mempool.pending_state_head(s.state_id)
        if head is not None:
            overlay[s.state_id] = head
    try:
        node.ledger.validate(
            tx, spent_elsewhere=node.mempool.spent_outpoints(), proofs_required=node.proofs_required, state_overlay=overlay
        )
    except TransactionRejected as exc:
        checks.append(Check("ledger", False, f"ledger rule broken ({exc.reason}): {exc}"))
        return
    checks.append(Check("ledger", True, "valid against the ledger and the pending transactions"))


def recomputed_result_hash(tx, curve: str) -> bytes | None:
    """The execution result hash recomputed from what ``tx`` carries (None if it lacks the fields)."""
    from ispc_core.commitment import result_hash, transaction_effects

    ex = tx.execution
    if len(ex.resource_id) != 32 or len(ex.request_hash) != 32 or len(ex.trace_commitment) != 32:
        return None
    return result_hash(ex.resource_id, ex.request_hash, ex.trace_commitment, transaction_effects(tx), curve)


def contract_execution_mismatch(tx, public_inputs) -> str | None:
    """For ``contract_execution`` proofs: which public input disagrees with the transaction (None if all agree).

    Layout (docs/circuits.md): R, T, rid_hi, rid_lo, req_hi, req_lo, O_hi, O_lo, where O is
    the effects digest recomputed from the transaction (``commitment.transaction_effects``).
    """
    from ispc_core.commitment import split128, transaction_effects

    ex = tx.execution
    if len(public_inputs) != 8:
        return f"{len(public_inputs)} public inputs, the circuit has 8"
    try:
        expected = {
            "R": int.from_bytes(ex.execution_result_hash, "big"),
            "T": int.from_bytes(ex.trace_commitment, "big"),
            "rid": split128(ex.resource_id),
            "req": split128(ex.request_hash),
            "O": split128(transaction_effects(tx)),
        }
    except ValueError as exc:
        return f"the execution record is malformed: {exc}"
    got = list(public_inputs)
    pairs = [("R", got[0], expected["R"]), ("T", got[1], expected["T"]), ("rid", tuple(got[2:4]), expected["rid"]),
             ("req", tuple(got[4:6]), expected["req"]), ("O", tuple(got[6:8]), expected["O"])]
    names = {"R": "execution result hash", "T": "trace commitment", "rid": "resource id", "req": "request hash", "O": "effects digest"}
    for key, have, want in pairs:
        if have != want:
            return f"public input {names[key]} differs from the transaction's"
    return None


def _check_proofs(manager, states, checks: list[Check], tx=None) -> None:
    for j, state in enumerate(states):
        name = f"proof[{j}]"
        zk = state.zk_proof
        if not zk.proof:
            if manager.config.proofs_required:
                checks.append(Check(name, False, f"state output {j} carries no zk proof"))
            else:
                checks.append(Check(name, True, f"state output {j} carries no zk proof (proof.mode = off on this node)"))
            continue
        try:
            artifact = artifact_from_zk(zk)
        except ValueError as exc:
            checks.append(Check(name, False, f"malformed proof of state output {j}: {exc}"))
            continue
        try:
            prover = _prover(manager, artifact.proving_scheme, artifact.curve)
        except NotProvided as exc:
            checks.append(Check(name, False, f"cannot check scheme {artifact.proving_scheme!r}: {exc}"))
            continue
        vk = artifact.verification_key_hash.hex()
        if _knows_key(prover, artifact.verification_key_hash) is False:
            checks.append(Check(
                name, False,
                f"unknown verification key {vk[:16]}…: the local key store does not hold it "
                "(keys that arrive with a transaction are never trusted)",
            ))
            continue
        try:
            ok = bool(prover.verify(artifact))
        except Exception as exc:  # noqa: BLE001 - a prover refusing input means "invalid"
            ok, why = False, f"{type(exc).__name__}: {exc}"
        else:
            why = ""
        if not ok:
            checks.append(Check(
                name, False,
                f"the {artifact.proving_scheme} proof of state output {j} does not verify against the local verification key "
                f"{vk[:16]}… (tampered proof or public inputs, or a verification key the local key store does not hold)"
                + (f": {why}" if why else ""),
            ))
            continue
        binding = erh_binding(state.execution_result_hash, artifact.public_inputs, artifact.curve)
        if binding is None:
            checks.append(Check(name, False, f"no public input of the proof of state output {j} encodes its execution result hash"))
            continue
        if tx is not None:
            try:
                again = recomputed_result_hash(tx, artifact.curve)
            except Exception:  # noqa: BLE001 - unknown curve etc.: the proof check above already passed or failed
                again = None
            if again is not None and again != state.execution_result_hash:
                checks.append(Check(
                    name, False,
                    f"the execution result hash of state output {j} is not the hash of what the transaction carries "
                    "(resource, request, trace commitment, return data, events, outputs)",
                ))
                continue
            if artifact.circuit_id.startswith("contract_execution"):
                why = contract_execution_mismatch(tx, artifact.public_inputs)
                if why is not None:
                    checks.append(Check(name, False, f"proof of state output {j}: {why}"))
                    continue
        checks.append(Check(
            name, True,
            f"{artifact.proving_scheme}/{artifact.curve} {artifact.circuit_id}/{artifact.circuit_version} verifies with "
            f"local key {vk[:16]}…; result hash bound ({binding})",
        ))


def mempool_proof_verifier(manager):
    """A ``Mempool`` proof verifier: each state output's proof checked as :func:`verify_transaction` does.

    The state outputs of one transaction usually carry the same proof, so the
    verdict is remembered per (transaction id, proof bytes) for the last transaction.
    """
    memo: dict[tuple[bytes, bytes], bool] = {}

    def verify_state(tx, state) -> bool:
        key = (txcodec.tx_id(tx), bytes(state.zk_proof.SerializeToString(deterministic=True)))
        if key not in memo:
            memo.clear()
            checks: list[Check] = []
            _check_proofs(manager, [state], checks, tx)
            memo[key] = all(c.ok for c in checks)
            if not memo[key]:
                log.info("mempool: %s", "; ".join(c.detail for c in checks if not c.ok))
        return memo[key]

    return verify_state


def _check_reexecution(manager, tx, tx_id: bytes, request, checks: list[Check]) -> None:
    if request is None:
        from ispc_core.proofjobs.store import ProofJobStore

        if ProofJobStore.exists(manager.config.home):
            store = ProofJobStore(manager.config.home)
            try:
                job_id = store.find_by_tx(tx_id)
                request = store.payload(job_id)["request"] if job_id else None
            finally:
                store.close()
    if request is None:
        checks.append(Check(
            "reexecution", False,
            "cannot re-execute: a transaction does not carry its arguments, and this node recorded no request for it "
            "(requests are recorded for calls made here in async proof mode)",
        ))
        return
    import attrs as _attrs

    from ispc_core.coordinator import Manager

    scratch = Path(tempfile.mkdtemp(prefix="ispc-reexec-"))
    try:
        home = manager.config.home
        for name in ("resources", "keys"):
            if (home / name).exists():
                shutil.copytree(home / name, scratch / name)
        for name in ("ledger.sqlite", "mempool.sqlite"):
            src = home / name
            if src.exists():
                import sqlite3

                with sqlite3.connect(src) as s, sqlite3.connect(scratch / name) as d:
                    s.backup(d)
        overrides = {**manager._open_args.get("overrides", {}), "proof.mode": "off"}
        with Manager.open(scratch, overrides=overrides, plugins=manager._open_args.get("plugins", ())) as other:
            other.node.mempool.remove([tx_id])
            other.core.submit = lambda t: txcodec.tx_id(t)  # never submit from an audit
            req = _attrs.evolve(request, nonce=tx.nonce)
            result = other.core.call(req)
        if result.execution_result_hash == tx.execution.execution_result_hash:
            checks.append(Check("reexecution", True, "re-running the program gives the same execution result hash"))
        else:
            checks.append(Check(
                "reexecution", False,
                f"re-running gives result hash {result.execution_result_hash.hex()[:16]}…, the transaction claims "
                f"{tx.execution.execution_result_hash.hex()[:16]}… (if the ledger moved since the call, inputs may differ)",
            ))
    except IspcError as exc:
        checks.append(Check("reexecution", False, f"re-execution failed: {exc}"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def verify_transaction(manager, tx, *, check_ledger: bool = True, reexecute: bool = False, request=None) -> VerificationReport:
    """Verify ``tx`` on ``manager``'s node without running its program (see the module docstring).

    ``request`` (a :class:`~ispc_core.context.CallRequest`) is only used with
    ``reexecute=True``; without it the request recorded by this node's proof
    jobs is used, if any. Raises ``TypeError`` only if ``tx`` is not a
    ``Transaction``; every other problem is an invalid report with its reason.
    """
    checks: list[Check] = []
    states = _check_structure(tx, checks)
    tx_id = txcodec.tx_id(tx)
    _check_signatures(tx, tx_id, checks)
    if check_ledger:
        _check_ledger(manager, tx, tx_id, checks)
    _check_proofs(manager, states, checks, tx)
    if reexecute:
        _check_reexecution(manager, tx, tx_id, request, checks)
    failed = [c for c in checks if not c.ok]
    reason = f"{failed[0].name}: {failed[0].detail}" if failed else "every check passed"
    return VerificationReport(valid=not failed, reason=reason, checks=checks, tx_id=tx_id)
