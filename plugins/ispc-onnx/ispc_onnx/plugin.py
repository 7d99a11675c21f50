"""The hook implementation that registers the ``onnx`` engine with ispc.

Found through the ``ispc`` entry-point group (``onnx = "ispc_onnx.plugin"``).
"""

from __future__ import annotations

from ispc_core import hookimpl
from ispc_core.specs import EngineSpec


def _factory(services):
    from ispc_onnx.engine import OnnxEngine

    return OnnxEngine.from_services(services)


@hookimpl
def ispc_engines():
    """Offer the ``onnx`` engine for resources of kind ``onnx`` (files ending in ``.onnx``)."""
    return [
        EngineSpec(
            name="onnx",
            kinds=("onnx",),
            suffixes=(".onnx",),
            factory=_factory,
            description="ONNX models on onnxruntime (CPU, one thread, deterministic)",
        )
    ]
