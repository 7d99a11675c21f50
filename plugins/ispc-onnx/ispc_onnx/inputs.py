"""Load model inputs from JSON files (the ``ispc call MODEL --input FILE.json`` format).

Accepted shapes of the document::

    {"inputs": {"x": {"dtype": "float32", "shape": [1, 16], "data": [...]}}}   # typed, data flat or nested
    {"inputs": {"x": [[0.1, 0.2, ...]]}}                                       # plain nested lists
    {"inputs": [[[0.1, ...]], ...]}                                             # positional, model order
    {"x": [[0.1, ...]]}                                                         # names at the top level
    [[0.1, 0.2, ...]]                                                           # single-input model

A typed entry may give ``"data_b64"`` (base64 of the little-endian element
bytes, C order) instead of ``"data"`` for bit-exact floats. Element types and
shapes come from the entry when given, otherwise from the model's signature
(``ResourceInfo.metadata["inputs"]``); a typed entry whose dtype disagrees with
the model is refused here, before the call.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ispc_core.errors import InvalidArguments, RequestError

from ispc_onnx.model import TensorSpec
from ispc_onnx.tensorcodec import NAME_TO_CODE


def _signature_inputs(info: Any) -> list[TensorSpec] | None:
    if info is None:
        return None
    metadata = getattr(info, "metadata", info)
    if isinstance(metadata, Mapping) and "inputs" in metadata:
        raw = metadata["inputs"]
        items = json.loads(raw) if isinstance(raw, str) else raw
        return [TensorSpec.from_json(o) for o in items]
    return None


def _typed_entry(name: str, entry: Mapping[str, Any], spec: TensorSpec | None) -> np.ndarray:
    unknown = set(entry) - {"dtype", "shape", "data", "data_b64"}
    if unknown:
        raise InvalidArguments(f"input {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    dtype = entry.get("dtype") or (spec.dtype if spec else None)
    if dtype is None:
        raise InvalidArguments(f"input {name!r}: no dtype given and the model signature is unknown")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise InvalidArguments(f"input {name!r}: unknown dtype {dtype!r}") from None
    if dt.name not in NAME_TO_CODE:
        raise InvalidArguments(f"input {name!r}: dtype {dt.name} is not a tensor element type")
    if spec is not None and dt.name != spec.dtype:
        raise InvalidArguments(f"input {name!r}: the file says dtype {dt.name}, the model expects {spec.describe()}")
    if ("data" in entry) == ("data_b64" in entry):
        raise InvalidArguments(f"input {name!r}: give exactly one of 'data' and 'data_b64'")
    shape = entry.get("shape")
    if "data_b64" in entry:
        try:
            raw = base64.b64decode(entry["data_b64"], validate=True)
        except (ValueError, TypeError) as exc:
            raise InvalidArguments(f"input {name!r}: data_b64 is not valid base64 ({exc})") from None
        le = dt.newbyteorder("<") if dt.itemsize > 1 else dt
        if len(raw) % dt.itemsize:
            raise InvalidArguments(f"input {name!r}: {len(raw)} bytes is not a multiple of {dt.itemsize} ({dt.name})")
        array = np.frombuffer(raw, dtype=le).astype(dt)
    else:
        data = entry["data"]
        try:
            raw_arr = np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise InvalidArguments(f"input {name!r}: data is not a rectangular list ({exc})") from None
        if raw_arr.dtype == object:
            raise InvalidArguments(f"input {name!r}: data is ragged or contains non-numbers")
        if dt.kind in "iu" and raw_arr.dtype.kind == "f":
            raise InvalidArguments(f"input {name!r}: dtype {dt.name} needs integer data, got floats")
        if dt.kind in "iu" and raw_arr.size:
            info = np.iinfo(dt)
            if raw_arr.min() < info.min or raw_arr.max() > info.max:
                raise InvalidArguments(f"input {name!r}: values outside [{info.min}, {info.max}] for {dt.name}")
        with np.errstate(over="ignore", invalid="ignore"):
            array = raw_arr.astype(dt)
    if shape is not None:
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise InvalidArguments(f"input {name!r}: shape must be a list of non-negative integers, got {shape!r}")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if array.size != count:
            raise InvalidArguments(f"input {name!r}: shape {shape} holds {count} elements, data has {array.size}")
        array = array.reshape(shape)
    return array


def _plain(name: str, value: Any, spec: TensorSpec | None) -> np.ndarray:
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InvalidArguments(f"input {name!r}: not a rectangular list ({exc})") from None
    if raw.dtype == object:
        raise InvalidArguments(f"input {name!r}: ragged lists or non-numbers")
    if spec is None:
        return raw
    return _typed_entry(name, {"dtype": spec.dtype, "data": value}, spec)


def _one(name: str, value: Any, spec: TensorSpec | None) -> np.ndarray:
    if isinstance(value, Mapping):
        return _typed_entry(name, value, spec)
    return _plain(name, value, spec)


def _is_positional_single(doc: list, spec: TensorSpec) -> bool:
    """``[tensor]`` for a one-input model: one element that is a typed entry or has the input's rank."""
    if len(doc) != 1:
        return False
    if isinstance(doc[0], Mapping):
        return True
    try:
        return np.ndim(doc) == len(spec.shape) + 1
    except ValueError:
        return False


def load_inputs(path_or_dict: Any, info: Any = None) -> dict[str, np.ndarray]:
    """Read inputs from a JSON file path (or an already-parsed document) into arrays.

    ``info`` is the model's ``ResourceInfo`` (or its metadata dict); it supplies
    input names for positional forms and element types for plain lists.
    Raises :class:`InvalidArguments` naming the input when an entry is malformed,
    :class:`RequestError` when the file cannot be read.
    """
    if isinstance(path_or_dict, (str, os.PathLike)):
        path = Path(path_or_dict)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RequestError(f"cannot read input file {path.name}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise InvalidArguments(f"input file {path.name} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    else:
        doc = path_or_dict
    specs = _signature_inputs(info)
    by_name = {s.name: s for s in specs} if specs is not None else {}

    if isinstance(doc, Mapping) and "inputs" in doc and (specs is None or "inputs" not in by_name):
        extra = set(doc) - {"inputs"}
        if extra:
            raise InvalidArguments(f"input document: unknown top-level key(s) {', '.join(sorted(extra))}")
        doc = doc["inputs"]

    if isinstance(doc, Mapping):
        return {str(name): _one(str(name), value, by_name.get(str(name))) for name, value in doc.items()}
    if isinstance(doc, list):
        if specs is None:
            raise InvalidArguments("positional inputs need the model signature to name them")
        if len(specs) == 1 and not _is_positional_single(doc, specs[0]):
            # a single-input model: the list is the tensor itself
            return {specs[0].name: _one(specs[0].name, doc, specs[0])}
        if len(doc) != len(specs):
            raise InvalidArguments(f"the model takes {len(specs)} input(s), the document gives {len(doc)}")
        return {s.name: _one(s.name, v, s) for s, v in zip(specs, doc)}
    raise InvalidArguments(f"input document must be an object or a list, got {type(doc).__name__}")
