"""ispc-zkml: ONNX models as R1CS circuits (``onnx_inference.v1``), in fixed point.

:func:`compile_model` turns an ONNX file into a :class:`CompiledModel` — a
constraint system whose public inputs are the model id (sha256 of its bytes),
the quantized inputs and the quantized outputs — and computes witnesses from
the circuit's own hints. Any ``ispc`` prover (Groth16, PLONK) proves it. The
gadgets are generic and live in the core (:mod:`ispc_core.zk.fixedpoint`).
Documentation: ``docs/zkml.md``.

Modules: :mod:`~ispc_zkml.compiler` (the lowering, scale selection, witnesses),
:mod:`~ispc_zkml.spatial`, :mod:`~ispc_zkml.activations`, :mod:`~ispc_zkml.quantized`,
:mod:`~ispc_zkml.division`, :mod:`~ispc_zkml.commitment` (operator groups),
:mod:`~ispc_zkml.budget` (the size limit), :mod:`~ispc_zkml.circuit` and
:mod:`~ispc_zkml.plugin` (``onnx_inference.v1`` in the node, registered through
the ``ispc`` entry point), :mod:`~ispc_zkml.api` and :mod:`~ispc_zkml.artifacts`
(the four steps ``ispc zkml`` runs), :mod:`~ispc_zkml.testing` (the forgers).

Why a distribution of its own, and not a module of ``ispc-onnx``: the compiler
reads a graph and never runs one, and it runs where no model is ever executed —
a verifier derives the circuit and its key from the deployed bytes, and
``ispc zkml`` proves models that never touch a chain. Keeping it apart also
keeps the execution engine (whose worker processes and guards are their own
concern) and the circuit compiler (whose every change changes circuits and
keys) released and reviewed separately.
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
from . import api  # noqa: E402  (the four steps: api.compile, api.setup, api.prove, api.verify)

__all__ = [
    "api",
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
