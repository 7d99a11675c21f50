"""Verify a transaction without running its program: the checks, one module each, run in order.

1. :mod:`~ispc_core.verification.structure` — the shape; the call record and journal decode;
2. :mod:`~ispc_core.verification.signatures` — inputs, the caller's signature, the executor's attestation;
3. resource — the execution names a resource deployed on this chain (confirmed or pending), which gives its kind;
4. :mod:`~ispc_core.verification.journal` — every journal entry checked by its host function's verifier
   hook against this node's ledger at the snapshot height; the effects exactly those the journal explains;
   request hash, trace commitment and result hash recomputed;
5. :mod:`~ispc_core.verification.proofs` — the proof under a circuit the chain pins for the kind, with a
   local key made for that circuit, over public inputs recomputed from the transaction;
6. :mod:`~ispc_core.verification.ledger_rules` — the ledger's rules with the execution's authority.

:class:`Verifier` runs them for one node; :func:`verify_transaction` is the
one-call form; :meth:`Verifier.verify_many` / :func:`verify_transactions` verify many with one batch of
pairings per (scheme, key). The mempool admits a transaction only through
:meth:`Verifier.admit`, before it takes its write lock. Nothing here imports
the coordinator: the coordinator builds a :class:`Verifier` from itself.
"""

from __future__ import annotations

import logging
from typing import Any, Container

from ispc_core.errors import NotProvided, TransactionRejected
from ispc_core.node import txcodec
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.verification.journal import (
    EntryCheck,
    JournalMismatch,
    VerificationContext,
    check_effects,
    check_entries,
    check_hashes,
    replay,
    verification_context,
)
from ispc_core.verification.ledger_rules import check_ledger_rules
from ispc_core.verification.proofs import (
    artifact_from_zk,
    batch_verified,
    check_proof,
    circuits_of,
    proof_artifact,
    the_proof,
)
from ispc_core.verification.report import Check, CheckFailed, VerificationReport, trust_note
from ispc_core.verification.signatures import check_signatures
from ispc_core.verification.structure import check_structure

__all__ = [
    "Check",
    "EntryCheck",
    "JournalMismatch",
    "VerificationContext",
    "VerificationReport",
    "Verifier",
    "artifact_from_zk",
    "replay",
    "trust_note",
    "verify_transaction",
    "verify_transactions",
]

log = logging.getLogger("ispc.verification")


