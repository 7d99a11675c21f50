"""The wasm engine: validate contracts at deploy, run calls under limits.

* One :class:`wasmtime.Engine` per node, configured for determinism (no WASI,
  no threads, no relaxed SIMD, NaN canonicalization) with fuel metering and
  epoch interruption on.
* Compiled modules are cached in memory and on disk (serialized, keyed by
  resource id, wasmtime version and engine configuration).
* Every call gets a fresh :class:`wasmtime.Store` and instance, with the
  call's fuel, memory cap and an epoch deadline derived from the context's
  wall-clock deadline; one engine-wide ticker thread advances the epoch while
  calls run.
* Host functions are imports ``ispc.<import_name>`` (see :mod:`ispc_wasm.abi`);
  an ispc error raised inside one surfaces from :meth:`WasmEngine.execute` as
  that same exception object. Every other failure — in the export, the start
  function, or ``ispc_alloc`` re-entered by the host — is mapped by
  :mod:`ispc_wasm.traps`, and the fuel it consumed is charged to the meter.
* Before compiling, the module's code size and function count are checked
  against ``limits.max_code_bytes`` and ``limits.max_functions``
  (:mod:`ispc_wasm.modinfo`): compile time grows with both, and wasmtime's
  compilation cannot be interrupted.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import attrs
import wasmtime
from wasmtime import Config, Linker, Module, Store, WasmtimeError

from ispc_core import errors
from ispc_core.specs import EngineCall, EngineResult, FunctionSignature, HostFunction, Limits, ResourceInfo
from ispc_wasm import abi, modinfo, traps
from ispc_wasm.traps import trap_text as _trap_text

PAGE_SIZE = 65536
_INT_TYPES = ("i32", "i64")
_RANGES = {"i32": (-(1 << 31), (1 << 32) - 1), "i64": (-(1 << 63), (1 << 64) - 1)}

try:
    WASMTIME_VERSION = importlib.metadata.version("wasmtime")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - vendored wasmtime
    WASMTIME_VERSION = "unknown"

#: Engine settings that change compiled code; part of the disk-cache key.
_CONFIG_TAG = "fuel1-epoch1-nancanon1-simd1-relaxed0-threads0-mem64-0-multimem0-v1"


def make_config() -> Config:
    """The deterministic wasmtime configuration every ispc wasm engine uses."""
    cfg = Config()
    cfg.consume_fuel = True
    cfg.epoch_interruption = True
    cfg.cranelift_nan_canonicalization = True
    cfg.wasm_threads = False
    cfg.wasm_relaxed_simd = False
    cfg.wasm_memory64 = False
    cfg.wasm_multi_memory = False
    return cfg


class EpochTicker:
    """One thread per engine that advances the epoch while calls run.

    The epoch tracks elapsed time rather than counting sleeps: after each
    sleep the thread increments the epoch up to ``elapsed / interval``, so
    sleep overshoot never accumulates into a late deadline. The thread waits
    (without ticking) while no call is active; epoch deadlines are relative
    to the epoch at the time they are set, so pausing is harmless.
    """

    def __init__(self, engine: wasmtime.Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self.epoch = 0  # increments so far (the engine's epoch)
        self._base = 0.0  # monotonic time at which epoch 0 would have been
        self._cv = threading.Condition()
        self._active = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Mark one call as running (starting the thread on first use)."""
        with self._cv:
            if not self._active:
                self._base = time.monotonic() - self.epoch * self.interval
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ispc-wasm-epoch", daemon=True)
                self._thread.start()
            self._cv.notify()

    def release(self) -> None:
        """Mark one call as finished."""
        with self._cv:
            self._active -= 1

    def close(self) -> None:
        """Stop the thread."""
        with self._cv:
            self._closed = True
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout=1)

    def _run(self) -> None:
        cv, engine, interval = self._cv, self.engine, self.interval
        monotonic, sleep = time.monotonic, time.sleep
        while True:
            with cv:
                while not self._active and not self._closed:
                    cv.wait()
                if self._closed:
                    return
                base = self._base
            sleep(interval)
            target = int((monotonic() - base) / interval)
            while self.epoch < target:
                engine.increment_epoch()
                self.epoch += 1


@attrs.define
class CompiledModule:
    """A compiled contract and what the engine learned about it."""

    module: Module
    exports: dict[str, FunctionSignature]
    min_pages: int
    #: whether instantiation runs a start function
    has_start: bool = False
    #: InstancePre per host-function set (key of :class:`_LinkerEntry`)
    pre: dict[tuple, Any] = attrs.field(factory=dict)


@attrs.define
class _LinkerEntry:
    functions: tuple[HostFunction, ...]
    linker: Linker


