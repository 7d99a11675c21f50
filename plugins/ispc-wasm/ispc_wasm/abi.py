"""The ispc guest ABI, version 1: how host functions look from WebAssembly.

Every :class:`~ispc_core.specs.HostFunction` becomes one import
``ispc.<import_name>`` whose wasm signature is derived from its typed
parameters and result (see ``docs/wasm-abi.md``):

* an ``i64`` parameter is one ``i64``;
* a ``bytes`` or ``str`` parameter is two ``i32``: a pointer into the guest's
  exported ``memory`` and a length in bytes (``str`` must be UTF-8);
* every import returns exactly one ``i64`` (the uniform return convention):

  - result ``i64``: the value itself;
  - result ``None``: ``0``;
  - result ``bytes``/``str``: a packed buffer ``(ptr << 32) | len``. The host
    obtains ``ptr`` by calling the guest's exported allocator
    ``ispc_alloc(len) -> ptr`` and copies the bytes there; an empty result is
    ``0`` (no allocation).

  Errors are never return codes: a refused host call (bad pointer, limit,
  insufficient funds, ...) aborts the execution with a typed ispc error.

Two ABI-internal imports exist besides the host functions:
``ispc.abi_version() -> i32`` (returns :data:`ABI_VERSION`) and
``ispc.abort(ptr: i32, len: i32)`` (the guest gives up with a UTF-8 message;
the call fails with :class:`~ispc_core.errors.ProgramTrap`).

The callbacks built here are created once per host-function set and engine,
and find the running call through a thread-local :class:`CallState`, so a
host call costs no per-call closure creation or dictionary lookup.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Callable, Iterable, Sequence

import attrs
from wasmtime import FuncType, ValType

from ispc_core.errors import HostCallError, ProgramTrap
from ispc_core.specs import HostFunction

#: Version of this ABI, returned by ``ispc.abi_version()``.
ABI_VERSION = 1
#: Module name of every import.
IMPORT_MODULE = "ispc"
#: The linear memory every contract must export.
MEMORY_EXPORT = "memory"
#: The allocator every contract must export: ``ispc_alloc(len: i32) -> ptr: i32``.
ALLOCATOR_EXPORT = "ispc_alloc"
#: Exports that belong to the ABI and cannot be called as contract functions.
ABI_EXPORTS = frozenset({MEMORY_EXPORT, ALLOCATOR_EXPORT})

_I32 = ValType.i32()
_I64 = ValType.i64()
_U32 = 0xFFFFFFFF
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_string_at = ctypes.string_at
_memmove = ctypes.memmove
_addressof = ctypes.addressof


def wasm_params(fn: HostFunction) -> tuple[str, ...]:
    """The wasm parameter types of host function ``fn`` (``("i32", "i32", "i64")`` ...)."""
    out: list[str] = []
    for p in fn.params:
        out.extend(("i64",) if p.type == "i64" else ("i32", "i32"))
    return tuple(out)


def import_signature(fn: HostFunction) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The wasm signature ``(params, results)`` of the import for ``fn``; results are always ``("i64",)``."""
    return wasm_params(fn), ("i64",)


#: ABI-internal imports: name -> (params, results).
ABI_IMPORTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "abi_version": ((), ("i32",)),
    "abort": (("i32", "i32"), ()),
}


def _valtypes(names: Sequence[str]) -> list[ValType]:
    return [_I64 if n == "i64" else _I32 for n in names]


def functype(params: Sequence[str], results: Sequence[str]) -> FuncType:
    """A wasmtime ``FuncType`` from type names."""
    return FuncType(_valtypes(params), _valtypes(results))


@attrs.frozen
class BufferNeeds:
    """Which guest exports a module's imports need; each names the first import that needs it ('' if none)."""

    #: an import passes or returns guest buffers, so ``memory`` must be exported
    memory: str = ""
    #: an import returns bytes/str, so the host must call ``ispc_alloc``
    allocator: str = ""


