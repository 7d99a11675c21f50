"""The default submitter: the embedded node's mempool."""

from __future__ import annotations

from ispc_core.hookspecs import hookimpl
from ispc_core.specs import SubmitterSpec


class MempoolSubmitter:
    """Adds transactions to the embedded node: verified first (:meth:`Node.submit`), then the mempool's rules."""

    def __init__(self, node) -> None:
        self.node = node

    def submit(self, tx) -> bytes:
        """Verify, validate and insert ``tx``; return its id or raise ``TransactionRejected``."""
        return self.node.submit(tx)


@hookimpl
def ispc_submitters():
    """The ``mempool`` submitter."""
    return [SubmitterSpec(name="mempool", factory=MempoolSubmitter, description="the embedded node's mempool")]