class Verifier:
    """The verification checks bound to one node (its ledger, plugins, key store and chain rules)."""

    def __init__(self, manager) -> None:
        self.manager = manager
        self.config = manager.config
        self.node = manager.node
        self.plugins = manager.plugins
        self.core = manager.core
        #: False skips the pairing (``node.verify_proofs = false``): for benchmarks of the other checks only
        self.check_pairing = bool(getattr(self.config.node, "verify_proofs", True))

    # ---------------------------------------------------------------- plumbing
    def prover_for(self, scheme: str, curve: str):
        """The local prover for ``scheme`` (shared with the coordinator: one prover and key cache per node)."""
        spec = self.plugins.get("ispc_provers", scheme)
        if curve not in spec.curves:
            raise NotProvided(f"prover {scheme!r} does not support curve {curve!r}; it supports: {', '.join(spec.curves)}")
        cache = self.core._provers
        if scheme not in cache:
            from ispc_core.specs import ProverServices

            keystore = self.config.home / "zkkeys"
            keystore.mkdir(parents=True, exist_ok=True)
            cache[scheme] = spec.factory(ProverServices(home=self.config.home, config=self.config, keystore_dir=keystore))
        return cache[scheme]

    def chain(self) -> pb.ChainParams:
        """This chain's rules (from its genesis transaction)."""
        return self.node.ledger.chain_params()

    def resource_kind(self, rid: bytes) -> str | None:
        """The kind of a resource deployed on this chain, confirmed or pending."""
        return self.node.ledger.resource_kind(rid) or self.node.mempool.pending_resources().get(bytes(rid))

    def resource_code(self, rid: bytes) -> bytes | None:
        """The deployed bytes of a resource from this node's own ledger or mempool (never from the transaction)."""
        found = self.node.ledger.resource_code(rid)
        if found is None:
            found = self.node.mempool.pending_resource_code(rid)
        return found[1] if found is not None else None

    # ---------------------------------------------------------------- the checks
    def verify(
        self, tx: pb.Transaction, *, check_ledger: bool = True, check_pairing: bool | None = None, verified: Container = ()
    ) -> VerificationReport:
        """Run every check in order, stopping at the first failure; never raises for a bad transaction.

        ``check_pairing=False`` skips the proof's pairing (None: the node's ``verify_proofs``);
        ``verified``: proof artifacts already verified in a batch (their pairing is not redone).
        """
        pairing = self.check_pairing if check_pairing is None else bool(check_pairing)
        if not isinstance(tx, pb.Transaction):
            raise TypeError(f"a Transaction is expected, got {type(tx).__name__}")
        checks: list[Check] = []
        tx_id = txcodec.tx_id(tx)
        circuit, proves = "", False
        try:
            calls = check_structure(
                tx,
                chain_id=self.node.ledger.chain_id,
                max_journal_bytes=self.config.limits.max_trace_bytes,
                max_code_bytes=self.config.limits.max_model_bytes,
                tip=self.node.ledger.snapshot().height,
            )
            checks.append(Check("structure", True, "well formed" + (f"; journal of {len(calls)} host call(s)" if tx.HasField("execution") else "")))
            checks.append(Check("signatures", True, check_signatures(tx, tx_id)))
            if tx.HasField("execution"):
                circuit, proves = self._check_execution(tx, calls, checks, pairing, verified)
            if check_ledger:
                checks.append(Check("ledger", True, check_ledger_rules(self.node, tx, tx_id)))
        except CheckFailed as exc:
            checks.append(Check(exc.name, False, exc.detail, entry=exc.entry, field=exc.field))
        except Exception as exc:  # noqa: BLE001 - a bug met by a stranger's transaction must refuse it, not crash the caller
            log.exception("verification of %s failed unexpectedly", tx_id.hex()[:16])
            checks.append(Check("internal", False, f"verification failed unexpectedly: {type(exc).__name__}: {exc}"))
        failed = next((c for c in checks if not c.ok), None)
        reason = f"{failed.name}: {failed.detail}" if failed else "every check passed"
        return VerificationReport(
            valid=failed is None, reason=reason, checks=checks, tx_id=tx_id, circuit=circuit, proves_computation=proves
        )

    def _check_execution(self, tx, calls, checks: list[Check], pairing: bool, verified: Container) -> tuple[str, bool]:
        rid = bytes(tx.execution.resource_id)
        kind = self.resource_kind(rid)
        if kind is None:
            raise CheckFailed("resource", f"resource {rid.hex()} was never deployed on this chain")
        checks.append(Check("resource", True, f"{kind} resource {rid.hex()[:16]}… is deployed"))
        chain = self.chain()
        zk = the_proof(tx)
        ctx = verification_context(
            self.node, self.config, tx, self.core._evidence, [k.hex() for k in chain.oracle_keys]
        )
        functions = {f.name: f for f in self.core.host_functions}
        check_entries(ctx, calls, functions)
        detail = check_effects(ctx, tx, self.node.ledger)
        # the commitments are over the proof curve's field; without a proof, over one of the supported curves
        mine = self.config.proof.curve
        check_hashes(tx, [zk.curve] if zk is not None else [mine, *(c for c in ("bn254", "bls12-381") if c != mine)])
        checks.append(Check("journal", True, f"{len(calls)} host call(s) agree with this node's ledger at height "
                                             f"{tx.execution.snapshot_height}; {detail}; commitments recomputed"))
        pinned = {p.kind: tuple(p.circuits) for p in chain.circuits}
        circuit, proves, summary = check_proof(
            tx,
            kind=kind,
            pinned=pinned.get(kind, ()),
            circuits=circuits_of(self.plugins),
            prover_for=self.prover_for,
            trusted_executors=tuple(bytes(k) for k in chain.trusted_executors),
            accept_unproven=chain.accept_unproven,
            check_pairing=pairing,
            verified=verified,
            code=lambda: self.resource_code(rid),
        )
        checks.append(Check("proof", True, summary))
        return circuit, proves

    def verify_many(self, txs, *, check_ledger: bool = True) -> list[VerificationReport]:
        """:meth:`verify` for each of ``txs`` (each on its own, against this node as it is now), with the
        proofs' pairings done as one ``verify_batch`` per (scheme, curve) — one multi-pairing per key for
        Groth16 — instead of one per proof. The reports are those :meth:`verify` gives one by one.

        First every check but the pairing runs per transaction; the proofs of those that passed the
        proof check are batch-verified (:func:`~ispc_core.verification.proofs.batch_verified`; a prover
        without ``verify_batch`` verifies one by one); a transaction whose proof is not in the verified
        set is verified again alone, so its report says exactly why (a bad proof costs a second check).
        """
        txs = list(txs)
        first = [self.verify(tx, check_ledger=check_ledger, check_pairing=False) for tx in txs]
        if not self.check_pairing:
            return first
        pending = {}
        for i, (tx, rep) in enumerate(zip(txs, first)):
            proof_check = next((c for c in rep.checks if c.name == "proof"), None)
            if proof_check is not None and proof_check.ok and rep.circuit:
                art = proof_artifact(tx)
                if art is not None:
                    pending[i] = art
        if not pending:
            return first
        good = batch_verified(pending.values(), self.prover_for)
        return [
            rep if i not in pending or pending[i] in good else self.verify(tx, check_ledger=check_ledger)
            for i, (tx, rep) in enumerate(zip(txs, first))
        ]

    def batch_verified(self, txs) -> set:
        """The proof artifacts of ``txs`` whose pairing holds, from one ``verify_batch`` per (scheme, curve)
        (empty when this node skips pairings); pass it to :meth:`admit` / :meth:`verify` as ``verified``."""
        if not self.check_pairing:
            return set()
        arts = [a for a in (proof_artifact(tx) for tx in txs) if a is not None]
        return batch_verified(arts, self.prover_for) if arts else set()

    def admit(self, tx: pb.Transaction, *, verified: Container = ()) -> None:
        """The mempool's gate: raise ``TransactionRejected(reason=<failed check>)`` unless every check but the
        ledger's passes (the mempool runs the ledger's rules itself, under its write lock).
        ``verified``: proof artifacts already verified in a batch (:meth:`batch_verified`)."""
        report = self.verify(tx, check_ledger=False, verified=verified)
        if not report.valid:
            failed = report.failed
            log.info("refused %s: %s", report.tx_id.hex()[:16], report.reason)
            raise TransactionRejected(
                f"transaction rejected ({failed.name}): {failed.detail}",
                reason=failed.name, entry=failed.entry, field=failed.field,
            )


