"""Guest code the host runs on the guest's behalf, pure modules, and compile limits.

* ``ispc_alloc``, called by the host to hand bytes back, and a module's start
  function: a trap, fuel exhaustion or stack exhaustion there is the same typed
  error as in the called export, and the fuel spent there is counted.
* A module that imports nothing needing guest buffers needs no ``ispc_alloc``
  (and no exported ``memory``).
* Module size is bounded before compiling (``max_code_bytes``, ``max_functions``).
"""

from __future__ import annotations

import time

import pytest
import wasmtime

from ispc_core import errors
from ispc_core.specs import EngineServices, Limits
from ispc_wasm import WasmEngine
from ispc_wasm.modinfo import scan
from ispc_wasm.plugin import ispc_engines

from ispc_wasm_testsupport import Harness, MemoryLedger

#: ispc_alloc loops this many times before returning a buffer (about 6 fuel per iteration)
SPINS = 100_000


def module(alloc_body: str, *, start: str = "", export_body: str = "(call $caller)") -> bytes:
    """A module whose export ``f`` calls ``env.caller`` (bytes: the host re-enters ``ispc_alloc``)."""
    return wasmtime.wat2wasm(f"""(module
      (import "ispc" "env_caller" (func $caller (result i64)))
      (memory (export "memory") 1)
      (func $alloc (export "ispc_alloc") (param i32) (result i32) {alloc_body})
      {start}
      (func (export "f") (result i64) {export_body}))""")


BURN = f"""(local i32) (local.set 1 (i32.const {SPINS}))
  (loop $l (local.set 1 (i32.sub (local.get 1) (i32.const 1))) (br_if $l (local.get 1)))
  (i32.const 64)"""
OK_ALLOC = "(i32.const 64)"


@pytest.fixture
def h(engine, host_functions):
    return Harness(engine, host_functions, MemoryLedger())


def test_fuel_burnt_in_ispc_alloc_is_counted(h):
    cheap = h.call(h.deploy(module(OK_ALLOC)), "f")
    costly = h.call(h.deploy(module(BURN)), "f")
    assert costly.usage["fuel_used"] > cheap.usage["fuel_used"] + 5 * SPINS
    assert h.last_ctx.meter.usage()["fuel_used"] == costly.usage["fuel_used"]


@pytest.mark.parametrize("fuel", [1_000, 5 * SPINS])
def test_fuel_exhausted_in_ispc_alloc_is_out_of_fuel_with_the_real_usage(h, fuel):
    key = h.deploy(module(BURN))
    with pytest.raises(errors.OutOfFuel, match=r"out of fuel in f, in ispc_alloc\(20\) called by the host for env.caller") as info:
        h.call(key, "f", limits=Limits(fuel=fuel))
    err = info.value
    assert err.allowed == fuel and err.used == fuel  # the whole budget, and it needed more
    assert "needed more" in str(err)
    assert h.last_ctx.meter.usage()["fuel_used"] == fuel


def test_fuel_of_ispc_alloc_and_host_costs_share_the_budget(engine, host_functions):
    # the export spends most of the budget in ispc_alloc, then pays a host-function cost
    # (state.set costs 100): the call must not complete under the limit
    code = wasmtime.wat2wasm(f"""(module
      (import "ispc" "env_caller" (func $caller (result i64)))
      (import "ispc" "state_set" (func $set (param i32 i32 i32 i32) (result i64)))
      (memory (export "memory") 1)
      (func $alloc (export "ispc_alloc") (param i32) (result i32) {BURN})
      (func (export "f") (result i64)
        (drop (call $caller))
        (call $set (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4))))""")
    h = Harness(engine, host_functions, MemoryLedger())
    key = h.deploy(code)
    h.call(key, "f")
    guest = h.last_ctx.meter.fuel_used
    needed = h.last_ctx.meter.usage()["fuel_used"]
    assert needed == guest + 100 and guest > 5 * SPINS
    with pytest.raises(errors.OutOfFuel, match=f"{needed} used of {needed - 50}") as info:
        h.call(key, "f", limits=Limits(fuel=needed - 50))  # the guest's part fits, guest + host does not
    assert info.value.used == needed and info.value.allowed == needed - 50


def test_trap_in_ispc_alloc_is_a_program_trap_naming_it(h):
    key = h.deploy(module("unreachable"))
    with pytest.raises(errors.ProgramTrap, match=r"f: wasm trap in ispc_alloc\(20\) called by the host for env.caller: .*unreachable"):
        h.call(key, "f")
    assert h.last_ctx.meter.fuel_used > 0


def test_infinite_recursion_in_ispc_alloc_is_stack_exhaustion(h):
    key = h.deploy(module("(call $alloc (local.get 0))"))
    with pytest.raises(errors.ProgramTrap, match=r"in ispc_alloc\(20\).*call stack exhausted"):
        h.call(key, "f", limits=Limits(fuel=10**12))


