"""The core's circuits, registered through the ``ispc_circuits`` hook like any plugin's."""

from __future__ import annotations

from ispc_core.hookspecs import hookimpl


@hookimpl
def ispc_circuits():
    """``contract_execution`` (v1), when its module is present."""
    try:
        from ispc_core.zk.circuits.contract_execution import CIRCUIT_SPEC
    except ModuleNotFoundError:
        return []
    return [CIRCUIT_SPEC]
