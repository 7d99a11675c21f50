"""The ``dask`` proof executor: proof jobs on an existing ``distributed`` cluster.

Configure it with ``proof.executor = "dask://HOST:PORT"`` (the scheduler's
address; ``tcp://`` is implied). The node connects a :class:`distributed.Client`
and hands each proof attempt to the cluster through the client's
``concurrent.futures`` executor (``pure=False``: a retried attempt really runs
again). Workers must be able to import ``ispc_core`` and the prover plugin, and
read the node's key store at the same path: a task carries the key-store path
and the expected verifying-key hash, never key material, and each worker builds
its prover once and keeps it (see ``ispc_core.proofjobs.task``).
"""

from __future__ import annotations

import concurrent.futures

from ispc_core.hookspecs import hookimpl
from ispc_core.proofjobs.errors import ExecutorUnreachable
from ispc_core.specs import ProofExecutorSpec

#: seconds to wait for the scheduler before giving up (``[plugin.dask] connect_timeout_s``)
CONNECT_TIMEOUT_S = 5.0


class DaskExecutor(concurrent.futures.Executor):
    """A ``concurrent.futures.Executor`` over a connected :class:`distributed.Client`."""

    def __init__(self, client, address: str):
        self.client = client
        self.address = address
        self._executor = client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` on a worker; returns a ``concurrent.futures.Future``."""
        return self._executor.submit(fn, *args, **kwargs)

    def workers(self) -> int:
        """Worker threads in the cluster now (the runner sizes its in-flight window with it)."""
        try:
            info = self.client.scheduler_info()
            return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))
        except Exception:  # noqa: BLE001
            return 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop submitting and close the client (the cluster itself keeps running)."""
        try:
            self._executor.shutdown(wait=wait)
        finally:
            self.client.close()


def connect(address: str, config=None) -> DaskExecutor:
    """Connect to the scheduler at ``address`` (``HOST:PORT`` or a full URL).

    Raises :class:`ExecutorUnreachable` naming the address when it cannot be reached.
    """
    from distributed import Client

    if not address:
        raise ExecutorUnreachable('proof.executor = "dask" needs a scheduler address: dask://HOST:PORT')
    url = address if "://" in address else f"tcp://{address}"
    timeout = CONNECT_TIMEOUT_S
    if config is not None:
        timeout = float(config.plugin_settings("dask").get("connect_timeout_s", timeout))
    try:
        client = Client(url, timeout=timeout, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, CommClosedError...
        raise ExecutorUnreachable(f"cannot reach the Dask scheduler at {url}: {type(exc).__name__}: {exc}") from None
    return DaskExecutor(client, url)


@hookimpl
def ispc_proof_executors():
    """``dask``: ``proof.executor = "dask://HOST:PORT"`` runs proof jobs on that cluster."""
    return [ProofExecutorSpec(name="dask", factory=connect, description="an existing Dask (distributed) cluster")]
