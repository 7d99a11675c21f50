"""Check 3, the journal: every host call checked against the verifier's own ledger, and the effects explained.

No program runs here. For each journal entry, in order, the host function's
own verifier hook (:attr:`ispc_core.specs.HostFunction.verify`) checks it on
a :class:`VerificationContext` rebuilt from the transaction:

* ``env`` — caller, contract, resource, chain id and input data from the call
  record; block height and time of the *snapshot height* from this node's ledger;
* ``ledger_view`` — this node's ledger: balances as of the snapshot height,
  state heads as the transaction's writes follow them (confirmed or pending);
* ``draft`` — starts empty and collects what the journal's writes do
  (transfers, state writes, events, return data);
* ``config`` — this node's configuration with the chain's oracle keys, so
  evidence is checked against the keys the *chain* trusts.

Then the effects must be exactly what the draft explains: the outputs rebuilt
with :func:`ispc_core.seal.effect_outputs` equal the transaction's, byte for
byte; every input is the caller's own native output; events and return data
are equal. Last, the hashes the proof's public inputs are made of — the
request hash, the Poseidon trace commitment of the journal, the effects
digest, the execution result hash — are recomputed and must equal the
transaction's fields. Cost: linear in the number of host calls.
"""

from __future__ import annotations

from typing import Any, Mapping

import attrs

from ispc_core.commitment import outputs_encoding
from ispc_core.context import DeterministicEnv, DraftTransaction
from ispc_core.errors import ExecutionError, HostCallError, IspcError
from ispc_core.hostabi import HostCall, check_arg
from ispc_core.journal import JournalCall, execution_hashes, request_hash_of
from ispc_core.node import txcodec
from ispc_core.node.ledger import StateHead
from ispc_core.node.rules import output_kind
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.seal import contract_address, effect_outputs
from ispc_core.specs import HostFunction
from ispc_core.trace import encode_value
from ispc_core.verification.report import CheckFailed

NAME = "journal"


class JournalMismatch(Exception):
    """Raised by a verifier hook (through :meth:`EntryCheck.fail`): the entry disagrees with the chain."""


class VerificationView:
    """The verifier's ledger as the program saw it: balances at the snapshot height, state heads the tx follows."""

    def __init__(self, ledger, mempool, height: int, tx: pb.Transaction) -> None:
        self.ledger = ledger
        self.mempool = mempool
        self.height = height
        rid = tx.execution.resource_id
        #: state id -> parent hash, for the states this transaction writes
        self._parents = {
            o.state.state_id: (o.state.state_version, o.state.parent_state_hash)
            for o in tx.outputs
            if o.WhichOneof("content") == "state" and o.locking.contract == rid
        }

    def balance(self, address: bytes) -> int:
        """Confirmed native balance of ``address`` as of the snapshot height."""
        return self.ledger.balance_at(address, self.height)

    confirmed_balance = balance

    def state_head(self, contract_id: bytes, key: bytes):
        """The head a read saw: for a state this tx writes, the version it follows; else the newest head."""
        sid = txcodec.state_id_for(contract_id, key)
        if sid in self._parents:
            version, parent = self._parents[sid]
            if version <= 1:
                return None
            return self._by_hash(sid, parent, version - 1)
        pending = self.mempool.pending_state_head(sid) if self.mempool is not None else None
        return pending if pending is not None else self.ledger.state_head(sid)

    def _by_hash(self, sid: bytes, state_hash: bytes, version: int):
        for source in (self.ledger, self.mempool):
            fn = getattr(source, "state_version", None) if source is not None else None
            head = fn(sid, version) if fn else None
            if head is not None and head.state_hash == state_hash:
                return head
        raise CheckFailed(
            NAME, f"state {sid.hex()[:16]}…: the version this transaction follows ({version}) is not known to this node"
        )


class VerificationContext:
    """What a verifier hook receives as ``check.context``: an execution context rebuilt from the transaction."""

    def __init__(self, *, env: DeterministicEnv, ledger_view: VerificationView, config: Any, evidence_verifier: Any):
        self.env = env
        self.ledger_view = ledger_view
        self.config = config
        self.evidence_verifier = evidence_verifier
        self.draft = DraftTransaction(payer=env.caller)
        self.closed = False
        self.verifying = True


