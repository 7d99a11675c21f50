"""Re-execution, for audits only: run the program again on a scratch copy of the node home.

This is the one place verification runs a program, and only when asked
(``ispc verify --reexecute``). Acceptance never depends on it.

The call is rebuilt from the transaction itself (its call record: function,
canonical arguments, named inputs, input data, caller address, nonce); the
scratch ledger is rewound to the transaction's snapshot height, so the program
reads what it read the first time (state heads that were only pending then
are not reproduced: a mismatch can then come from a pending read). The run goes
through the coordinator's stages up to sealing — nothing is signed or submitted
— and its journal, return values and effects must equal the transaction's.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from ispc_core.context import CallRequest
from ispc_core.errors import IspcError, RequestError
from ispc_core.journal import decode_arg
from ispc_core.seal import call_request_hash
from ispc_core.verification.report import Check

NAME = "reexecution"


def request_from_transaction(tx) -> CallRequest:
    """The :class:`CallRequest` a transaction's call record stands for (``caller`` is filled by the caller)."""
    ex = tx.execution
    try:
        args = tuple(_as_called(decode_arg(a)) for a in ex.args)
        named = {n.name: _as_called(decode_arg(n.value)) for n in ex.named_inputs} or None
    except RequestError as exc:
        raise RequestError(f"the call record does not decode: {exc}") from None
    return CallRequest(
        resource_id=bytes(ex.resource_id), function=ex.function, args=args, input_data=bytes(ex.input_data),
        nonce=tx.nonce, named_inputs=named,
    )


def _copy_home(home: Path, scratch: Path) -> None:
    for name in ("resources", "keys", "zkkeys"):
        if (home / name).exists():
            shutil.copytree(home / name, scratch / name)
    for name in ("ledger.sqlite",):
        src = home / name
        if src.exists():
            with sqlite3.connect(src) as s, sqlite3.connect(scratch / name) as d:
                s.backup(d)
    for extra in ("ispc.toml",):
        if (home / extra).exists():
            shutil.copy(home / extra, scratch / extra)


def _difference(again, tx) -> str | None:
    """What differs between the re-run's unsigned transaction and ``tx`` (None if journal and effects agree)."""
    from ispc_core.commitment import outputs_encoding

    a, b = again.execution, tx.execution
    for i, (x, y) in enumerate(zip(a.journal, b.journal)):
        if x.SerializeToString(deterministic=True) != y.SerializeToString(deterministic=True):
            return f"journal entry {i} ({y.function}) differs from the re-run's ({x.function})"
    if len(a.journal) != len(b.journal):
        return f"the journal has {len(b.journal)} entries, the re-run made {len(a.journal)} host calls"
    if list(a.return_values) != list(b.return_values):
        return "the return values differ from the re-run's"
    if bytes(a.return_data) != bytes(b.return_data) or list(a.events) != list(b.events):
        return "the return data or events differ from the re-run's"
    if outputs_encoding(again.outputs) != outputs_encoding(tx.outputs):
        return "the outputs differ from the re-run's"
    return None


def check_reexecution(manager, tx, tx_id: bytes, request=None) -> Check:
    """Run the program again on a scratch copy rewound to the snapshot height; journal and effects must match."""
    if not tx.HasField("execution"):
        return Check(NAME, True, "not an execution: nothing to re-run")
    try:
        req = request if request is not None else request_from_transaction(tx)
    except RequestError as exc:
        return Check(NAME, False, f"cannot re-execute: {exc}")
    manager_class = type(manager)  # no import of the coordinator: it imports this package
    scratch = Path(tempfile.mkdtemp(prefix="ispc-reexec-"))
    try:
        _copy_home(manager.config.home, scratch)
        overrides = {**manager._open_args.get("overrides", {}), "proof.mode": "off"}
        with manager_class.open(
            scratch, overrides=overrides, plugins=manager._open_args.get("plugins", ()), repair=True
        ) as other:
            other.node.ledger.rewind_to(int(tx.execution.snapshot_height))
            core = other.core
            # the result semantics the transaction was made with: a proven call's result is the one its
            # circuit defines (onnx_inference.v1: fixed point), an unproven one's is the engine's
            core.defines_results = any(o.state.zk_proof.ByteSize() for o in tx.outputs if o.WhichOneof("content") == "state")
            caller = bytes(tx.caller)
            stored, engine, info = core.resource(req.resource_id)
            limits = core.admit(req, stored.kind, caller)
            ctx = sealed = None
            try:
                ctx = core.open_context(req, limits, caller, trace_id="reexecution", correlation_id="reexecution")
                req_hash = call_request_hash(
                    req, chain_id=core.chain_id, caller=caller, nonce=tx.nonce, snapshot_height=ctx.env.block_height,
                    snapshot_block_hash=ctx.ledger_view.snapshot.tip_hash,
                )
                result = core.run_engine(ctx, stored, engine, info)
                sealed = core.seal(ctx, result, stored.kind, tx.nonce, req_hash)
            finally:
                core.unreserve(sealed)
                if ctx is not None:
                    core.close_context(ctx)
                core.release()
        why = _difference(sealed.transaction, tx)
        if why is None:
            return Check(NAME, True, "re-running the program at the snapshot height gives the same journal and effects")
        return Check(
            NAME, False, f"{why}: the journal is not what the program produces (or it read state that was only pending then)"
        )
    except IspcError as exc:
        return Check(NAME, False, f"re-execution failed: {exc}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _as_called(value):
    """A recorded value as the caller most likely passed it: a float64 or int64 tensor is what a list of
    numbers is recorded as, so it goes back as that list (which an engine converts to its element type,
    as it did the first time); any other tensor stays the array it was."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.dtype in (np.dtype("<f8"), np.dtype("<i8")):
        return value.tolist()
    return value
