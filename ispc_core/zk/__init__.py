"""Prover-neutral ZK vocabulary: fields, curves API, R1CS and gadgets, Poseidon, file formats.

Submodules are imported on demand (``from ispc_core.zk import fields``); this
package deliberately imports nothing heavy at import time.
"""
