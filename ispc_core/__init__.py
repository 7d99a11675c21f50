"""ispc: intrinsic self-proving computing.

Run a program once, build a transaction while it runs, attach a zero-knowledge
proof. The public entry points are :class:`ispc_core.coordinator.Manager`, the
hook markers re-exported here, and the ``ispc`` command line.
"""

from ispc_core.hookspecs import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec", "__version__"]
__version__ = "0.1.0"
