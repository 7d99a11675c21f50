"""The embedded node: resource store, keys, transaction codec, ledger, mempool.

Submodules are imported on demand; the main entry point is
:class:`ispc_core.node.node.Node`, which wires them together under one
node home directory (see ``docs/node.md``).
"""
