"""ispc-onnx: the ``onnx`` engine plugin for ispc.

ONNX models are deployed as resources and run on onnxruntime's CPU provider
with deterministic, single-threaded sessions. See ``docs/onnx.md``.

Modules: :mod:`ispc_onnx.plugin` (the hook implementation),
:mod:`ispc_onnx.engine` (the engine), :mod:`ispc_onnx.tensorcodec` (canonical
tensor encoding), :mod:`ispc_onnx.inputs` (input JSON loader),
:mod:`ispc_onnx.model` (deploy-time inspection), :mod:`ispc_onnx.runtime`
(sessions, cache, watchdog).
"""

__version__ = "0.1.0"
