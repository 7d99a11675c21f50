"""Check 5, the ledger's rules (:mod:`ispc_core.node.rules`) against this node's ledger and mempool.

Run last, with ``authorized=True`` because the earlier checks verified the
execution. A transaction that is already confirmed or pending passes by
reference to where it is (it was checked when it got there).
"""

from __future__ import annotations

from ispc_core.errors import TransactionRejected
from ispc_core.proto import transaction_pb2 as pb
from ispc_core.verification.report import CheckFailed

NAME = "ledger"


def check_ledger_rules(node, tx: pb.Transaction, tx_id: bytes) -> str:
    """Raise :class:`CheckFailed` naming the broken rule; return a summary."""
    found = node.ledger.get_tx(tx_id)
    if found is not None:
        return f"confirmed at height {found[1]} (its block was validated when it was made)"
    if node.mempool.get(tx_id) is not None:
        return "pending in the mempool (validated against the ledger when admitted)"
    overlay = {}
    for state in (o.state for o in tx.outputs if o.WhichOneof("content") == "state"):
        head = node.mempool.pending_state_head(state.state_id)
        if head is not None:
            overlay[state.state_id] = head
    try:
        node.ledger.validate(
            tx,
            spent_elsewhere=node.mempool.spent_outpoints(),
            state_overlay=overlay,
            pending_resources=node.mempool.pending_resources(),
            authorized=True,
        )
    except TransactionRejected as exc:
        raise CheckFailed(NAME, f"ledger rule broken ({exc.reason}): {exc}") from None
    return "valid against the ledger and the pending transactions"
