"""The iden3 binary container shared by ``.r1cs``, ``.wtns``, ``.zkey``, ``.ptau``.

Layout (iden3/binfileutils): 4-byte magic, u32 version, u32 section count, then
sections of ``u32 type, u64 size, bytes``. All integers little-endian.
"""

from __future__ import annotations

import struct

from ..errors import FormatError


def write_binfile(magic: bytes, version: int, sections: list[tuple[int, bytes]]) -> bytes:
    """Assemble a container from ``(type, payload)`` sections in the given order."""
    out = [magic, struct.pack("<II", version, len(sections))]
    for typ, payload in sections:
        out.append(struct.pack("<IQ", typ, len(payload)))
        out.append(payload)
    return b"".join(out)


def read_binfile(data: bytes, magic: bytes, max_version: int) -> tuple[int, dict[int, list[bytes]]]:
    """Parse a container; returns ``(version, {type: [payload, ...]})``; :class:`FormatError` names the problem."""
    what = magic.decode()
    if len(data) < 12:
        raise FormatError(f"{what}: file too short for a header")
    if data[:4] != magic:
        raise FormatError(f"{what}: bad magic {data[:4]!r}, expected {magic!r}")
    version, n = struct.unpack_from("<II", data, 4)
    if not 1 <= version <= max_version:
        raise FormatError(f"{what}: unsupported version {version}")
    pos = 12
    sections: dict[int, list[bytes]] = {}
    for i in range(n):
        if pos + 12 > len(data):
            raise FormatError(f"{what}: section {i} header is truncated")
        typ, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise FormatError(f"{what}: section {i} (type {typ}) is truncated: {size} bytes declared")
        sections.setdefault(typ, []).append(bytes(data[pos : pos + size]))
        pos += size
    if pos != len(data):
        raise FormatError(f"{what}: {len(data) - pos} trailing bytes after the last section")
    return version, sections


def one_section(sections: dict[int, list[bytes]], typ: int, what: str, name: str) -> bytes:
    """The single section of ``typ``; :class:`FormatError` if missing or repeated."""
    s = sections.get(typ)
    if not s:
        raise FormatError(f"{what}: missing section {typ} ({name})")
    if len(s) > 1:
        raise FormatError(f"{what}: section {typ} ({name}) appears {len(s)} times")
    return s[0]
