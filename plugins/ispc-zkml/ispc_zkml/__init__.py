"""ispc-zkml: ONNX models as R1CS circuits (``onnx_inference.v1``), in fixed point.

:func:`compile_model` turns an ONNX file into a :class:`CompiledModel` — a
constraint system whose public inputs are the model id (sha256 of its bytes),
the quantized inputs and the quantized outputs — and computes witnesses from
the circuit's own hints. Any ``ispc`` prover (Groth16, PLONK) proves it. The
gadgets are generic and live in the core (:mod:`ispc_core.zk.fixedpoint`).
Documentation: ``docs/zkml.md``.

Why a distribution of its own, and not a module of ``ispc-onnx``: the compiler
needs only ``onnx`` and ``numpy`` (reading a graph), never ``onnxruntime`` (running
one), and runs where no model is ever executed — a verifier derives the circuit
and its key from the deployed bytes, and the ``ispc zkml`` command line of
stage 2 proves models that never touch a chain. Keeping it apart also keeps the
execution engine (whose worker processes and guards are their own concern)
and the circuit compiler (whose every change changes circuits and keys)
released and reviewed separately. Stage 1 registers nothing with the node.
"""

from .compiler import (
    CIRCUIT_NAME,
    FAMILY,
    SUPPORTED,
    VERSION,
    CompiledModel,
    LayerReport,
    ZkmlInstance,
    choose_scale,
    circuit_id,
    compile_model,
    compile_params,
    load_model,
)
from .errors import CircuitTooLarge, InputError, ModelError, ScaleOverflow, UnsupportedOperator, ZkmlError

__all__ = [
    "CIRCUIT_NAME",
    "FAMILY",
    "SUPPORTED",
    "VERSION",
    "CompiledModel",
    "LayerReport",
    "ZkmlInstance",
    "choose_scale",
    "circuit_id",
    "compile_model",
    "compile_params",
    "load_model",
    "InputError",
    "ModelError",
    "CircuitTooLarge",
    "ScaleOverflow",
    "UnsupportedOperator",
    "ZkmlError",
]