def test_infinite_recursion_in_ispc_alloc_under_a_small_budget_is_out_of_fuel(h):
    key = h.deploy(module("(call $alloc (local.get 0))"))
    with pytest.raises(errors.OutOfFuel, match="in ispc_alloc"):
        h.call(key, "f", limits=Limits(fuel=10_000))


def test_ispc_alloc_calling_a_bytes_host_function_is_refused(h):
    # ispc_alloc asks for env.caller, which needs ispc_alloc, which ...
    key = h.deploy(module("(drop (call $caller)) (i32.const 64)"))
    with pytest.raises(errors.HostCallError, match="must not call host functions that return bytes"):
        h.call(key, "f")


def test_deadline_in_ispc_alloc_is_deadline_exceeded(h):
    key = h.deploy(module("(loop $l (br $l)) (i32.const 64)"))
    start = time.monotonic()
    with pytest.raises(errors.DeadlineExceeded, match=r"in ispc_alloc\(20\)"):
        h.call(key, "f", limits=Limits(fuel=10**15, wall_time_ms=100))
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("body,limits,error,match", [
    ("unreachable", Limits(), errors.ProgramTrap, "f: wasm trap in the start function: .*unreachable"),
    ("(loop $l (br $l))", Limits(fuel=10_000), errors.OutOfFuel, "out of fuel in f, in the start function: 10000 used of 10000"),
    ("(call $s)", Limits(fuel=10**12), errors.ProgramTrap, "in the start function: call stack exhausted"),
    ("(drop (call $caller))", Limits(), errors.HostCallError, "called from the start function"),
])
def test_failures_in_a_start_function_are_typed(h, body, limits, error, match):
    key = h.deploy(module(OK_ALLOC, start=f"(func $s {body}) (start $s)"))
    with pytest.raises(error, match=match):
        h.call(key, "f", limits=limits)


def test_fuel_of_the_start_function_is_counted(h):
    plain = h.call(h.deploy(module(OK_ALLOC, export_body="(i64.const 1)")), "f").usage["fuel_used"]
    burn = BURN.replace("(local i32) (local.set 1", "(local i32 i32) (local.set 1")
    started = h.call(h.deploy(module(OK_ALLOC, start=f"(func $s {burn} drop) (start $s)", export_body="(i64.const 1)")), "f")
    assert started.usage["fuel_used"] > plain + 5 * SPINS


# --------------------------------------------------------------------------- pure modules


def test_a_pure_module_needs_no_allocator_and_no_memory(h):
    code = wasmtime.wat2wasm("""(module
      (import "ispc" "env_block_height" (func $height (result i64)))
      (func (export "add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
      (func (export "next") (result i64) (i64.add (call $height) (i64.const 1))))""")
    key = h.deploy(code)
    assert h.call(key, "add", 40, 2).values == (42,)
    assert h.call(key, "next").values == (8,)  # the harness's block height is 7


def test_a_module_passing_buffers_needs_memory_but_not_the_allocator(h):
    code = wasmtime.wat2wasm("""(module
      (import "ispc" "log_write" (func $log (param i32 i32) (result i64)))
      (memory (export "memory") 1)
      (data (i32.const 8) "hi")
      (func (export "f") (result i64) (call $log (i32.const 8) (i32.const 2))))""")
    key = h.deploy(code)
    h.call(key, "f")
    assert h.last_ctx.draft.logs == ["hi"]
    without_memory = wasmtime.wat2wasm("""(module
      (import "ispc" "log_write" (func $log (param i32 i32) (result i64)))
      (func (export "f") (result i64) (call $log (i32.const 8) (i32.const 2))))""")
    with pytest.raises(errors.DeployError, match="does not export its linear memory.*ispc.log_write") as info:
        h.deploy(without_memory)
    assert "ispc_alloc" not in str(info.value)


def test_an_allocator_with_the_wrong_signature_is_still_refused(h):
    code = wasmtime.wat2wasm('(module (func (export "ispc_alloc") (param i64) (result i64) (local.get 0)))')
    with pytest.raises(errors.DeployError, match="ispc_alloc.*wrong signature"):
        h.deploy(code)


# --------------------------------------------------------------------------- compile limits


def straight_line(instructions: int, functions: int = 1) -> bytes:
    body = " ".join(["(local.set 0 (i64.add (local.get 0) (i64.const 12345)))"] * instructions)
    funcs = "\n".join(f"(func (result i64) (local i64) {body} (local.get 0))" for _ in range(functions))
    return wasmtime.wat2wasm(f'(module {funcs} (func (export "f") (result i64) (i64.const 1)))')


def test_scan_reads_sizes_from_the_headers():
    shape = scan(straight_line(100, functions=3))
    assert shape.functions == 4 and 100 * 3 * 9 < shape.code_bytes < 100 * 3 * 12
    assert scan(b"garbage").functions == 0
    assert scan(b"\0asm\x01\0\0\0\x0a\xff").code_bytes == 0  # truncated: left to wasmtime


