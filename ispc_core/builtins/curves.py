"""The core's curve backends, registered through the ``ispc_curve_backends`` hook like any plugin's."""

from __future__ import annotations

from ispc_core.hookspecs import hookimpl


@hookimpl
def ispc_curve_backends():
    """The fast backends of ``ispc_core.zk.curves`` (the reference backend is always present)."""
    return []
