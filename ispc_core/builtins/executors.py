"""Built-in proof executors: in the calling process, or a local process pool."""

from __future__ import annotations

import concurrent.futures
import os

from ispc_core.hookspecs import hookimpl
from ispc_core.specs import ProofExecutorSpec


class InlineExecutor(concurrent.futures.Executor):
    """Runs each job at once in the caller's thread (the ``inline`` executor)."""

    def submit(self, fn, /, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` now and return a completed future."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the future carries the failure to the caller
            future.set_exception(exc)
        return future


def _inline(address, config):
    return InlineExecutor()


def _process_pool(address, config):
    workers = int(address) if address and address.isdigit() else max(1, (os.cpu_count() or 2) - 0)
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers)


@hookimpl
def ispc_proof_executors():
    """``inline`` (the caller's thread) and ``processes`` (a local process pool; ``processes://N`` sets N)."""
    return [
        ProofExecutorSpec(name="inline", factory=_inline, description="in the calling thread"),
        ProofExecutorSpec(name="processes", factory=_process_pool, description="a local process pool"),
    ]
