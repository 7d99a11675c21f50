"""Canonical byte encoding of named tensors.

The ONNX engine binds an inference to its transaction through these bytes: the
encoding of the inputs and outputs is the engine's ``output_data`` (which the
core hashes into the execution result hash), and the encoding of the outputs
is recorded in the trace through the ``result.set`` host function. Two
inferences encode to the same bytes exactly when they have the same tensor
names, element types, shapes and element values, in the same order.

Layout (all integers little-endian, no padding)::

    tensors := "ISPCTEN1"            8-byte magic
               u32 count             number of tensors
               tensor{count}
    tensor  := u16 name_len | name   UTF-8, 1..65535 bytes
               u8  dtype             ONNX TensorProto.DataType code (table below)
               u8  rank              0..255
               u64 dim{rank}         each dimension, C (row-major) order
               u64 nbytes            = product(dims) * itemsize
               data                  elements in C order, each little-endian

    io      := "ISPCOIO1"            8-byte magic
               tensors(inputs)       the model's inputs, in model declaration order
               tensors(outputs)      the model's outputs, in model declaration order

Element types (code: numpy dtype, itemsize): 1 float32 (4), 2 uint8 (1),
3 int8 (1), 4 uint16 (2), 5 int16 (2), 6 int32 (4), 7 int64 (8), 9 bool (1,
``0x00`` or ``0x01``), 10 float16 (2), 11 float64 (8), 12 uint32 (4),
13 uint64 (8).

Canonical floats: every NaN is written as the canonical quiet NaN of its width
(``0x7e00``, ``0x7fc00000``, ``0x7ff8000000000000``), so NaN payloads and signs,
which differ between instruction paths, never change the bytes. Signed zeros
are kept as they are (they are produced deterministically).
"""

from __future__ import annotations

import math
import struct
from typing import Iterable, Sequence

import numpy as np

from ispc_core.errors import RequestError

MAGIC = b"ISPCTEN1"
IO_MAGIC = b"ISPCOIO1"

#: ONNX TensorProto data-type code -> numpy dtype (little-endian where it matters).
CODE_TO_DTYPE: dict[int, np.dtype] = {
    1: np.dtype("<f4"),
    2: np.dtype("u1"),
    3: np.dtype("i1"),
    4: np.dtype("<u2"),
    5: np.dtype("<i2"),
    6: np.dtype("<i4"),
    7: np.dtype("<i8"),
    9: np.dtype("?"),
    10: np.dtype("<f2"),
    11: np.dtype("<f8"),
    12: np.dtype("<u4"),
    13: np.dtype("<u8"),
}

#: numpy dtype name -> ONNX code.
NAME_TO_CODE: dict[str, int] = {np.dtype(dt).name: code for code, dt in CODE_TO_DTYPE.items()}

_DTYPE_TO_CODE: dict[np.dtype, int] = {dt: code for code, dt in CODE_TO_DTYPE.items()}

_CANONICAL_NAN = {
    np.dtype("<f2"): np.array([0x7E00], dtype="<u2").view("<f2")[0],
    np.dtype("<f4"): np.array([0x7FC00000], dtype="<u4").view("<f4")[0],
    np.dtype("<f8"): np.array([0x7FF8000000000000], dtype="<u8").view("<f8")[0],
}


def dtype_code(dtype: np.dtype | str) -> int:
    """The ONNX data-type code of a numpy dtype; :class:`RequestError` if not encodable.

    >>> dtype_code("float32")
    1
    """
    code = _DTYPE_TO_CODE.get(dtype) if isinstance(dtype, np.dtype) else None
    if code is not None:
        return code
    name = np.dtype(dtype).name
    try:
        return NAME_TO_CODE[name]
    except KeyError:
        raise RequestError(
            f"tensor element type {name} cannot be encoded; supported: {', '.join(sorted(NAME_TO_CODE))}"
        ) from None


def _canonical_bytes(array: np.ndarray) -> bytes:
    dt = CODE_TO_DTYPE[dtype_code(array.dtype)]
    a = np.ascontiguousarray(array, dtype=dt)
    if dt.kind == "f":
        nan = np.isnan(a)
        if nan.any():
            a = a.copy()
            a[nan] = _CANONICAL_NAN[dt]
    return a.tobytes(order="C")


