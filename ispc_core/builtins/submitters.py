"""The default submitter: the embedded node's mempool."""

from __future__ import annotations

from ispc_core.hookspecs import hookimpl
from ispc_core.specs import SubmitterSpec


class MempoolSubmitter:
    """Adds transactions to the embedded node's SQLite mempool (which validates them)."""

    def __init__(self, node) -> None:
        self.node = node

    def submit(self, tx) -> bytes:
        """Validate and insert ``tx``; return its id or raise ``TransactionRejected``."""
        return self.node.mempool.add(tx)


@hookimpl
def ispc_submitters():
    """The ``mempool`` submitter."""
    return [SubmitterSpec(name="mempool", factory=MempoolSubmitter, description="the embedded node's mempool")]