def _sig_names(types: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(t) for t in types)


def _describe(sig: FunctionSignature) -> str:
    res = ", ".join(sig.results) or "none"
    return f"{sig.name}({', '.join(sig.params)}) -> {res}"


class WasmEngine:
    """The ispc engine for WebAssembly resources (kind ``wasm``).

    ``cache_dir`` (optional) holds serialized compiled modules; ``tick_ms`` is
    the epoch period, which bounds how late past its deadline a runaway
    program is stopped; ``limits`` (the node's configured limits) gives
    ``max_code_bytes`` and ``max_functions``, checked before compiling.
    """

    kind = "wasm"

    def __init__(
        self, cache_dir: str | os.PathLike | None = None, *, tick_ms: float = 2.0, limits: Limits | None = None
    ) -> None:
        self.limits = limits if limits is not None else Limits()
        self.config_tag = _CONFIG_TAG
        self.engine = wasmtime.Engine(make_config())
        self.tick_ms = tick_ms
        self._ticker = EpochTicker(self.engine, tick_ms / 1000.0)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._modules: dict[bytes, CompiledModule] = {}
        self._linkers: dict[tuple, _LinkerEntry] = {}
        self._lock = threading.Lock()
        #: counters: compiled, disk_hits, memory_hits, disk_writes
        self.stats = {"compiled": 0, "disk_hits": 0, "memory_hits": 0, "disk_writes": 0}

    # ------------------------------------------------------------------ deploy

    def validate(self, code: bytes, host_functions: Sequence[HostFunction]) -> ResourceInfo:
        """Check a contract at deploy time and compile it into the caches.

        The module must stay within ``max_code_bytes`` and ``max_functions``
        (:class:`~ispc_core.errors.CompileLimitExceeded` naming the limit),
        parse, and import only ``ispc.<import_name>`` of the given host
        functions (or an ABI-internal import) with the ABI signature. It must
        export ``memory`` when it imports anything that passes guest buffers
        (a ``bytes``/``str`` parameter or result, or ``abort``), and the
        allocator ``ispc_alloc(i32) -> i32`` when it imports a host function
        that returns ``bytes`` or ``str``. Raises
        :class:`~ispc_core.errors.DeployError` naming every problem.
        """
        code = bytes(code)
        resource_id = hashlib.sha256(code).digest()
        module = self._compile_cached(resource_id, code, deploy=True)
        needs = self._check_imports(module, host_functions)
        compiled = self._inspect(module, code, needs)
        with self._lock:
            self._modules.setdefault(resource_id, compiled)
        return ResourceInfo(
            kind="wasm",
            exports=tuple(compiled.exports.values()),
            metadata={
                "abi_version": str(abi.ABI_VERSION),
                "memory_min_pages": str(compiled.min_pages),
                "imports": ",".join(sorted(f"{i.module}.{i.name}" for i in module.imports)),
                "wasmtime": WASMTIME_VERSION,
            },
        )

    def _check_imports(self, module: Module, host_functions: Sequence[HostFunction]) -> abi.BufferNeeds:
        """Check every import against the ABI; return which guest exports the imports need."""
        expected: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = dict(abi.ABI_IMPORTS)
        for fn in host_functions:
            expected[fn.import_name] = abi.import_signature(fn)
        unknown: list[str] = []
        mismatched: list[str] = []
        for imp in module.imports:
            full = f"{imp.module}.{imp.name}"
            ty = imp.type
            if imp.module != abi.IMPORT_MODULE or imp.name not in expected or not isinstance(ty, wasmtime.FuncType):
                unknown.append(full)
                continue
            want = expected[imp.name]
            got = (_sig_names(ty.params), _sig_names(ty.results))
            if got != want:
                mismatched.append(
                    f"{full} is declared ({', '.join(got[0])}) -> ({', '.join(got[1])}), "
                    f"the ABI says ({', '.join(want[0])}) -> ({', '.join(want[1])})"
                )
        problems = []
        if unknown:
            problems.append(
                "unknown imports: " + ", ".join(unknown)
                + f" (a contract may import only module {abi.IMPORT_MODULE!r} functions: "
                + ", ".join(sorted(expected)) + ")"
            )
        if mismatched:
            problems.append("import signature mismatch: " + "; ".join(mismatched))
        if problems:
            raise errors.DeployError("wasm resource refused: " + "; ".join(problems))
        return abi.buffer_needs({imp.name for imp in module.imports}, host_functions)

    def _inspect(self, module: Module, code: bytes, needs: abi.BufferNeeds | None = None) -> CompiledModule:
        """Exports, allocator and memory of a compiled module; ``needs`` (at deploy) says which are required."""
        exports: dict[str, FunctionSignature] = {}
        memory_type = None
        alloc_ok = alloc_present = False
        for exp in module.exports:
            ty = exp.type
            if exp.name == abi.MEMORY_EXPORT and isinstance(ty, wasmtime.MemoryType):
                memory_type = ty
                continue
            if not isinstance(ty, wasmtime.FuncType):
                continue
            sig = FunctionSignature(exp.name, _sig_names(ty.params), _sig_names(ty.results))
            if exp.name == abi.ALLOCATOR_EXPORT:
                alloc_present = True
                alloc_ok = sig.params == ("i32",) and sig.results == ("i32",)
                continue
            if all(t in _INT_TYPES for t in sig.params + sig.results):
                exports[exp.name] = sig
        problems = []
        if needs is not None:
            if memory_type is None and needs.memory:
                problems.append(
                    f"it does not export its linear memory as {abi.MEMORY_EXPORT!r} "
                    f"(needed because it imports {needs.memory})"
                )
            if not alloc_ok and (needs.allocator or alloc_present):
                why = f"needed because it imports {needs.allocator}, which returns bytes" if needs.allocator else "wrong signature"
                problems.append(f"it does not export the allocator {abi.ALLOCATOR_EXPORT}(i32) -> i32 ({why})")
        if problems:
            raise errors.DeployError("wasm resource refused: " + "; ".join(problems))
        shape = modinfo.scan(code)
        min_pages = memory_type.limits.min if memory_type is not None else shape.memory_min_pages
        return CompiledModule(module=module, exports=exports, min_pages=min_pages, has_start=shape.has_start)

    # ------------------------------------------------------------------ caches

    def _cache_path(self, resource_id: bytes) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{resource_id.hex()}.wasmtime-{WASMTIME_VERSION}.{self.config_tag}.cwasm"

    def _compile_cached(self, resource_id: bytes, code: bytes, *, deploy: bool = False) -> Module:
        """The compiled module for ``resource_id``: memory cache, then disk cache, then compile."""
        with self._lock:
            hit = self._modules.get(resource_id)
        if hit is not None:
            self.stats["memory_hits"] += 1
            return hit.module
        # The node's limits apply whether or not a compiled copy is on disk (the same answer either way).
        modinfo.check_compile_limits(modinfo.scan(code), self.limits.max_code_bytes, self.limits.max_functions)
        path = self._cache_path(resource_id)
        if path is not None and path.is_file():
            try:
                module = Module.deserialize_file(self.engine, str(path))
                self.stats["disk_hits"] += 1
                return module
            except (WasmtimeError, OSError):
                try:  # stale or corrupt: recompile below and overwrite
                    path.unlink()
                except OSError:
                    pass
        try:
            module = Module(self.engine, code)
        except WasmtimeError as exc:
            err = errors.DeployError if deploy else errors.ExecutionError
            raise err(f"not a valid WebAssembly module: {_trap_text(exc)}") from None
        self.stats["compiled"] += 1
        if path is not None:
            self._write_cache(path, module)
        return module

    def _write_cache(self, path: Path, module: Module) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".cwasm")
            with os.fdopen(fd, "wb") as fh:
                fh.write(module.serialize())
            os.replace(tmp, path)
            self.stats["disk_writes"] += 1
        except OSError:  # a read-only cache only costs compile time
            pass

    def _compiled(self, resource_id: bytes, code: bytes) -> CompiledModule:
        compiled = self._modules.get(resource_id)
        if compiled is not None:
            return compiled
        module = self._compile_cached(resource_id, code)
        compiled = self._inspect(module, code)
        with self._lock:
            return self._modules.setdefault(resource_id, compiled)

    def _linker_for(self, functions: dict[str, HostFunction]) -> tuple[tuple, _LinkerEntry]:
        key = tuple(map(id, functions.values()))
        entry = self._linkers.get(key)
        if entry is not None:
            return key, entry
        linker = Linker(self.engine)
        for name, (params, results) in abi.ABI_IMPORTS.items():
            linker.define_func(abi.IMPORT_MODULE, name, abi.functype(params, results), abi.ABI_CALLBACKS[name], access_caller=True)
        for fn in functions.values():
            params, results = abi.import_signature(fn)
            callback = abi.make_callback(fn)
            linker.define_func(
                abi.IMPORT_MODULE, fn.import_name, abi.functype(params, results), callback,
                access_caller=callback.needs_caller,
            )
        entry = _LinkerEntry(tuple(functions.values()), linker)
        with self._lock:
            if len(self._linkers) >= 64:
                self._linkers.clear()
            self._linkers[key] = entry
        return key, entry

    # ------------------------------------------------------------------ execute

    def _convert_args(self, sig: FunctionSignature, args: Sequence[Any]) -> list[int]:
        if len(args) != len(sig.params):
            raise errors.InvalidArguments(
                f"{sig.name} takes {len(sig.params)} arguments, got {len(args)}: expected {_describe(sig)}"
            )
        out = []
        for i, (typ, value) in enumerate(zip(sig.params, args)):
            lo, hi = _RANGES[typ]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise errors.InvalidArguments(
                    f"{sig.name}: argument {i} is {value!r}, not an {typ}: expected {_describe(sig)}"
                )
            bits = 32 if typ == "i32" else 64
            if value >= 1 << (bits - 1):  # unsigned spelling of a negative value
                value -= 1 << bits
            out.append(value)
        return out

    def execute(self, call: EngineCall) -> EngineResult:
        """Run ``call.function`` in a fresh instance under ``call.context``'s limits.

        Raises :class:`~ispc_core.errors.UnknownFunction`,
        :class:`~ispc_core.errors.InvalidArguments`, the limit errors
        (:class:`~ispc_core.errors.OutOfFuel`,
        :class:`~ispc_core.errors.MemoryLimitExceeded`,
        :class:`~ispc_core.errors.DeadlineExceeded`, and whatever the host
        dispatcher raises), :class:`~ispc_core.errors.ProgramTrap` for traps.
        """
        ctx = call.context
        host = ctx.host
        if host is None:
            raise errors.ExecutionError("the execution context has no host dispatcher (closed?)")
        compiled = self._modules.get(call.resource_id)
        if compiled is None:
            compiled = self._compiled(call.resource_id, call.code)
        else:
            self.stats["memory_hits"] += 1
        sig = compiled.exports.get(call.function)
        if sig is None:
            raise errors.UnknownFunction(
                f"the wasm resource exports no function {call.function!r}; it exports: "
                + (", ".join(_describe(s) for s in compiled.exports.values()) or "nothing callable")
            )
        args = self._convert_args(sig, call.args)
        limits = ctx.limits
        meter = ctx.meter
        if compiled.min_pages > limits.memory_pages:
            raise errors.MemoryLimitExceeded(
                f"the module needs {compiled.min_pages} memory pages at instantiation, "
                f"the limit is {limits.memory_pages} pages",
                used=compiled.min_pages,
                allowed=limits.memory_pages,
            )

        key, entry = self._linker_for(host.functions)
        pre = compiled.pre.get(key)
        if pre is None:
            try:
                pre = entry.linker.instantiate_pre(compiled.module)
            except WasmtimeError as exc:
                raise errors.ExecutionError(
                    f"the resource's imports are not all provided by the installed host functions: {_trap_text(exc)}"
                ) from None
            compiled.pre[key] = pre

        store = Store(self.engine)
        store.set_limits(memory_size=limits.memory_pages * PAGE_SIZE)
        store.set_fuel(limits.fuel)
        remaining_ms = (meter.deadline - time.monotonic()) * 1000.0
        if remaining_ms <= 0:
            meter.check_deadline()
        store.set_epoch_deadline(max(1, math.ceil(remaining_ms / self.tick_ms)))

        state = abi.CallState(host, limits.max_input_bytes, call.function)
        prev = abi.set_state(state)
        self._ticker.acquire()
        try:
            try:
                state.where = "in the start function" if compiled.has_start else ""
                instance = pre.instantiate(store)
                state.where = ""
                exports = instance.exports(store)
                state.memory = exports.get(abi.MEMORY_EXPORT)
                state.alloc = exports.get(abi.ALLOCATOR_EXPORT)
                raw = exports[call.function](store, *args)
            except BaseException as exc:  # noqa: BLE001 - mapped to a typed error
                raise traps.typed_error(exc, state, call.function, meter, self._consumed(store, limits)) from None
        finally:
            self._ticker.release()
            abi.set_state(prev)
        meter.charge_fuel(self._consumed(store, limits), where=f"in {call.function}")
        if raw is None:
            values: tuple = ()
        elif isinstance(raw, list):
            values = tuple(raw)
        else:
            values = (raw,)
        return EngineResult(values=values, usage={"fuel_used": meter.fuel_used, "host_calls": meter.host_calls})

    @staticmethod
    def _consumed(store: Store, limits: Limits) -> int:
        """Fuel the guest consumed in ``store`` (which started with ``limits.fuel``)."""
        try:
            return limits.fuel - store.get_fuel()
        except WasmtimeError:  # pragma: no cover
            return limits.fuel

    def close(self) -> None:
        """Stop the epoch thread and drop the caches."""
        self._ticker.close()
        self._modules.clear()
        self._linkers.clear()