def encode_tensor(name: str, array: np.ndarray) -> bytes:
    """Encode one named tensor (see the module docstring for the layout)."""
    array = np.asarray(array)
    raw_name = name.encode("utf-8")
    if not 0 < len(raw_name) <= 0xFFFF:
        raise RequestError(f"tensor name must be 1..65535 UTF-8 bytes, got {len(raw_name)}")
    if array.ndim > 255:
        raise RequestError(f"tensor {name!r} has rank {array.ndim}; at most 255 is encodable")
    code = dtype_code(array.dtype)
    data = _canonical_bytes(array)
    head = struct.pack("<H", len(raw_name)) + raw_name + struct.pack("<BB", code, array.ndim)
    dims = struct.pack(f"<{array.ndim}Q", *array.shape)
    return b"".join((head, dims, struct.pack("<Q", len(data)), data))


def encode_tensors(tensors: Iterable[tuple[str, np.ndarray]]) -> bytes:
    """Encode an ordered sequence of ``(name, array)`` pairs as ``tensors``."""
    parts = [encode_tensor(name, array) for name, array in tensors]
    return MAGIC + struct.pack("<I", len(parts)) + b"".join(parts)


def encode_io(
    inputs: Sequence[tuple[str, np.ndarray]], outputs: Sequence[tuple[str, np.ndarray]]
) -> bytes:
    """Encode one inference: its inputs and its outputs (``io`` in the module docstring)."""
    return IO_MAGIC + encode_tensors(inputs) + encode_tensors(outputs)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int, what: str) -> memoryview:
        """The next ``n`` bytes; :class:`RequestError` naming ``what`` if they are not there."""
        if n < 0 or self.pos + n > len(self.data):
            raise RequestError(f"truncated tensor encoding: {what} needs {n} bytes at offset {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        """``struct.unpack`` of the next bytes in format ``fmt``."""
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def _decode_tensors(reader: _Reader) -> list[tuple[str, np.ndarray]]:
    if bytes(reader.take(len(MAGIC), "magic")) != MAGIC:
        raise RequestError("tensor encoding does not start with the ISPCTEN1 magic")
    (count,) = reader.unpack("<I", "tensor count")
    out: list[tuple[str, np.ndarray]] = []
    for _ in range(count):
        (name_len,) = reader.unpack("<H", "name length")
        name = bytes(reader.take(name_len, "name")).decode("utf-8")
        code, rank = reader.unpack("<BB", "dtype and rank")
        if code not in CODE_TO_DTYPE:
            raise RequestError(f"tensor {name!r}: unknown dtype code {code}")
        dims = reader.unpack(f"<{rank}Q", "dimensions")
        (nbytes,) = reader.unpack("<Q", "data length")
        dt = CODE_TO_DTYPE[code]
        expected = math.prod(dims) * dt.itemsize
        if nbytes != expected:
            raise RequestError(f"tensor {name!r}: {nbytes} data bytes, shape {list(dims)} needs {expected}")
        data = reader.take(nbytes, f"data of {name!r}")
        out.append((name, np.frombuffer(bytes(data), dtype=dt).reshape(dims)))
    return out


def decode_tensors(data: bytes) -> list[tuple[str, np.ndarray]]:
    """Decode ``tensors`` back into ``(name, array)`` pairs; :class:`RequestError` if malformed."""
    reader = _Reader(data)
    out = _decode_tensors(reader)
    if reader.pos != len(reader.data):
        raise RequestError(f"{len(reader.data) - reader.pos} trailing bytes after the tensor encoding")
    return out


def decode_io(data: bytes) -> tuple[list[tuple[str, np.ndarray]], list[tuple[str, np.ndarray]]]:
    """Decode ``io`` into ``(inputs, outputs)``; :class:`RequestError` if malformed."""
    reader = _Reader(data)
    if bytes(reader.take(len(IO_MAGIC), "magic")) != IO_MAGIC:
        raise RequestError("inference encoding does not start with the ISPCOIO1 magic")
    inputs = _decode_tensors(reader)
    outputs = _decode_tensors(reader)
    if reader.pos != len(reader.data):
        raise RequestError(f"{len(reader.data) - reader.pos} trailing bytes after the inference encoding")
    return inputs, outputs
