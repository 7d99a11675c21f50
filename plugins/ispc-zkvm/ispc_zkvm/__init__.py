"""ispc zkVM: ``wasm_execution.v1``, a proof that a WebAssembly integer program produced its journal.

Modules, one job each:

* :mod:`ispc_zkvm.program` — a deployed module as flat code with static stack heights;
* :mod:`ispc_zkvm.subset` — the provable subset, checked at deploy;
* :mod:`ispc_zkvm.interpreter` — the tracing interpreter (cross-checked against wasmtime);
* :mod:`ispc_zkvm.host` — host imports answered from the journal, by the engine's ABI.

See ``docs/zkvm.md`` for the statement, the circuit and what stands.
"""