@attrs.frozen
class EntryCheck:
    """One journal entry being checked: the context, the host function, the entry."""

    context: VerificationContext
    function: HostFunction
    entry: JournalCall

    def fail(self, message: str) -> JournalMismatch:
        """A :class:`JournalMismatch` naming this entry (to be raised)."""
        return JournalMismatch(f"journal entry {self.entry.index} ({self.function.name}): {message}")

    def call(self) -> HostCall:
        """The :class:`~ispc_core.hostabi.HostCall` an ``impl`` expects, bound to the verification context."""
        return HostCall(self.context, self.function)


def replay(check: EntryCheck, *args: Any, result: Any) -> None:
    """The verifier hook for a host function whose ``impl`` only reads its context: run it, compare the result.

    Reads recompute the value from the verifier's ledger; writes record their
    effect in the draft, which must later equal the transaction's effects.

    >>> replay.__name__
    'replay'
    """
    try:
        got = check.function.impl(check.call(), *args)
    except (ExecutionError, HostCallError) as exc:
        raise check.fail(f"fails on this node's ledger: {exc}") from None
    if encode_value(got) != encode_value(result):
        raise check.fail(f"the journal says {_show(result)}, this node's ledger gives {_show(got)}")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return f"{len(value)} bytes {value[:16].hex()}{'…' if len(value) > 16 else ''}"
    return repr(value)


def verification_context(node, config, tx: pb.Transaction, evidence_verifier, oracle_keys) -> VerificationContext:
    """The context a transaction's journal is checked on (``CheckFailed`` if its snapshot height is unknown)."""
    ex = tx.execution
    block = node.ledger.block(int(ex.snapshot_height))
    if block is None:
        raise CheckFailed(NAME, f"snapshot height {ex.snapshot_height} is above this node's chain tip")
    if block.hash != bytes(ex.snapshot_block_hash):
        raise CheckFailed(
            NAME,
            f"the snapshot block {bytes(ex.snapshot_block_hash).hex()[:16]}… is not this chain's block at height "
            f"{block.height} ({block.hash.hex()[:16]}…): the call was made on another chain or history",
        )
    env = DeterministicEnv(
        block_height=block.height,
        block_time=block.time,
        caller=bytes(tx.caller),
        contract=contract_address(bytes(ex.resource_id)),
        resource_id=bytes(ex.resource_id),
        chain_id=bytes(tx.chain_id),
        input_data=bytes(ex.input_data),
    )
    if config is not None:
        config = attrs.evolve(config, evidence=attrs.evolve(config.evidence, oracle_keys=tuple(oracle_keys)))
    view = VerificationView(node.ledger, node.mempool, block.height, tx)
    return VerificationContext(env=env, ledger_view=view, config=config, evidence_verifier=evidence_verifier)


