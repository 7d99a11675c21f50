"""What a WebAssembly module's section headers say, read before anything is compiled.

Compile time grows with the code a module carries (about 0.6 s per MB of
straight-line code, 33 µs per function, and 46 ns per declared local — which
a few bytes can declare by the ten thousand — with this engine's
configuration on a 2-CPU machine), so the engine checks :func:`scan` against
the node's limits before it hands the bytes to wasmtime. The scan reads only
section headers, counts and each function's local declarations (no
instruction is decoded): a few milliseconds even at the limits.

Malformed bytes are not an error here: :func:`scan` returns what it could read
and wasmtime's own validation reports the problem.
"""

from __future__ import annotations

import attrs

from ispc_core.errors import CompileLimitExceeded

_MAGIC = b"\0asm"
_SECTION_MEMORY = 5
_SECTION_START = 8
_SECTION_CODE = 10


@attrs.frozen
class ModuleShape:
    """Sizes read from a module's section headers."""

    #: bytes of the code section's payload (all function bodies)
    code_bytes: int = 0
    #: functions the module defines (the code section's count; imports excluded)
    functions: int = 0
    #: smallest initial size, in 64 KiB pages, of the memory the module defines (0: none)
    memory_min_pages: int = 0
    #: whether the module has a start function (run at instantiation)
    has_start: bool = False
    #: locals declared by all function bodies (a few bytes can declare 50,000 of them)
    locals: int = 0


def _leb_u32(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 value at ``pos`` and the position after it; ``ValueError`` if malformed."""
    result = shift = 0
    for _ in range(5):
        if pos >= len(data):
            raise ValueError("truncated LEB128")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise ValueError("LEB128 longer than 5 bytes")


def _skip_sleb(data: bytes, pos: int) -> int:
    """The position after a signed LEB128 value (at most 10 bytes)."""
    for _ in range(10):
        if pos >= len(data):
            raise ValueError("truncated LEB128")
        if not data[pos] & 0x80:
            return pos + 1
        pos += 1
    raise ValueError("LEB128 too long")


def _count_locals(code: bytes, pos: int, end: int, functions: int) -> int:
    """Sum of the local declarations of ``functions`` bodies starting at ``pos`` (headers only)."""
    total = 0
    for _ in range(functions):
        size, body = _leb_u32(code, pos)
        groups, at = _leb_u32(code, body)
        for _ in range(groups):
            count, at = _leb_u32(code, at)
            total += count
            if at >= len(code):
                raise ValueError("truncated local declaration")
            kind = code[at]
            at += 1
            if kind in (0x63, 0x64):  # (ref null? <heaptype>): the heap type follows
                at = _skip_sleb(code, at)
        pos = body + size
        if pos > end:
            raise ValueError("function body past the code section")
    return total


def scan(code: bytes) -> ModuleShape:
    """The :class:`ModuleShape` of ``code`` (as much of it as the headers give)."""
    code_bytes = functions = memory_min = locals_ = 0
    has_start = False
    if code[:4] != _MAGIC or len(code) < 8:
        return ModuleShape()
    pos = 8
    try:
        while pos < len(code):
            section = code[pos]
            size, body = _leb_u32(code, pos + 1)
            end = body + size
            if section == _SECTION_CODE:
                code_bytes = size
                functions, first = _leb_u32(code, body)
                locals_ = _count_locals(code, first, end, functions)
            elif section == _SECTION_START:
                has_start = True
            elif section == _SECTION_MEMORY:
                count, at = _leb_u32(code, body)
                if count:
                    _flags, at = _leb_u32(code, at)
                    memory_min, _ = _leb_u32(code, at)
            pos = end
    except ValueError:
        pass
    return ModuleShape(
        code_bytes=code_bytes, functions=functions, memory_min_pages=memory_min, has_start=has_start, locals=locals_
    )


def check_compile_limits(shape: ModuleShape, max_code_bytes: int, max_functions: int) -> None:
    """Raise :class:`CompileLimitExceeded` naming the first limit ``shape`` passes."""
    if shape.code_bytes > max_code_bytes:
        raise CompileLimitExceeded(
            f"wasm resource refused: its code section is {shape.code_bytes} bytes, "
            f"the limit is max_code_bytes = {max_code_bytes} (compile time grows with code size)",
            limit="max_code_bytes",
            used=shape.code_bytes,
            allowed=max_code_bytes,
        )
    if shape.locals > max_code_bytes:
        raise CompileLimitExceeded(
            f"wasm resource refused: its functions declare {shape.locals} locals in total, more than "
            f"max_code_bytes = {max_code_bytes} allows (each declared local costs compile time, "
            f"like a byte of code)",
            limit="max_code_bytes",
            used=shape.locals,
            allowed=max_code_bytes,
        )
    if shape.functions > max_functions:
        raise CompileLimitExceeded(
            f"wasm resource refused: it defines {shape.functions} functions, "
            f"the limit is max_functions = {max_functions} (compile time grows with the function count)",
            limit="max_functions",
            used=shape.functions,
            allowed=max_functions,
        )
