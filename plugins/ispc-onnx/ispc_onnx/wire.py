"""The byte protocol between the engine and its inference workers.

Messages travel as frames over a Unix stream socket: a little-endian ``u64``
length, then that many bytes.

* Requests (engine → worker) are pickled dicts. The worker trusts its parent,
  so pickle is fine in this direction.
* Replies (worker → engine) are **not** pickled, because a worker runs
  untrusted models and must not be able to make the engine execute code.
  A reply is a ``u32`` header length, a JSON header
  (``{"ok": true}`` or ``{"ok": false, "error": <kind>, "message": <text>}``),
  and a payload: the outputs in the canonical :mod:`ispc_onnx.tensorcodec`
  encoding when ``ok``, else nothing. :func:`parse_reply` checks all of it.
"""

from __future__ import annotations

import json
import pickle
import socket
import struct
import time
from typing import Any

import numpy as np

#: Largest frame either side accepts (inputs and outputs are bounded far below this).
MAX_FRAME = 1 << 32
#: Largest JSON header of a reply.
MAX_HEADER = 1 << 16
#: Error kinds a worker may report.
ERROR_KINDS = frozenset({"load", "run", "deadline", "internal"})

_LEN = struct.Struct("<Q")
_HEAD = struct.Struct("<I")


class WireError(Exception):
    """The peer closed the socket, timed out, or sent bytes that are not a valid frame."""

    def __init__(self, message: str, *, timed_out: bool = False, closed: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.closed = closed


def send_frame(sock: socket.socket, data: bytes) -> None:
    """Send one frame (blocking)."""
    sock.settimeout(None)
    head = _LEN.pack(len(data))
    if len(data) <= 1 << 16:  # one write, so the peer wakes once
        sock.sendall(head + data)
    else:
        sock.sendall(head)
        sock.sendall(data)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks = []
    left = n
    while left:
        if deadline is None:
            sock.settimeout(None)
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WireError("no reply before the deadline", timed_out=True)
            sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except socket.timeout:
            raise WireError("no reply before the deadline", timed_out=True) from None
        except OSError as exc:
            raise WireError(f"socket error: {exc}", closed=True) from None
        if not chunk:
            raise WireError("the peer closed the connection", closed=True)
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket, deadline: float | None = None) -> bytes:
    """Receive one frame; ``deadline`` is a ``time.monotonic()`` value (None: wait forever)."""
    (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size, deadline))
    if n > MAX_FRAME:
        raise WireError(f"frame of {n} bytes is larger than {MAX_FRAME}")
    return _recv_exact(sock, n, deadline)


def encode_request(request: dict[str, Any]) -> bytes:
    """A request frame's bytes."""
    return pickle.dumps(request, protocol=5)


def decode_request(data: bytes) -> dict[str, Any]:
    """The request in a frame (worker side)."""
    return pickle.loads(data)


def pack_array(name: str, array: np.ndarray) -> tuple[str, str, tuple[int, ...], bytes]:
    """An input tensor as plain values (cheaper to pickle than an ndarray)."""
    array = np.ascontiguousarray(array)
    return name, array.dtype.str, array.shape, array.tobytes()


def unpack_array(packed: tuple[str, str, tuple[int, ...], bytes]) -> tuple[str, np.ndarray]:
    """The inverse of :func:`pack_array` (worker side)."""
    name, dtype, shape, data = packed
    return name, np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)


def encode_reply(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """A reply frame's bytes: header length, JSON header, payload."""
    head = json.dumps(header).encode("utf-8")
    return _HEAD.pack(len(head)) + head + payload


def parse_reply(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Check a reply and split it into ``(header, payload)``; :class:`WireError` if malformed."""
    if len(data) < _HEAD.size:
        raise WireError("reply shorter than its header length")
    (n,) = _HEAD.unpack_from(data)
    if n > MAX_HEADER or _HEAD.size + n > len(data):
        raise WireError(f"reply header length {n} is out of range")
    try:
        header = json.loads(data[_HEAD.size : _HEAD.size + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WireError("reply header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("ok"), bool):
        raise WireError("reply header has no boolean 'ok'")
    if not header["ok"]:
        if header.get("error") not in ERROR_KINDS or not isinstance(header.get("message"), str):
            raise WireError("error reply without a known 'error' kind and a 'message'")
    return header, data[_HEAD.size + n :]