def buffer_needs(import_names: Iterable[str], host_functions: Sequence[HostFunction]) -> BufferNeeds:
    """What a module importing ``ispc.<name>`` for each of ``import_names`` must export.

    A pure module — one that imports only ``i64`` host functions, or nothing —
    needs neither ``memory`` nor ``ispc_alloc``.
    """
    by_import = {fn.import_name: fn for fn in host_functions}
    memory = allocator = ""
    for name in sorted(set(import_names)):
        fn = by_import.get(name)
        if fn is None:
            if name == "abort" and not memory:
                memory = "ispc.abort"
            continue
        returns_buffer = fn.returns in ("bytes", "str")
        if returns_buffer and not allocator:
            allocator = f"ispc.{name}"
        if (returns_buffer or any(p.type != "i64" for p in fn.params)) and not memory:
            memory = f"ispc.{name}"
    return BufferNeeds(memory=memory, allocator=allocator)


class CallState:
    """The running call, as seen by host callbacks on this thread.

    ``error`` keeps the first exception raised inside a callback, so the
    engine re-raises that very object instead of wasmtime's generic trap.
    ``where`` names guest code the host entered on the guest's behalf
    (the start function, ``ispc_alloc``) while it runs, for error messages.
    """

    __slots__ = ("host", "memory", "alloc", "max_input", "error", "function", "where")

    def __init__(self, host: Any, max_input: int, function: str) -> None:
        self.host = host
        self.memory = None
        self.alloc = None
        self.max_input = max_input
        self.error: BaseException | None = None
        self.function = function
        self.where = ""


_local = threading.local()
_local.state = None


def current_state() -> CallState | None:
    """The call state installed on this thread (``None`` outside an execution)."""
    return getattr(_local, "state", None)


def set_state(state: CallState | None) -> CallState | None:
    """Install ``state`` for this thread and return the previous one."""
    prev = getattr(_local, "state", None)
    _local.state = state
    return prev


def _read(st: CallState, caller: Any, fname: str, pname: str, ptr: int, length: int) -> bytes:
    """Copy ``length`` bytes at ``ptr`` out of guest memory, bounds- and limit-checked."""
    ptr &= _U32
    length &= _U32
    if length > st.max_input:
        raise HostCallError(
            f"{fname}({pname}): length {length} exceeds the input limit of {st.max_input} bytes",
            function=fname,
            argument=pname,
        )
    mem = st.memory
    if mem is None:
        raise HostCallError(f"{fname}({pname}): called before the guest memory exists", function=fname, argument=pname)
    size = mem.data_len(caller)
    if ptr + length > size:
        raise HostCallError(
            f"{fname}({pname}): buffer [{ptr}, {ptr + length}) is outside guest memory of {size} bytes",
            function=fname,
            argument=pname,
        )
    if not length:
        return b""
    return _string_at(_addressof(mem.data_ptr(caller).contents) + ptr, length)


def _write(st: CallState, caller: Any, fname: str, data: bytes) -> int:
    """Copy ``data`` into a guest buffer from ``ispc_alloc``; return the packed ``(ptr << 32) | len``."""
    n = len(data)
    if not n:
        return 0
    if n > _U32:
        raise HostCallError(f"{fname}: result of {n} bytes does not fit a 32-bit length", function=fname, argument="result")
    if st.alloc is None or st.memory is None:
        when = "from the start function, before the module's exports exist" if st.where else "by a module without an allocator"
        raise HostCallError(
            f"{fname}: returns bytes, but was called {when}: the host cannot call {ALLOCATOR_EXPORT}",
            function=fname,
            argument="result",
        )
    if st.where:
        raise HostCallError(
            f"{fname}: returns bytes, but was called {st.where}: {ALLOCATOR_EXPORT} must not call "
            f"host functions that return bytes",
            function=fname,
            argument="result",
        )
    st.where = f"in {ALLOCATOR_EXPORT}({n}) called by the host for {fname}"
    ptr = st.alloc(caller, n) & _U32  # a trap in here propagates with st.where still naming it
    st.where = ""
    mem = st.memory
    size = mem.data_len(caller)
    if ptr == 0 or ptr + n > size:
        raise HostCallError(
            f"{fname}: guest allocator {ALLOCATOR_EXPORT}({n}) returned {ptr}, not a buffer inside guest memory of {size} bytes",
            function=fname,
            argument="result",
        )
    _memmove(_addressof(mem.data_ptr(caller).contents) + ptr, data, n)
    packed = (ptr << 32) | n
    return packed - (1 << 64) if packed > _I64_MAX else packed


