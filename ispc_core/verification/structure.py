"""Check 1, structure: the transaction has the shape its kind needs, and its call record and journal decode.

An execution transaction carries a well-formed call record
(:func:`ispc_core.journal.check_call_record`), a journal that decodes within
the node's trace limit, at least one state output, and every state output
names the execution record's result hash. Nothing here reads the ledger.
"""

from __future__ import annotations

from ispc_core.errors import JournalError
from ispc_core.journal import JournalCall, check_call_record, decode_journal
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.verification.report import CheckFailed

NAME = "structure"
#: a program may read the ledger at most this many blocks behind the tip (an old snapshot could show
#: balances long spent to a program that branches on them)
MAX_SNAPSHOT_AGE = 1024


def check_structure(
    tx: pb.Transaction, *, chain_id: bytes, max_journal_bytes: int, max_code_bytes: int, tip: int
) -> list[JournalCall]:
    """Raise :class:`CheckFailed` if ``tx`` is malformed; return its decoded journal (empty for a non-execution).

    ``tip`` is this node's chain height (the snapshot height must be at most
    :data:`MAX_SNAPSHOT_AGE` blocks behind it, and not ahead of it).
    """
    if tx.chain_id != chain_id:
        # the ledger rule's own reason, so a refusal reads the same whichever check meets it first
        raise CheckFailed("wrong chain", f"chain id {bytes(tx.chain_id)!r} is not this node's {chain_id!r}")
    if not tx.HasField("execution"):
        if any(o.WhichOneof("content") == "state" for o in tx.outputs):
            raise CheckFailed(NAME, "state outputs without an execution record (no program wrote them)")
        for o in tx.outputs:
            if o.WhichOneof("content") == "resource" and len(o.resource.code) > max_code_bytes:
                raise CheckFailed(NAME, f"a deployed resource of {len(o.resource.code)} bytes exceeds this node's limit of {max_code_bytes}")
        return []
    ex = tx.execution
    try:
        check_call_record(tx)
        calls = decode_journal(ex.journal, max_bytes=max_journal_bytes)
    except JournalError as exc:
        raise CheckFailed(NAME, str(exc), entry=exc.entry, field=exc.field or "call") from None
    if ex.snapshot_height > tip:
        raise CheckFailed(NAME, f"snapshot height {ex.snapshot_height} is above this node's chain tip {tip}")
    if tip - ex.snapshot_height > MAX_SNAPSHOT_AGE:
        raise CheckFailed(NAME, f"snapshot height {ex.snapshot_height} is more than {MAX_SNAPSHOT_AGE} blocks behind the tip {tip}")
    for name in ("request_hash", "execution_result_hash", "trace_commitment"):
        if len(getattr(ex, name)) != 32:
            raise CheckFailed(NAME, f"execution.{name} is {len(getattr(ex, name))} bytes, not 32")
    states = [o.state for o in tx.outputs if o.WhichOneof("content") == "state"]
    if not states:
        raise CheckFailed(NAME, "the execution has no state output (every execution carries one, its receipt at least)")
    bad = [i for i, s in enumerate(states) if s.execution_result_hash != ex.execution_result_hash]
    if bad:
        raise CheckFailed(NAME, f"state output {bad[0]} names another execution result hash than the execution record")
    if any(o.WhichOneof("content") == "resource" for o in tx.outputs):
        raise CheckFailed(NAME, "an execution cannot deploy a resource")
    return calls
