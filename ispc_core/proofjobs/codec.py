"""Serialization of what a proof job must survive a restart with.

A job row holds the :class:`~ispc_core.seal.SealedExecution` (everything the
circuit needs, and the unsigned transaction) and the original
:class:`~ispc_core.context.CallRequest` (for re-execution audits). Both are
written as tagged JSON — never pickle, so a damaged or hostile row can fail
to decode but cannot run code — and the row keeps a sha256 of the encoding,
so corruption is detected before anything is proven or submitted.

Value tags: ``b`` bytes (hex), ``t`` tuple, ``l`` list, ``d`` dict with string
keys, ``pb`` a protobuf ``Transaction`` (hex of its deterministic encoding),
``nd`` a numpy array (dtype, shape, little-endian bytes). ``int``, ``float``,
``str``, ``bool`` and ``None`` are plain JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs

from ispc_core.proofjobs.errors import CorruptJob


def _enc(value: Any) -> Any:
    from ispc_core.proto import transaction_pb2 as pb

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"b": bytes(value).hex()}
    if isinstance(value, tuple):
        return {"t": [_enc(v) for v in value]}
    if isinstance(value, list):
        return {"l": [_enc(v) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only dicts with string keys are encoded")
        return {"d": {k: _enc(v) for k, v in value.items()}}
    if isinstance(value, pb.Transaction):
        return {"pb": value.SerializeToString(deterministic=True).hex()}
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if np is not None and isinstance(value, np.generic):
        return _enc(value.item())
    if np is not None and isinstance(value, np.ndarray) and value.dtype != object:
        arr = np.ascontiguousarray(value)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        return {"nd": [arr.dtype.str, list(arr.shape), arr.tobytes().hex()]}
    raise TypeError(f"a value of type {type(value).__name__} cannot be stored in a proof job")


def _dec(node: Any) -> Any:
    from ispc_core.proto import transaction_pb2 as pb

    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (tag, v), = node.items()
        if tag == "b":
            return bytes.fromhex(v)
        if tag == "t":
            return tuple(_dec(x) for x in v)
        if tag == "l":
            return [_dec(x) for x in v]
        if tag == "d":
            return {k: _dec(x) for k, x in v.items()}
        if tag == "pb":
            return pb.Transaction.FromString(bytes.fromhex(v))
        if tag == "nd":
            import numpy as np

            dtype, shape, data = v
            return np.frombuffer(bytes.fromhex(data), dtype=np.dtype(dtype)).reshape(shape).copy()
    raise ValueError(f"unknown encoded value {str(node)[:60]!r}")


def encode_attrs(obj: Any) -> bytes:
    """Tagged-JSON bytes of an attrs instance (every field)."""
    fields = {f.name: _enc(getattr(obj, f.name)) for f in attrs.fields(type(obj))}
    return json.dumps({"type": type(obj).__name__, "fields": fields}, sort_keys=True, separators=(",", ":")).encode()


def decode_attrs(cls: type, data: bytes, *, what: str) -> Any:
    """Rebuild an instance of ``cls`` from :func:`encode_attrs` bytes; :class:`CorruptJob` if impossible.

    Fields the stored form has but ``cls`` no longer declares are ignored, and
    fields ``cls`` gained since keep their defaults, so rows survive additive
    changes of the class.
    """
    try:
        doc = json.loads(bytes(data))
        known = {f.name for f in attrs.fields(cls)}
        kwargs = {k: _dec(v) for k, v in doc["fields"].items() if k in known}
        return cls(**kwargs)
    except CorruptJob:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoding failure is corruption
        raise CorruptJob(f"{what}: cannot decode the stored {cls.__name__}: {type(exc).__name__}: {exc}") from None


def digest(data: bytes) -> bytes:
    """sha256 of stored bytes (kept beside them to detect corruption)."""
    return hashlib.sha256(bytes(data)).digest()


def encode_sealed(sealed) -> bytes:
    """Bytes of a :class:`~ispc_core.seal.SealedExecution`."""
    return encode_attrs(sealed)


def decode_sealed(data: bytes, *, what: str = "proof job"):
    """The :class:`~ispc_core.seal.SealedExecution` encoded by :func:`encode_sealed`."""
    from ispc_core.seal import SealedExecution

    return decode_attrs(SealedExecution, data, what=what)


def encode_request(request) -> bytes:
    """Bytes of a :class:`~ispc_core.context.CallRequest`."""
    return encode_attrs(request)


def decode_request(data: bytes, *, what: str = "proof job"):
    """The :class:`~ispc_core.context.CallRequest` encoded by :func:`encode_request`."""
    from ispc_core.context import CallRequest

    return decode_attrs(CallRequest, data, what=what)


def encode_artifact(artifact) -> bytes:
    """Bytes of a :class:`~ispc_core.specs.ProofArtifact`."""
    return encode_attrs(artifact)


def decode_artifact(data: bytes, *, what: str = "proof job"):
    """The :class:`~ispc_core.specs.ProofArtifact` encoded by :func:`encode_artifact`."""
    from ispc_core.specs import ProofArtifact

    return decode_attrs(ProofArtifact, data, what=what)
