"""Typed errors of the ONNX → R1CS compiler; each names the node, tensor or input that is wrong."""

from __future__ import annotations

from ispc_core.errors import ProofError

__all__ = ["ZkmlError", "ModelError", "UnsupportedOperator", "ScaleOverflow", "InputError"]


class ZkmlError(ProofError):
    """Base class of the compiler's errors."""

    code = "zkml"


class ModelError(ZkmlError):
    """The model cannot be read, or a shape or attribute cannot be fixed at compile time (``node`` names it)."""

    code = "zkml_model"

    def __init__(self, message: str, *, node: str = ""):
        super().__init__(message)
        self.node = node


class UnsupportedOperator(ModelError):
    """An operator the compiler has no circuit for; ``node`` and ``op_type`` name it."""

    code = "zkml_unsupported_operator"

    def __init__(self, node: str, op_type: str, detail: str = ""):
        msg = f"node {node!r}: operator {op_type} is not supported by onnx_inference.v1"
        super().__init__(msg + (f" ({detail})" if detail else ""), node=node)
        self.op_type = op_type


class CircuitTooLarge(ModelError):
    """The circuit would be too big to build: ``work`` (estimated from the shapes, before building) passes
    ``limit`` at node ``node`` (:mod:`ispc_zkml.budget`)."""

    code = "zkml_circuit_too_large"

    def __init__(self, message: str, *, node: str = "", work: int = 0, limit: int = 0):
        super().__init__(message, node=node)
        self.work, self.limit = work, limit


class ScaleOverflow(ZkmlError):
    """A tensor's worst-case value does not fit the field or the quotient range at this scale.

    ``tensor`` names it, ``bits`` is what it needs, ``limit`` what is allowed.
    """

    code = "zkml_scale_overflow"

    def __init__(self, message: str, *, tensor: str = "", bits: int = 0, limit: int = 0):
        super().__init__(message)
        self.tensor, self.bits, self.limit = tensor, bits, limit


class InputError(ZkmlError):
    """An input has the wrong name, shape or dtype, or a value outside the declared range."""

    code = "zkml_input"

    def __init__(self, message: str, *, name: str = ""):
        super().__init__(message)
        self.name = name
