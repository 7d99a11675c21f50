"""The canonical tensor encoding and the binding of outputs to the result hash."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from ispc_core.errors import RequestError

from ispc_onnx import tensorcodec


def test_layout_is_exactly_as_documented():
    data = tensorcodec.encode_tensors([("y", np.array([[1.0, -2.0]], dtype=np.float32))])
    expected = (
        b"ISPCTEN1" + struct.pack("<I", 1)
        + struct.pack("<H", 1) + b"y" + bytes([1, 2])       # dtype float32 = 1, rank 2
        + struct.pack("<QQ", 1, 2) + struct.pack("<Q", 8)   # dims, nbytes
        + struct.pack("<ff", 1.0, -2.0)
    )
    assert data == expected


@pytest.mark.parametrize(
    "dtype", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
              "uint32", "uint64", "bool"]
)
def test_round_trip_every_dtype(dtype):
    a = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    scalar = np.array(7 if dtype != "bool" else True, dtype=dtype)
    pairs = [("a", a), ("s", scalar), ("empty", np.zeros((0, 5), dtype))]
    decoded = tensorcodec.decode_tensors(tensorcodec.encode_tensors(pairs))
    for (n1, x1), (n2, x2) in zip(pairs, decoded):
        assert n1 == n2 and x1.dtype == x2.dtype and x1.shape == x2.shape and np.array_equal(x1, x2)


def test_big_endian_arrays_encode_little_endian():
    native = np.array([1, 2, 3], dtype="<i4")
    swapped = native.astype(">i4")
    assert tensorcodec.encode_tensor("t", native) == tensorcodec.encode_tensor("t", swapped)


def test_nan_payloads_are_canonical():
    a = np.array([np.nan, 1.0], dtype=np.float32)
    b = a.copy()
    b.view(np.uint32)[0] = 0xFFC00001  # negative NaN with a payload
    assert tensorcodec.encode_tensor("t", a) == tensorcodec.encode_tensor("t", b)


def test_every_field_changes_the_bytes():
    base = tensorcodec.encode_tensors([("y", np.zeros((2, 2), np.float32))])
    variants = [
        [("z", np.zeros((2, 2), np.float32))],        # name
        [("y", np.zeros((2, 2), np.float64))],        # dtype
        [("y", np.zeros((4, 1), np.float32))],        # shape, same element count
        [("y", np.zeros((1, 2, 2), np.float32))],     # rank
        [("y", np.zeros((2, 2), np.float32)), ("w", np.zeros(0, np.float32))],  # count
    ]
    for v in variants:
        assert tensorcodec.encode_tensors(v) != base


def test_malformed_encodings_are_refused():
    good = tensorcodec.encode_tensors([("y", np.ones(3, np.int64))])
    with pytest.raises(RequestError, match="magic"):
        tensorcodec.decode_tensors(b"XXXXXXXX" + good[8:])
    with pytest.raises(RequestError, match="truncated"):
        tensorcodec.decode_tensors(good[:-1])
    with pytest.raises(RequestError, match="trailing"):
        tensorcodec.decode_tensors(good + b"\x00")
    with pytest.raises(RequestError, match="cannot be encoded"):
        tensorcodec.encode_tensor("c", np.zeros(2, np.complex64))


def test_changing_one_output_element_changes_the_result_hash(harness, mlp_code, mlp_x):
    """The binding: the hash covers every output value, not just how many outputs there are."""
    rid, _ = harness.deploy(mlp_code)
    result, ctx = harness.call(rid, {"x": mlp_x})
    ((name, y),) = result.values
    tampered = y.copy()
    tampered[0, 3] = np.nextafter(tampered[0, 3], np.float32(np.inf))  # one ulp on one element
    inputs = [("x", mlp_x)]
    honest = tensorcodec.encode_io(inputs, [(name, y)])
    forged = tensorcodec.encode_io(inputs, [(name, tampered)])
    assert honest == result.output_data
    assert forged != honest
    assert hashlib.sha256(forged).digest() != hashlib.sha256(honest).digest()
    # the trace record (through result.set) changes too, and with it the trace commitment
    assert ctx.draft.return_data == tensorcodec.encode_tensors([(name, y)])
    assert tensorcodec.encode_tensors([(name, tampered)]) != ctx.draft.return_data
    # and so does changing an input element with the outputs held fixed
    x2 = mlp_x.copy()
    x2[0, 0] += 1
    assert tensorcodec.encode_io([("x", x2)], [(name, y)]) != honest
