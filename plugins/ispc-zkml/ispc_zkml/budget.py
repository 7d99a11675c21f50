"""How big a model's circuit will be, estimated from its shapes before any of it is built.

The compiler builds every linear combination and constraint as Python objects,
so its memory and time grow with the circuit. The circuit comes from the model,
and the model is whatever a deployer sent. A 512×512 activation × activation
MatMul is 134 million products, which is gigabytes of objects. A node must
refuse such a model before it starts building, not run out of memory halfway.

:func:`check_size` walks the graph with the shapes onnx's shape inference
gives for the fixed inputs. It charges each node for the work its lowering
will do: **fan-in terms** (a constant MatMul's inner dimension, a Conv
kernel's size, a pooling window, a Softmax or ArgMax axis) plus a flat
**nonlinear** charge per output element for an operator that needs range
checks. Shape operators are free. If the running total passes ``max_work``,
it raises :class:`CircuitTooLarge` naming the node that crossed the limit.

The estimate is an upper bound of the right order, not a constraint count. The
compiler's own report gives the exact count once the circuit is built.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import onnx

from .errors import CircuitTooLarge

#: the default limit on the estimated work (fan-in terms plus nonlinear element charges)
MAX_WORK = 1 << 23
#: what one output element of an operator with range checks is charged (about its constraints per element)
NONLINEAR = 48
#: operators that only move values (no terms, no constraints)
FREE = {"Identity", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Shape", "Constant", "Cast"}
#: operators whose lowering adds range checks per output element
NONLINEAR_OPS = {
    "Relu", "LeakyRelu", "Clip", "MaxPool", "Sigmoid", "Tanh", "Softmax", "ArgMax",
    "DynamicQuantizeLinear", "QuantizeLinear", "QLinearMatMul", "QLinearConv", "Mul",
}  # fmt: skip


def _shapes(inferred: onnx.ModelProto) -> dict[str, tuple[int, ...] | None]:
    out: dict[str, tuple[int, ...] | None] = {}
    for t in inferred.graph.initializer:
        out[t.name] = tuple(int(d) for d in t.dims)
    for vi in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            out.setdefault(vi.name, None)
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        out[vi.name] = None if any(d is None for d in dims) else tuple(dims)
    return out


def _attr(node, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _fan_in(node, shapes: Mapping[str, tuple[int, ...] | None]) -> int:
    op = node.op_type
    first = shapes.get(node.input[0]) if node.input else None
    if op in ("MatMul", "MatMulInteger", "QLinearMatMul"):
        return int(first[-1]) if first else 1
    if op == "Gemm":
        return int(first[0] if _attr(node, "transA", 0) else first[-1]) if first else 1
    if op in ("Conv", "ConvInteger", "QLinearConv"):
        w = shapes.get(node.input[3 if op == "QLinearConv" else 1])
        return int(math.prod(w[1:])) if w else 1
    if op in ("MaxPool", "AveragePool"):
        return int(math.prod(_attr(node, "kernel_shape", [1])))
    if op == "GlobalAveragePool":
        return int(math.prod(first[2:])) if first else 1
    if op in ("Softmax", "ArgMax", "ReduceMax", "ReduceMin"):
        axis = _attr(node, "axis", -1 if op == "Softmax" else 0)
        return int(first[axis]) if first else 1
    return 1


def check_size(inferred: onnx.ModelProto, inputs: Mapping[str, Sequence[int]], max_work: int = MAX_WORK) -> int:
    """The estimated work of compiling ``inferred`` (a shape-inferred model with its inputs fixed);
    :class:`CircuitTooLarge`, naming the node, once it passes ``max_work``.

    >>> check_size(inferred_model, {"x": (1, 16)})      # doctest: +SKIP
    1248
    """
    shapes = _shapes(inferred)
    work = sum(int(math.prod(s)) for s in inputs.values())
    if work > max_work:
        name = max(inputs, key=lambda k: math.prod(inputs[k]))
        raise CircuitTooLarge(f"the inputs alone have {work:,} elements; the limit on a circuit's work is {max_work:,}", node=name, work=work, limit=max_work)
    for i, node in enumerate(inferred.graph.node):
        if node.op_type in FREE:
            continue
        out = shapes.get(node.output[0]) if node.output else None
        if out is None:
            continue  # constant or unknown: folded, or refused by the lowering
        elems = int(math.prod(out))
        work += elems * (_fan_in(node, shapes) + (NONLINEAR if node.op_type in NONLINEAR_OPS else 0))
        if work > max_work:
            name = node.name or f"{node.op_type}#{i}"
            raise CircuitTooLarge(
                f"node {name!r} ({node.op_type}, {elems:,} outputs) brings the circuit's estimated work to {work:,}, "
                f"past the limit of {max_work:,} (a smaller model or input shape, or compile_model(max_work=...))",
                node=name, work=work, limit=max_work,
            )
    return work
