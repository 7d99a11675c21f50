"""The hook implementation that registers ``onnx_inference.v1`` with ispc.

Found through the ``ispc`` entry-point group (``zkml = "ispc_zkml.plugin"``).
A chain pins it for kind ``onnx`` with ``chain.circuits = ["onnx=onnx_inference.v1", ...]``
(the default for new chains); see :mod:`ispc_zkml.circuit` for the statement.
"""

from __future__ import annotations

from ispc_core import hookimpl
from ispc_core.specs import CircuitSpec


def _instance(sealed, curve, *, code):
    from ispc_zkml.circuit import instance

    return instance(sealed, curve, code=code)


def _public_inputs(tx, curve, proof_circuit_id="", *, code):
    from ispc_zkml.circuit import public_inputs

    return public_inputs(tx, curve, proof_circuit_id, code=code)


def _compile(proof_circuit_id, curve, *, code, tx=None):
    from ispc_zkml.circuit import compile_member

    return compile_member(proof_circuit_id, curve, code=code, tx=tx)


def _evaluate(code, inputs, curve="bn254"):
    from ispc_zkml.circuit import evaluate

    return evaluate(code, inputs, curve)


def _members(code, curve):
    from ispc_zkml.circuit import members_for

    return members_for(code, curve)


@hookimpl
def ispc_circuits():
    """Offer ``onnx_inference.v1``: an ONNX call's outputs are the deployed model applied to its inputs.

    Example (pin it in ``ispc.toml`` before the chain's genesis)::

        [chain]
        circuits = ["wasm=contract_execution.v1", "onnx=onnx_inference.v1"]
    """
    return [
        CircuitSpec(
            circuit_id="onnx_inference",
            version="v1",
            applies_to=("onnx",),
            instance=_instance,
            description="the outputs are the deployed ONNX model applied to the inputs, in fixed point (weights are circuit constants)",
            proves_computation=True,
            public_inputs=_public_inputs,
            compile=_compile,
            uses_code=True,
            evaluate=_evaluate,
            members=_members,
        )
    ]