def test_code_size_limit_refuses_before_compiling(tmp_path, host_functions):
    eng = WasmEngine(limits=Limits(max_code_bytes=100_000))
    try:
        code = straight_line(20_000)  # ~190 KB in one function
        start = time.monotonic()
        with pytest.raises(errors.CompileLimitExceeded, match=r"code section is \d+ bytes, the limit is max_code_bytes = 100000") as info:
            eng.validate(code, host_functions)
        assert time.monotonic() - start < 0.05  # refused without compiling
        assert info.value.limit == "max_code_bytes" and info.value.used > 100_000 and info.value.allowed == 100_000
        assert isinstance(info.value, errors.DeployError)
        assert eng.stats["compiled"] == 0
        eng.validate(straight_line(100), host_functions)  # a small module compiles
    finally:
        eng.close()


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def many_locals(functions: int, per_function: int = 50_000) -> bytes:
    """A module of ``functions`` empty functions, each declaring ``per_function`` i64 locals in 4 bytes."""
    def section(sid: int, payload: bytes) -> bytes:
        return bytes([sid]) + _leb(len(payload)) + payload

    body = _leb(1) + _leb(per_function) + b"\x7e\x0b"
    return (b"\0asm\x01\0\0\0" + section(1, b"\x01\x60\x00\x00") + section(3, _leb(functions) + b"\x00" * functions)
            + section(10, _leb(functions) + (_leb(len(body)) + body) * functions))


def test_declared_locals_count_against_the_code_size_limit(host_functions):
    # 10,000 functions x 50,000 locals is 80 KB of code but ~20 s of compilation
    code = many_locals(10_000)
    assert len(code) < 100_000
    shape = scan(code)
    assert shape.functions == 10_000 and shape.locals == 500_000_000
    eng = WasmEngine()
    try:
        start = time.monotonic()
        with pytest.raises(errors.CompileLimitExceeded, match="declare 500000000 locals in total, more than max_code_bytes") as info:
            eng.validate(code, host_functions)
        assert time.monotonic() - start < 0.5 and eng.stats["compiled"] == 0
        assert info.value.limit == "max_code_bytes"
        eng.validate(many_locals(2), host_functions)  # 100,000 locals compile in a blink
    finally:
        eng.close()


def test_function_count_limit(host_functions):
    eng = WasmEngine(limits=Limits(max_functions=50))
    try:
        with pytest.raises(errors.CompileLimitExceeded, match="defines 101 functions, the limit is max_functions = 50") as info:
            eng.validate(straight_line(1, functions=100), host_functions)
        assert info.value.limit == "max_functions"
    finally:
        eng.close()


def test_default_limits_bound_compile_time(host_functions):
    defaults = Limits()
    assert defaults.max_code_bytes == 4 << 20 and defaults.max_functions == 10_000
    eng = WasmEngine()
    try:
        # the case: tens of MB of straight-line code (here 5 MB) is refused at once
        with pytest.raises(errors.CompileLimitExceeded, match="max_code_bytes"):
            eng.validate(straight_line(550_000), host_functions)
    finally:
        eng.close()


def test_the_plugin_takes_compile_limits_from_the_node_configuration(tmp_path, host_functions):
    (spec,) = ispc_engines()
    config = type("Config", (), {"limits": Limits(max_functions=1)})()
    eng = spec.factory(EngineServices(home=tmp_path, config=config, cache_dir=None))
    try:
        with pytest.raises(errors.CompileLimitExceeded, match="max_functions = 1"):
            eng.validate(straight_line(1, functions=1), host_functions)
    finally:
        eng.close()


def test_compile_limits_apply_to_modules_already_in_the_disk_cache(tmp_path, host_functions):
    code = straight_line(1, functions=20)
    loose = WasmEngine(cache_dir=tmp_path)
    try:
        loose.validate(code, host_functions)
        assert loose.stats["disk_writes"] == 1
    finally:
        loose.close()
    strict = WasmEngine(cache_dir=tmp_path, limits=Limits(max_functions=10))
    try:
        with pytest.raises(errors.CompileLimitExceeded, match="max_functions = 10"):
            strict.validate(code, host_functions)
        assert strict.stats["disk_hits"] == 0
    finally:
        strict.close()


# --------------------------------------------------------------------------- through the coordinator


def test_out_of_fuel_in_ispc_alloc_through_the_coordinator_writes_nothing(tmp_path):
    """The issue's case: the call must not complete and be submitted with fuel_used under the limit."""
    from ispc_core.context import CallRequest
    from ispc_core.coordinator import Manager

    code = module(BURN)
    with Manager.open(tmp_path / "node", overrides={"proof.mode": "off", "chain.accept_unproven": True,
                                                     "limits.fuel": 5 * SPINS}) as m:
        rid = m.deploy(code, kind="wasm").resource_id
        before = (m.node.ledger.snapshot(), [tx for tx, _ in m.node.mempool.list()])
        with pytest.raises(errors.OutOfFuel, match=r"in ispc_alloc\(20\) called by the host for env.caller") as info:
            m.call(CallRequest(resource_id=rid, function="f", caller="alice"))
        assert info.value.used == info.value.allowed == 5 * SPINS
        assert (m.node.ledger.snapshot(), [tx for tx, _ in m.node.mempool.list()]) == before