def verify_transactions(manager, txs, *, check_ledger: bool = True) -> list[VerificationReport]:
    """:func:`verify_transaction` for many transactions (no re-execution), the proofs batch-verified:
    one report per transaction, in order, the same as verifying them one by one
    (:meth:`Verifier.verify_many`)."""
    return Verifier(manager).verify_many(txs, check_ledger=check_ledger)


def verify_transaction(manager, tx, *, check_ledger: bool = True, reexecute: bool = False, request: Any = None) -> VerificationReport:
    """Verify ``tx`` on ``manager``'s node without running its program (see the package docstring).

    ``reexecute=True`` (audits) also runs the program again on a scratch copy
    of the node home (:mod:`ispc_core.verification.reexecution`).
    """
    report = Verifier(manager).verify(tx, check_ledger=check_ledger)
    if not reexecute:
        return report
    from ispc_core.verification.reexecution import check_reexecution

    checks = list(report.checks)
    checks.append(check_reexecution(manager, tx, report.tx_id, request))
    failed = next((c for c in checks if not c.ok), None)
    return VerificationReport(
        valid=failed is None,
        reason=f"{failed.name}: {failed.detail}" if failed else "every check passed",
        checks=checks,
        tx_id=report.tx_id,
        circuit=report.circuit,
        proves_computation=report.proves_computation,
    )
