"""The wasm engine on its own: deploy checks, contracts, limits, ABI errors, caches."""

from __future__ import annotations

import hashlib
import threading
import time

import coincurve
import pytest
import wasmtime

from ispc_core import errors
from ispc_core.specs import EngineCall, EngineServices, HostFunction, Limits, Param
from ispc_wasm import WasmEngine, import_signature
from ispc_wasm.plugin import ispc_engines

from ispc_wasm_testsupport import CALLER, ORACLE_KEY_HEX, RECIPIENT, Harness, MemoryLedger, contract_bytes, evidence_digest


def wat(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


#: A minimal ABI-conforming module skeleton (memory + bump allocator).
ALLOC = """
 (memory (export "memory") 1)
 (global $hp (mut i32) (i32.const 4096))
 (func (export "ispc_alloc") (param i32) (result i32) (local i32)
   global.get $hp local.set 1
   global.get $hp local.get 0 i32.add global.set $hp
   local.get 1)
"""


# --------------------------------------------------------------------------- plugin


def test_plugin_hook_registers_the_engine(tmp_path):
    (spec,) = ispc_engines()
    assert spec.name == "wasm" and spec.kinds == ("wasm",) and spec.suffixes == (".wasm",)
    eng = spec.factory(EngineServices(home=tmp_path, config=None, cache_dir=tmp_path / "cache"))
    try:
        assert isinstance(eng, WasmEngine)
        assert eng.cache_dir == tmp_path / "cache" / "wasm"
    finally:
        eng.close()


def test_import_signatures_are_derived_from_types():
    f = HostFunction("x.y", (Param("a", "bytes"), Param("n", "i64"), Param("s", "str")), "bytes", lambda c, *a: b"")
    assert import_signature(f) == (("i32", "i32", "i64", "i32", "i32"), ("i64",))


# --------------------------------------------------------------------------- deploy


def test_contracts_validate_and_list_exports(engine, host_functions):

    info = engine.validate(contract_bytes("token"), host_functions)
    assert info.kind == "wasm"
    sigs = {s.name: s for s in info.exports}
    assert set(sigs) == {"balance", "transfer"}
    assert sigs["transfer"].params == ("i64",) and sigs["transfer"].results == ("i64",)
    assert info.metadata["abi_version"] == "1"
    assert "ispc.tx_transfer" in info.metadata["imports"]


def test_unknown_imports_are_listed(engine, host_functions):
    code = wat(f"""(module
      (import "ispc" "no_such_fn" (func (param i32)))
      (import "env" "clock" (func (result i64)))
      (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
      {ALLOC})""")
    with pytest.raises(errors.DeployError) as ei:
        engine.validate(code, host_functions)
    msg = str(ei.value)
    for name in ("ispc.no_such_fn", "env.clock", "wasi_snapshot_preview1.random_get"):
        assert name in msg


def test_import_signature_mismatch_is_refused(engine, host_functions):
    code = wat(f"""(module (import "ispc" "tx_transfer" (func (param i32 i32 i32) (result i64))) {ALLOC})""")
    with pytest.raises(errors.DeployError, match=r"ispc.tx_transfer is declared \(i32, i32, i32\)"):
        engine.validate(code, host_functions)


def test_missing_memory_or_allocator_is_refused_when_an_import_needs_them(engine, host_functions):
    # env.caller returns bytes: the host needs the guest's memory and allocator to hand them over
    code = wat('(module (import "ispc" "env_caller" (func (result i64))) (func (export "f")))')
    with pytest.raises(errors.DeployError, match="memory.*ispc.env_caller.*ispc_alloc.*ispc.env_caller, which returns bytes"):
        engine.validate(code, host_functions)


def test_garbage_is_refused(engine, host_functions):
    with pytest.raises(errors.DeployError, match="not a valid WebAssembly module"):
        engine.validate(b"\0asm\x01\0\0\0garbage", host_functions)


def test_third_party_host_function_becomes_an_import(engine, host_functions):
    calls = []

    def greet(call, name, times):
        calls.append((name, times))
        return ("hi " + name) * times

    extra = HostFunction("demo.greet", (Param("name", "str"), Param("times", "i64")), "str", greet)
    fns = [*host_functions, extra]
    code = wat(f"""(module
      (import "ispc" "demo_greet" (func $g (param i32 i32 i64) (result i64)))
      (import "ispc" "result_set" (func $r (param i32 i32) (result i64)))
      {ALLOC}
      (data (i32.const 16) "bob")
      (func (export "run") (result i64) (local i64)
        (local.set 0 (call $g (i32.const 16) (i32.const 3) (i64.const 2)))
        (drop (call $r (i32.wrap_i64 (i64.shr_u (local.get 0) (i64.const 32))) (i32.wrap_i64 (local.get 0))))
        (local.get 0)))""")

    h = Harness(engine, fns, MemoryLedger())
    key = h.deploy(code)
    res = h.call(key, "run")
    assert calls == [("bob", 2)]
    assert res.values[0] & 0xFFFFFFFF == len("hi bobhi bob")
    assert h.last_ctx.draft.return_data == b"hi bobhi bob"


# --------------------------------------------------------------------------- contracts


def test_token_balance_and_transfer(harness):
    assert harness.call("token", "balance").values == (1_000,)
    assert harness.call("token", "balance", input_data=RECIPIENT).values == (5,)
    res = harness.call("token", "transfer", 250, input_data=RECIPIENT)
    ctx = harness.last_ctx
    assert res.values == (0,)
    assert ctx.draft.credits == [(RECIPIENT, 250)] and ctx.draft.debit == 250
    payload = RECIPIENT + (250).to_bytes(8, "little")
    assert ctx.draft.events == [("transfer", payload)]
    assert ctx.draft.return_data == payload
    assert res.usage["host_calls"] == 4 and res.usage["fuel_used"] > 0
    assert ctx.meter.fuel_used == res.usage["fuel_used"]
    assert [r.function for r in ctx.trace.records] == ["env.input", "tx.transfer", "event.emit", "result.set"]


def test_insufficient_funds_surfaces_as_the_same_typed_error(harness):
    with pytest.raises(errors.InsufficientFunds):
        harness.call("token", "transfer", 10_000, input_data=RECIPIENT)
    assert harness.last_ctx.draft.credits == []


def test_host_exception_object_is_reraised_unchanged(engine):
    raised = []

    def boom(call):
        exc = errors.HostCallError("custom refusal", function="demo.boom", argument="x")
        raised.append(exc)
        raise exc


    fns = [HostFunction("demo.boom", (), "i64", boom)]
    h = Harness(engine, fns, MemoryLedger())
    key = h.deploy(wat(f"""(module (import "ispc" "demo_boom" (func $b (result i64))) {ALLOC}
        (func (export "run") (result i64) call $b))"""))
    with pytest.raises(errors.HostCallError) as ei:
        h.call(key, "run")
    assert ei.value is raised[0]


def test_counter_state_and_versions(harness):
    assert harness.call("counter", "get").values == (0,)
    assert harness.call("counter", "version").values == (0,)
    for expected in (5, 12):
        res = harness.call("counter", "increment", expected - harness.call("counter", "get").values[0])
        assert res.values == (expected,)
        harness.ledger.commit(harness.last_ctx)
    assert harness.call("counter", "get").values == (12,)
    assert harness.call("counter", "version").values == (2,)


def _oracle_input(price: int, *, sign_price: int | None = None) -> bytes:
    claim = price.to_bytes(8, "little")
    signed = (sign_price if sign_price is not None else price).to_bytes(8, "little")
    key = coincurve.PrivateKey(bytes.fromhex(ORACLE_KEY_HEX))
    der = key.sign(evidence_digest("price", b"ETH/USD", signed), hasher=None)
    sig = coincurve.ecdsa.serialize_compact(coincurve.ecdsa.der_to_cdata(der))
    return RECIPIENT + claim + sig


def test_oracle_payment_pays_by_attested_price(harness):
    res = harness.call("oracle_payment", "pay", 3, input_data=_oracle_input(30))
    ctx = harness.last_ctx
    assert res.values == (90,)
    assert ctx.draft.credits == [(RECIPIENT, 90)]
    assert ctx.draft.external[0].verified
    assert ctx.draft.events == [("payment", RECIPIENT + (90).to_bytes(8, "little"))]


def test_oracle_payment_rejects_forged_price(harness):
    res = harness.call("oracle_payment", "pay", 3, input_data=_oracle_input(1, sign_price=30))
    assert res.values == (-1,)
    assert harness.last_ctx.draft.credits == []
    assert harness.last_ctx.draft.logs == ["pay: oracle evidence rejected, nothing paid"]


# --------------------------------------------------------------------------- limits


def test_fuel_limit(harness):
    with pytest.raises(errors.OutOfFuel) as ei:
        harness.call("adversarial", "spin", limits=Limits(fuel=200_000))
    assert ei.value.used == 200_000 and ei.value.allowed == 200_000
    assert harness.last_ctx.meter.fuel_used == 200_000


def test_memory_growth_is_refused_inside_the_guest(harness):
    res = harness.call("adversarial", "bomb", limits=Limits(memory_pages=8))
    assert res.values == (8,)  # grew to the cap, then memory.grow returned -1


def test_instantiation_beyond_the_memory_cap_is_refused(harness):
    with pytest.raises(errors.MemoryLimitExceeded) as ei:
        harness.call("adversarial", "spin", limits=Limits(memory_pages=1))
    assert ei.value.used == 2 and ei.value.allowed == 1


def test_infinite_loop_stopped_near_the_deadline(harness):
    harness.call("adversarial", "div", 1, 1)  # warm: compiled, linker ready
    with pytest.raises(errors.DeadlineExceeded) as ei:
        harness.call("adversarial", "spin", limits=Limits(fuel=1 << 60, wall_time_ms=150))
    late = time.monotonic() - harness.last_ctx.meter.deadline
    assert late < 0.05, f"stopped {late * 1000:.1f} ms after the deadline"
    assert ei.value.allowed == 150


def test_host_call_limit(harness):
    with pytest.raises(errors.HostCallLimitExceeded):
        harness.call("adversarial", "host_spam", 50, limits=Limits(max_host_calls=10))
    assert harness.call("adversarial", "host_spam", 10, limits=Limits(max_host_calls=10)).values == (70,)


def test_trace_limit(harness):
    with pytest.raises(errors.TraceLimitExceeded):
        harness.call("adversarial", "trace_spam", 100, limits=Limits(max_trace_bytes=8 * 1024))


# --------------------------------------------------------------------------- ABI errors


def test_out_of_bounds_pointer(harness):
    with pytest.raises(errors.HostCallError) as ei:
        harness.call("adversarial", "oob_pointer")
    assert (ei.value.function, ei.value.argument) == ("log.write", "message")
    assert "outside guest memory" in str(ei.value)


def test_huge_length(harness):
    with pytest.raises(errors.HostCallError) as ei:
        harness.call("adversarial", "huge_length")
    assert (ei.value.function, ei.value.argument) == ("state.get", "key")
    assert "exceeds the input limit" in str(ei.value)


def test_bad_utf8(harness):
    with pytest.raises(errors.HostCallError) as ei:
        harness.call("adversarial", "bad_utf8")
    assert (ei.value.function, ei.value.argument) == ("log.write", "message")
    assert "UTF-8" in str(ei.value)


def test_broken_guest_allocator_is_a_host_call_error(engine, host_functions):

    h = Harness(engine, host_functions, MemoryLedger())
    key = h.deploy(wat("""(module (import "ispc" "env_chain_id" (func $c (result i64)))
        (memory (export "memory") 1)
        (func (export "ispc_alloc") (param i32) (result i32) i32.const 65530)
        (func (export "run") (result i64) call $c))"""))
    with pytest.raises(errors.HostCallError) as ei:
        h.call(key, "run")
    assert ei.value.function == "env.chain_id" and ei.value.argument == "result"


def test_unknown_function_lists_exports(harness):
    with pytest.raises(errors.UnknownFunction) as ei:
        harness.call("token", "mint", 1)
    assert "balance() -> i64" in str(ei.value) and "transfer(i64) -> i64" in str(ei.value)
    with pytest.raises(errors.UnknownFunction):
        harness.call("token", "ispc_alloc", 1)  # ABI exports are not callable


@pytest.mark.parametrize("args", [(), (1, 2), ("1",), (1.5,), (True,), (1 << 64,)])
def test_wrong_arguments(harness, args):
    with pytest.raises(errors.InvalidArguments, match=r"transfer\(i64\) -> i64"):
        harness.call("token", "transfer", *args, input_data=RECIPIENT)


@pytest.mark.parametrize(
    "function,args,needle",
    [
        ("div", (1, 0), "divide by zero"),
        ("boom", (), "unreachable"),
        ("recurse", (10_000_000,), "out of bounds memory access"),  # C shadow stack runs out
        ("abort_msg", (), "the contract gave up on purpose"),
    ],
)
def test_traps(harness, function, args, needle):
    with pytest.raises(errors.ProgramTrap) as ei:
        harness.call("adversarial", function, *args)
    assert needle in str(ei.value)
    assert str(ei.value).startswith(function)


def test_native_stack_overflow_is_a_trap(engine, host_functions):
    h = Harness(engine, host_functions, MemoryLedger())
    key = h.deploy(wat(f"""(module {ALLOC}
        (func $f (export "rec") (param i64) (result i64)
          (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (local.get 0))))"""))
    with pytest.raises(errors.ProgramTrap, match="call stack exhausted"):
        h.call(key, "rec", 0)
    assert h.call("counter", "get").values == (0,)


def test_recursion_within_bounds_works(harness):
    assert harness.call("adversarial", "recurse", 100).values == (5050,)


# --------------------------------------------------------------------------- determinism, resilience, caches


def test_same_call_twice_gives_byte_identical_trace(harness):
    inp = _oracle_input(30)
    harness.call("oracle_payment", "pay", 3, input_data=inp)
    first = harness.last_ctx.trace.encoding()
    fuel1 = harness.last_ctx.meter.fuel_used
    harness.call("oracle_payment", "pay", 3, input_data=inp)
    assert harness.last_ctx.trace.encoding() == first
    assert harness.last_ctx.meter.fuel_used == fuel1
    assert len(harness.last_ctx.trace) == 7


FAILURES = [
    ("spin", (), Limits(fuel=100_000), errors.OutOfFuel),
    ("spin", (), Limits(fuel=1 << 60, wall_time_ms=30), errors.DeadlineExceeded),
    ("spin", (), Limits(memory_pages=1), errors.MemoryLimitExceeded),
    ("host_spam", (100,), Limits(max_host_calls=3), errors.HostCallLimitExceeded),
    ("trace_spam", (100,), Limits(max_trace_bytes=2000), errors.TraceLimitExceeded),
    ("oob_pointer", (), None, errors.HostCallError),
    ("huge_length", (), None, errors.HostCallError),
    ("bad_utf8", (), None, errors.HostCallError),
    ("div", (1, 0), None, errors.ProgramTrap),
    ("recurse", (10_000_000,), None, errors.ProgramTrap),
    ("abort_msg", (), None, errors.ProgramTrap),
    ("nope", (), None, errors.UnknownFunction),
    ("div", (1,), None, errors.InvalidArguments),
]


def test_engine_keeps_serving_after_each_failure(harness):
    for function, args, limits, exc in FAILURES:
        with pytest.raises(exc):
            harness.call("adversarial", function, *args, limits=limits)
        assert harness.call("counter", "increment", 2).values == (2,), f"after {function}"
        assert harness.call("adversarial", "div", 9, 3).values == (3,)


def test_compiled_module_cache_hit_from_disk(tmp_path, host_functions):

    code = contract_bytes("counter")
    first = WasmEngine(cache_dir=tmp_path)
    try:
        first.validate(code, host_functions)
        assert first.stats["compiled"] == 1 and first.stats["disk_writes"] == 1
    finally:
        first.close()
    files = list(tmp_path.glob("*.cwasm"))
    assert len(files) == 1 and files[0].name.startswith(hashlib.sha256(code).hexdigest())
    assert "wasmtime-" in files[0].name

    second = WasmEngine(cache_dir=tmp_path)
    try:
        h = Harness(second, host_functions, MemoryLedger())
        rid = hashlib.sha256(code).digest()
        info = second.validate(code, host_functions)
        ctx = h.context("increment", rid=rid)
        res = second.execute(EngineCall(rid, code, info, "increment", (4,), ctx))
        assert res.values == (4,)
        assert second.stats["compiled"] == 0 and second.stats["disk_hits"] == 1
    finally:
        second.close()


def test_corrupt_disk_cache_is_recompiled(tmp_path, host_functions):

    code = contract_bytes("counter")
    eng = WasmEngine(cache_dir=tmp_path)
    eng.validate(code, host_functions)
    eng.close()
    (path,) = tmp_path.glob("*.cwasm")
    path.write_bytes(b"not a module")
    eng = WasmEngine(cache_dir=tmp_path)
    try:
        eng.validate(code, host_functions)
        assert eng.stats["compiled"] == 1
    finally:
        eng.close()


def test_concurrent_calls_are_isolated(engine, host_functions):
    """A failing call on one thread never leaks its error into another's."""

    errors_seen: list[BaseException] = []

    def worker(fail: bool):
        h = Harness(engine, host_functions, MemoryLedger(balances={CALLER: 100}))
        for _ in range(30):
            try:
                if fail:
                    with pytest.raises(errors.HostCallError):
                        h.call("adversarial", "oob_pointer")
                else:
                    assert h.call("token", "balance").values == (100,)
            except BaseException as exc:  # noqa: BLE001
                errors_seen.append(exc)

    threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors_seen == []
