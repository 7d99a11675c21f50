"""ispc-wasm: the WebAssembly execution engine of ispc, on wasmtime.

The engine runs contracts compiled to WebAssembly under the limits of one
execution (fuel, memory pages, wall-clock deadline by epoch interruption) and
exposes every registered host function as an import ``ispc.<import_name>``.
See ``docs/wasm-abi.md`` for the guest ABI.
"""

from ispc_wasm.abi import ABI_VERSION, ALLOCATOR_EXPORT, MEMORY_EXPORT, import_signature
from ispc_wasm.engine import WasmEngine

__all__ = ["ABI_VERSION", "ALLOCATOR_EXPORT", "MEMORY_EXPORT", "WasmEngine", "import_signature"]
__version__ = "0.1.0"