def check_entries(ctx: VerificationContext, calls: list[JournalCall], functions: Mapping[str, HostFunction]) -> None:
    """Run every entry's verifier hook in order; ``CheckFailed`` at the first that disagrees."""
    for call in calls:
        fn = functions.get(call.function)
        if fn is None:
            raise CheckFailed(NAME, f"journal entry {call.index} names host function {call.function!r}, which this node does not have")
        if fn.verify is None:
            raise CheckFailed(NAME, f"journal entry {call.index}: host function {fn.name} provides no verifier check")
        if len(call.args) != len(fn.params):
            raise CheckFailed(NAME, f"journal entry {call.index} ({fn.name}): {len(call.args)} arguments, the function takes {len(fn.params)}")
        try:
            args = tuple(check_arg(fn, i, a) for i, a in enumerate(call.args))
        except HostCallError as exc:
            raise CheckFailed(NAME, f"journal entry {call.index}: {exc}") from None
        try:
            fn.verify(EntryCheck(ctx, fn, call), *args, result=call.result)
        except JournalMismatch as exc:
            raise CheckFailed(NAME, str(exc)) from None
        except IspcError as exc:
            raise CheckFailed(NAME, f"journal entry {call.index} ({fn.name}): {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a plugin's verifier bug means "not verified", never a crash
            raise CheckFailed(NAME, f"journal entry {call.index} ({fn.name}): its verifier failed: {type(exc).__name__}: {exc}") from None


def check_effects(ctx: VerificationContext, tx: pb.Transaction, ledger) -> str:
    """The transaction's effects must be exactly what the journal explains; ``CheckFailed`` if not."""
    ex = tx.execution
    draft = ctx.draft
    payer = draft.payer
    total = 0
    for i, tx_input in enumerate(tx.inputs):
        if tx_input.reference_only:
            raise CheckFailed(NAME, f"input {i} is a reference input, which no host call explains")
        out = ledger.output(txcodec.outpoint_key(tx_input.outpoint))
        if out is None:
            raise CheckFailed(NAME, f"input {i} ({txcodec.outpoint_key(tx_input.outpoint)}) is not an output of this chain")
        if output_kind(out) != "native" or out.locking.WhichOneof("condition") != "owner_address" or out.locking.owner_address != payer:
            raise CheckFailed(NAME, f"input {i} is not the caller's own native output; no host call explains spending it")
        total += out.asset.native_amount
    if draft.debit and total < draft.debit + tx.fee:
        raise CheckFailed(NAME, f"the inputs hold {total}, the journal's transfers need {draft.debit} + fee {tx.fee}")
    if not draft.debit and tx.inputs:
        raise CheckFailed(NAME, f"{len(tx.inputs)} input(s) spent although the journal transfers nothing")
    heads = {}
    for o in tx.outputs:
        if o.WhichOneof("content") == "state" and o.state.state_version > 1:
            heads[bytes(o.state.state_id)] = StateHead(o.state.state_version - 1, bytes(o.state.parent_state_hash), b"")
    rid = bytes(ex.resource_id)
    expected = effect_outputs(
        draft,
        resource_id=rid,
        contract=ctx.env.contract,
        inputs_total=total,
        fee=tx.fee,
        state_head=lambda key: heads.get(txcodec.state_id_for(rid, key)),
        req_hash=request_hash_of(tx),
    )
    if outputs_encoding(expected) != outputs_encoding(tx.outputs):
        raise CheckFailed(NAME, _outputs_difference(expected, list(tx.outputs)))
    events = [(e.topic, bytes(e.data)) for e in ex.events]
    if events != [(t, bytes(d)) for t, d in draft.events]:
        raise CheckFailed(NAME, f"the transaction carries {len(events)} event(s); the journal emits {len(draft.events)} (or they differ)")
    if bytes(ex.return_data) != bytes(draft.return_data):
        raise CheckFailed(NAME, "the return data is not what the journal's result.set wrote")
    return f"{len(tx.outputs)} output(s), {len(tx.inputs)} input(s), {len(events)} event(s) explained"


def _outputs_difference(expected: list, actual: list) -> str:
    if len(expected) != len(actual):
        return f"the transaction has {len(actual)} output(s); the journal explains {len(expected)}"
    for j, (a, b) in enumerate(zip(expected, actual)):
        if outputs_encoding([a]) != outputs_encoding([b]):
            return f"output {j} is not the one the journal explains ({output_kind(b)} output differs)"
    return "the outputs differ from those the journal explains"


def check_hashes(tx: pb.Transaction, curves: list[str]) -> None:
    """Request hash, trace commitment and execution result hash recomputed on the first of ``curves`` they
    match (the proof's curve; for an unproven execution, any supported one); ``CheckFailed`` if none."""
    for i, curve in enumerate(curves):
        try:
            _check_hashes(tx, curve)
            return
        except CheckFailed:
            if i == len(curves) - 1:
                raise
        except Exception as exc:  # noqa: BLE001 - an unknown curve: the hashes cannot be recomputed
            raise CheckFailed(NAME, f"cannot recompute the commitments on curve {curve!r}: {exc}") from None


def _check_hashes(tx: pb.Transaction, curve: str) -> None:
    ex = tx.execution
    h = execution_hashes(tx, curve)
    if h.request_hash != ex.request_hash:
        raise CheckFailed(NAME, "execution.request_hash is not the hash of the call record")
    if h.trace_commitment != ex.trace_commitment:
        raise CheckFailed(NAME, "execution.trace_commitment is not the Poseidon commitment of the journal")
    if h.execution_result_hash != ex.execution_result_hash:
        raise CheckFailed(NAME, "execution.execution_result_hash is not the hash of the call, journal and effects")
