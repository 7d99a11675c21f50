"""Deploy-time inspection of ONNX models: parsing, checking, and signatures.

:func:`inspect_model` turns model bytes into a :class:`ModelSignature` (opset,
inputs and outputs with their element types and shapes) or raises
:class:`ispc_core.errors.DeployError` saying what is wrong. The signature is
stored as strings in ``ResourceInfo.metadata`` (JSON where structured) and read
back with :meth:`ModelSignature.from_metadata` at call time, so a call never
parses the model again.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import attrs
import numpy as np
import onnx

from ispc_core.errors import DeployError

#: Element types a model input may have (ONNX name -> numpy dtype name).
INPUT_DTYPES: dict[int, str] = {
    onnx.TensorProto.FLOAT16: "float16",
    onnx.TensorProto.FLOAT: "float32",
    onnx.TensorProto.DOUBLE: "float64",
    onnx.TensorProto.INT8: "int8",
    onnx.TensorProto.INT16: "int16",
    onnx.TensorProto.INT32: "int32",
    onnx.TensorProto.INT64: "int64",
    onnx.TensorProto.UINT8: "uint8",
    onnx.TensorProto.BOOL: "bool",
}

#: Element types a model output may have: the inputs' plus the wider unsigned ones.
OUTPUT_DTYPES: dict[int, str] = {
    **INPUT_DTYPES,
    onnx.TensorProto.UINT16: "uint16",
    onnx.TensorProto.UINT32: "uint32",
    onnx.TensorProto.UINT64: "uint64",
}

#: A dimension: a fixed size (int) or a symbolic/unknown one (str name, or None).
Dim = int | str | None


@attrs.frozen
class TensorSpec:
    """A model input or output: name, numpy dtype name, and shape (ints or symbols)."""

    name: str
    dtype: str
    shape: tuple[Dim, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict ``{"name", "dtype", "shape"}``; unknown dims are ``null``."""
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> "TensorSpec":
        """The inverse of :meth:`to_json`."""
        return cls(name=obj["name"], dtype=obj["dtype"], shape=tuple(obj["shape"]))

    def describe(self) -> str:
        """``float32[batch,16]`` — element type and shape, ``?`` for unknown dims."""
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.dtype}[{dims}]"


@attrs.frozen
class ModelSignature:
    """What a call needs to know about a model, without parsing it again."""

    opset: int
    opsets: dict[str, int]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    operators: tuple[str, ...]
    ir_version: int
    producer: str

    def to_metadata(self) -> dict[str, str]:
        """``ResourceInfo.metadata`` entries: strings, JSON for structured values."""
        return {
            "opset": str(self.opset),
            "opsets": json.dumps(self.opsets, sort_keys=True),
            "inputs": json.dumps([t.to_json() for t in self.inputs]),
            "outputs": json.dumps([t.to_json() for t in self.outputs]),
            "operators": json.dumps(list(self.operators)),
            "ir_version": str(self.ir_version),
            "producer": self.producer,
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> "ModelSignature":
        """Rebuild a signature from ``ResourceInfo.metadata`` written by :meth:`to_metadata`."""
        return cls(
            opset=int(metadata["opset"]),
            opsets={k: int(v) for k, v in json.loads(metadata.get("opsets", "{}")).items()},
            inputs=tuple(TensorSpec.from_json(o) for o in json.loads(metadata["inputs"])),
            outputs=tuple(TensorSpec.from_json(o) for o in json.loads(metadata["outputs"])),
            operators=tuple(json.loads(metadata.get("operators", "[]"))),
            ir_version=int(metadata.get("ir_version", "0")),
            producer=metadata.get("producer", ""),
        )


def _tensor_spec(value_info: onnx.ValueInfoProto, allowed: dict[int, str], role: str) -> TensorSpec:
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type":
        raise DeployError(f"model {role} {value_info.name!r} is a {kind or 'untyped value'}; only tensors are supported")
    tt = value_info.type.tensor_type
    if tt.elem_type not in allowed:
        type_name = onnx.TensorProto.DataType.Name(tt.elem_type) if tt.elem_type else "UNDEFINED"
        raise DeployError(
            f"model {role} {value_info.name!r} has element type {type_name}; "
            f"supported: {', '.join(sorted(set(allowed.values())))}"
        )
    if not tt.HasField("shape"):
        raise DeployError(f"model {role} {value_info.name!r} declares no shape (rank is required)")
    dims: list[Dim] = []
    for d in tt.shape.dim:
        which = d.WhichOneof("value")
        if which == "dim_value":
            dims.append(int(d.dim_value))
        elif which == "dim_param":
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return TensorSpec(name=value_info.name, dtype=allowed[tt.elem_type], shape=tuple(dims))


def _uses_external_data(model: onnx.ModelProto) -> bool:
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                tensors.append(attr.t)
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in tensors)


def parse_model(code: bytes) -> onnx.ModelProto:
    """Parse and check model bytes; :class:`DeployError` saying why if they are unusable."""
    try:
        model = onnx.load_model_from_string(code)
    except Exception as exc:  # protobuf DecodeError and friends
        raise DeployError(f"not an ONNX model: cannot parse the bytes as ModelProto ({type(exc).__name__}: {exc})") from None
    if not model.graph.node and not model.graph.output:
        raise DeployError("not an ONNX model: the graph has no nodes and no outputs")
    if _uses_external_data(model):
        raise DeployError("model stores tensors as external data; a resource must be one self-contained file")
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DeployError(f"ONNX model failed the checker: {first}") from None
    return model


def signature_of(model: onnx.ModelProto) -> ModelSignature:
    """The :class:`ModelSignature` of a parsed, checked model."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = tuple(_tensor_spec(v, INPUT_DTYPES, "input") for v in model.graph.input if v.name not in initializers)
    outputs = tuple(_tensor_spec(v, OUTPUT_DTYPES, "output") for v in model.graph.output)
    if not outputs:
        raise DeployError("model declares no outputs")
    opsets = {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import}
    operators = sorted({(f"{n.domain}:" if n.domain else "") + n.op_type for n in model.graph.node})
    return ModelSignature(
        opset=opsets.get("ai.onnx", 0),
        opsets=opsets,
        inputs=inputs,
        outputs=outputs,
        operators=tuple(operators),
        ir_version=int(model.ir_version),
        producer=f"{model.producer_name} {model.producer_version}".strip(),
    )


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype for a signature dtype name."""
    return np.dtype(name)
