"""Re-execution, for audits only: run the program again on a scratch copy of the node home.

This is the one place verification runs a program, and only when asked
(``ispc verify --reexecute``). Acceptance never depends on it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ispc_core.errors import IspcError
from ispc_core.node import txcodec
from ispc_core.verification.report import Check


def check_reexecution(manager, tx, tx_id: bytes, request) -> Check:
    """Run the program again on a scratch copy of the node home; the result hashes must match."""
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
        return Check(
            "reexecution", False,
            "cannot re-execute: this node recorded no request for it (requests are recorded for calls made "
            "here in async proof mode; pass request= otherwise)",
        )
    import attrs as _attrs

    manager_class = type(manager)  # no import of the coordinator: it imports this package
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
        with manager_class.open(scratch, overrides=overrides, plugins=manager._open_args.get("plugins", ())) as other:
            other.node.mempool.remove([tx_id])
            other.core.submit = lambda t: txcodec.tx_id(t)  # never submit from an audit
            req = _attrs.evolve(request, nonce=tx.nonce)
            result = other.core.call(req)
        if result.execution_result_hash == tx.execution.execution_result_hash:
            return Check("reexecution", True, "re-running the program gives the same execution result hash")
        return Check(
                "reexecution", False,
                f"re-running gives result hash {result.execution_result_hash.hex()[:16]}…, the transaction claims "
                f"{tx.execution.execution_result_hash.hex()[:16]}… (if the ledger moved since the call, inputs may differ)",
            )
    except IspcError as exc:
        return Check("reexecution", False, f"re-execution failed: {exc}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
