"""Trace records, their canonical byte encoding, and the trace commitment.

Every host call a program makes is appended to the trace with its arguments and
result, in order. The encoding is built incrementally as calls happen, so the
trace-size limit is enforced while the program runs, not afterwards.

Canonical encoding (all integers little-endian; see docs/formats.md)::

    trace   := "ISPCTRC1" | record*
    record  := u32 seq | u16 len | function (UTF-8) | u8 nargs | value{nargs} | value(result)
    value   := 0x00                          -- none
             | 0x01 | i64                     -- integer
             | 0x02 | u32 len | bytes         -- bytes
             | 0x03 | u32 len | UTF-8 bytes   -- string

The trace commitment is the Poseidon sponge of the encoding's field elements
(:func:`ispc_core.commitment.trace_commitment`). The trace travels in the
transaction as its *journal* (:mod:`ispc_core.journal`), from which every
verifier rebuilds this encoding.
"""

from __future__ import annotations

import struct
from typing import Any, Iterable

import attrs

from ispc_core.errors import RequestError

MAGIC = b"ISPCTRC1"
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


@attrs.frozen
class TraceRecord:
    """One host call: its position, function name, arguments and result."""

    seq: int
    function: str
    args: tuple[Any, ...]
    result: Any


def encode_value(value: Any) -> bytes:
    """Encode one trace value (None, int, bytes or str) canonically.

    >>> encode_value(5).hex()
    '010500000000000000'
    """
    if value is None:
        return b"\x00"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        if not _I64_MIN <= value <= _I64_MAX:
            raise RequestError(f"integer {value} does not fit in i64")
        return b"\x01" + struct.pack("<q", value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return b"\x02" + struct.pack("<I", len(data)) + data
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"\x03" + struct.pack("<I", len(data)) + data
    raise RequestError(f"value of type {type(value).__name__} cannot be traced")


def encode_record(record: TraceRecord) -> bytes:
    """Encode one record canonically (see the module docstring)."""
    name = record.function.encode("utf-8")
    parts = [struct.pack("<IH", record.seq, len(name)), name, struct.pack("<B", len(record.args))]
    parts.extend(encode_value(a) for a in record.args)
    parts.append(encode_value(record.result))
    return b"".join(parts)


def decode_value(data: bytes, pos: int = 0) -> tuple[Any, int]:
    """Decode one canonical value at ``pos``; returns ``(value, next position)``.

    Raises :class:`RequestError` naming the byte where the encoding is malformed.

    >>> decode_value(bytes.fromhex("010500000000000000"))
    (5, 9)
    """
    if pos >= len(data):
        raise RequestError(f"value truncated at byte {pos}")
    tag = data[pos]
    pos += 1
    if tag == 0:
        return None, pos
    if tag == 1:
        if pos + 8 > len(data):
            raise RequestError(f"integer truncated at byte {pos}")
        return struct.unpack_from("<q", data, pos)[0], pos + 8
    if tag in (2, 3):
        if pos + 4 > len(data):
            raise RequestError(f"length truncated at byte {pos}")
        (n,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if pos + n > len(data):
            raise RequestError(f"value of {n} bytes truncated at byte {pos}")
        raw = data[pos : pos + n]
        if tag == 2:
            return raw, pos + n
        try:
            return raw.decode("utf-8"), pos + n
        except UnicodeDecodeError:
            raise RequestError(f"string at byte {pos} is not valid UTF-8") from None
    raise RequestError(f"unknown value tag {tag} at byte {pos - 1}")


def decode_exact_value(data: bytes) -> Any:
    """Decode bytes holding exactly one canonical value (nothing before or after it)."""
    value, end = decode_value(data, 0)
    if end != len(data):
        raise RequestError(f"{len(data) - end} stray byte(s) after the value")
    return value


def decode(data: bytes) -> list[TraceRecord]:
    """Decode a canonical trace back into records; raise RequestError if malformed."""
    if not data.startswith(MAGIC):
        raise RequestError("trace does not start with the ISPCTRC1 magic")
    pos = len(MAGIC)
    out: list[TraceRecord] = []
    while pos < len(data):
        if pos + 7 > len(data):
            raise RequestError(f"trace truncated at byte {pos}")
        seq, n = struct.unpack_from("<IH", data, pos)
        pos += 6
        if pos + n + 1 > len(data):
            raise RequestError(f"trace truncated at byte {pos}")
        name = data[pos : pos + n].decode("utf-8")
        pos += n
        nargs = data[pos]
        pos += 1
        args = []
        for _ in range(nargs):
            v, pos = decode_value(data, pos)
            args.append(v)
        result, pos = decode_value(data, pos)
        out.append(TraceRecord(seq, name, tuple(args), result))
    return out


class Trace:
    """An append-only trace with its canonical encoding kept up to date."""

    __slots__ = ("records", "_buf")

    def __init__(self) -> None:
        self.records: list[TraceRecord] = []
        self._buf = bytearray(MAGIC)

    def encode_next(self, function: str, args: Iterable[Any], result: Any) -> tuple[TraceRecord, bytes]:
        """Build (but do not append) the next record and its encoding, so its size can be charged first."""
        record = TraceRecord(len(self.records), function, tuple(args), result)
        return record, encode_record(record)

    def append(self, record: TraceRecord, encoded: bytes) -> None:
        """Append a record built by :meth:`encode_next`."""
        self.records.append(record)
        self._buf += encoded

    @property
    def size(self) -> int:
        """Bytes of the canonical encoding so far."""
        return len(self._buf)

    def encoding(self) -> bytes:
        """The canonical encoding of the whole trace."""
        return bytes(self._buf)

    def commitment(self, curve: str = "bn254") -> bytes:
        """The Poseidon trace commitment of the encoding so far (see :mod:`ispc_core.commitment`)."""
        from ispc_core.commitment import trace_commitment

        return trace_commitment(bytes(self._buf), curve)

    def __len__(self) -> int:
        return len(self.records)