def _fail(st: CallState | None, exc: BaseException) -> None:
    if st is not None and st.error is None:
        st.error = exc


def make_callback(fn: HostFunction) -> Callable[..., int]:
    """Build the wasmtime callback for host function ``fn``.

    The callback's ``needs_caller`` attribute says whether wasmtime must pass
    the ``Caller`` first (functions touching guest memory) or only the wasm
    arguments (functions of i64s returning an i64 or nothing).

    The decoding plan (which wasm values form which argument) is computed here,
    once; the callback itself only walks it.
    """
    fname = fn.name
    plan = tuple((p.type, p.name) for p in fn.params)
    returns = fn.returns
    all_i64 = all(t == "i64" for t, _ in plan)

    def finish(st: CallState, caller: Any, result: Any) -> int:
        if returns is None:
            return 0
        if returns == "i64":
            if isinstance(result, bool) or not isinstance(result, int) or not _I64_MIN <= result <= _I64_MAX:
                raise HostCallError(f"{fname}: returned {result!r}, not an i64", function=fname, argument="result")
            return result
        if returns == "str":
            if not isinstance(result, str):
                raise HostCallError(f"{fname}: returned {type(result).__name__}, not a str", function=fname, argument="result")
            return _write(st, caller, fname, result.encode("utf-8"))
        if not isinstance(result, (bytes, bytearray, memoryview)):
            raise HostCallError(f"{fname}: returned {type(result).__name__}, not bytes", function=fname, argument="result")
        return _write(st, caller, fname, bytes(result))

    if all_i64 and returns in (None, "i64"):
        # The hot shape (env.block_height, ...): no memory access, so no Caller needed.
        def callback_i64(*raw: int) -> int:
            st = _local.state
            try:
                result = st.host.invoke(fn, raw)
                if returns is None:
                    return 0
                if type(result) is int and _I64_MIN <= result <= _I64_MAX:
                    return result
                return finish(st, None, result)  # raises the typed error
            except BaseException as exc:
                _fail(st, exc)
                raise

        callback_i64.needs_caller = False  # type: ignore[attr-defined]
        return callback_i64

    if all_i64:

        def callback_ret(caller: Any, *raw: int) -> int:
            st = _local.state
            try:
                return finish(st, caller, st.host.invoke(fn, raw))
            except BaseException as exc:
                _fail(st, exc)
                raise

        callback_ret.needs_caller = True  # type: ignore[attr-defined]
        return callback_ret

    def callback(caller: Any, *raw: int) -> int:  # noqa: F811 - the general shape
        st = _local.state
        try:
            args = []
            i = 0
            for typ, pname in plan:
                if typ == "i64":
                    args.append(raw[i])
                    i += 1
                    continue
                data = _read(st, caller, fname, pname, raw[i], raw[i + 1])
                i += 2
                if typ == "str":
                    try:
                        args.append(data.decode("utf-8"))
                    except UnicodeDecodeError as exc:
                        raise HostCallError(
                            f"{fname}({pname}): not valid UTF-8 ({exc.reason} at byte {exc.start})",
                            function=fname,
                            argument=pname,
                        ) from None
                else:
                    args.append(data)
            return finish(st, caller, st.host.invoke(fn, args))
        except BaseException as exc:
            _fail(st, exc)
            raise

    callback.needs_caller = True  # type: ignore[attr-defined]
    return callback


def _abi_version(caller: Any) -> int:
    return ABI_VERSION


def _abort(caller: Any, ptr: int, length: int) -> None:
    st = _local.state
    try:
        try:
            msg = _read(st, caller, "abort", "message", ptr, min(length & _U32, 4096)).decode("utf-8", "replace")
        except HostCallError as exc:
            msg = f"<unreadable message: {exc}>"
        raise ProgramTrap(f"{st.function}: guest aborted: {msg}")
    except BaseException as exc:
        _fail(st, exc)
        raise


#: ABI-internal callbacks: name -> callable(caller, *args).
ABI_CALLBACKS: dict[str, Callable[..., Any]] = {"abi_version": _abi_version, "abort": _abort}
