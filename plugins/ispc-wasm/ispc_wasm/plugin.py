"""Entry point of the ``ispc-wasm`` plugin: registers the ``wasm`` engine."""

from __future__ import annotations

from ispc_core import hookimpl
from ispc_core.specs import EngineServices, EngineSpec


def _factory(services: EngineServices):
    """Build the node's wasm engine: compiled modules cached under ``services.cache_dir``,
    compile limits (``max_code_bytes``, ``max_functions``) from the node's ``[limits]``."""
    from ispc_wasm.engine import WasmEngine

    cache_dir = services.cache_dir
    if cache_dir is not None:
        from pathlib import Path

        cache_dir = Path(cache_dir) / "wasm"
    limits = getattr(getattr(services, "config", None), "limits", None)
    return WasmEngine(cache_dir=cache_dir, limits=limits)


@hookimpl
def ispc_engines():
    """The WebAssembly engine (resource kind ``wasm``, files ``*.wasm``)."""
    return [
        EngineSpec(
            name="wasm",
            kinds=("wasm",),
            suffixes=(".wasm",),
            factory=_factory,
            description="WebAssembly contracts on wasmtime: fuel, memory caps, epoch deadlines, ispc host ABI v1",
        )
    ]
