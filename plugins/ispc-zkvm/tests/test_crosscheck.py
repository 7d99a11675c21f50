"""The zkVM's tracing interpreter cross-checked against wasmtime, instruction by instruction.

Every test builds a module from WAT text, runs the same export with the same
arguments in wasmtime and in :class:`ispc_zkvm.interpreter.Machine` (on the
flat code of :func:`ispc_zkvm.program.decode`), and asserts that both return
the same values or both trap — with the same kind of trap where wasmtime's
message names it. Every interpreter run must also be free of
:class:`~ispc_zkvm.interpreter.ReplayMismatch` (a wrong static stack height in
the flattening), leave the value stack as it found it, and record steps whose
ops are the flat code's ops at their pcs.

wasmtime takes and returns *signed* Python ints for i32/i64; the interpreter
uses unsigned ints of the type's width. :class:`Session` converts both ways.
"""

from __future__ import annotations

import functools
import random

import pytest
import wasmtime

from ispc_zkvm.interpreter import Machine, ReplayMismatch, StepLimitExceeded, ZkvmTrap
from ispc_zkvm.program import PAGE, decode
from ispc_zkvm.subset import check

M32, M64 = (1 << 32) - 1, (1 << 64) - 1
MASK = {"i32": M32, "i64": M64}
BITS = {"i32": 32, "i64": 64}

ENGINE = wasmtime.Engine()

#: wasmtime's trap messages ("wasm trap: ...") and the interpreter's trap kinds
_TRAP_MESSAGES = (
    ("integer divide by zero", "divide_by_zero"),
    ("integer overflow", "integer_overflow"),
    ("out of bounds memory access", "out_of_bounds"),
    ("unreachable", "unreachable"),
    ("call stack exhausted", "stack_exhausted"),
)


# ------------------------------------------------------------------------------------------ helpers
def unsigned(v: int, t: str) -> int:
    """``v`` as the interpreter's unsigned value of type ``t``."""
    return v & MASK[t]


def signed(v: int, t: str) -> int:
    """``v`` as wasmtime's signed value of type ``t``."""
    v &= MASK[t]
    return v - (1 << BITS[t]) if v >> (BITS[t] - 1) else v


def wasmtime_trap_kind(exc: Exception) -> str:
    """The interpreter's trap kind for a wasmtime trap, "trap" when its message names none of them."""
    msg = str(exc)
    for text, kind in _TRAP_MESSAGES:
        if f"wasm trap: {text}" in msg:
            return kind
    for text, kind in _TRAP_MESSAGES:
        if text in msg:
            return kind
    return "trap"


class NoHost:
    """The interpreter's host for modules without imports: any host call is a test failure."""

    def call(self, vm, callee, raw_args):
        raise AssertionError(f"unexpected host call {callee.import_name}({raw_args})")


class Pair:
    """One module from WAT: compiled for wasmtime and decoded (and subset-checked) for the zkVM."""

    def __init__(self, wat: str, *, max_steps: int = 1 << 20):
        self.wasm = wasmtime.wat2wasm(wat)
        self.program = decode(self.wasm)
        check(self.program)
        self.module = wasmtime.Module(ENGINE, self.wasm)
        lo, hi = self.program.memory_pages
        #: the module's declared maximum, as the interpreter's page limit
        self.max_pages = hi if self.program.has_memory and hi >= 0 else None
        self.max_steps = max_steps

    def session(self, **kw) -> "Session":
        """A fresh wasmtime instance and a fresh interpreter machine, side by side."""
        return Session(self, **kw)

    def run(self, name: str, *args: int):
        """Run ``name(*args)`` once in fresh instances of both; assert agreement; the outcome."""
        return self.session().run(name, *args)


class Session:
    """A wasmtime instance and a :class:`Machine` of the same module, kept in step across calls."""

    def __init__(self, pair: Pair, *, max_steps: int | None = None):
        self.pair = pair
        self.store = wasmtime.Store(ENGINE)
        self.instance = wasmtime.Instance(self.store, pair.module, [])
        self.exports = self.instance.exports(self.store)
        self.vm = Machine(pair.program, NoHost(), max_steps=max_steps or pair.max_steps, max_pages=pair.max_pages)

    def ours(self, name: str, args) -> tuple:
        """("ok", values) or ("trap", kind) from the interpreter; fails the test on a ReplayMismatch."""
        program = self.pair.program
        f = program.function_by_export(name)
        height, before = len(self.vm.stack), len(self.vm.steps)
        try:
            out = self.vm.invoke(f.index, [unsigned(a, t) for t, a in zip(f.params, args)])
        except ReplayMismatch as exc:  # the flat code's static stack heights are wrong
            pytest.fail(f"ReplayMismatch running {name}{tuple(args)}: {exc}")
        except ZkvmTrap as exc:
            outcome = ("trap", exc.kind)
        else:
            assert len(self.vm.stack) == height, f"{name}{tuple(args)} left values on the interpreter's stack"
            assert len(out) == len(f.results)
            for v, t in zip(out, f.results):
                assert 0 <= v <= MASK[t], f"{name}{tuple(args)} returned {v}, not an unsigned {t}"
            outcome = ("ok", tuple(out))
        for s in self.vm.steps[before:]:
            assert program.code[s.pc].op == s.op, f"step at pc {s.pc} records {s.op}, the code has {program.code[s.pc].op}"
        return outcome

    def theirs(self, name: str, args) -> tuple:
        """("ok", values as unsigned) or ("trap", kind) from wasmtime."""
        f = self.pair.program.function_by_export(name)
        try:
            r = self.exports[name](self.store, *[signed(a, t) for t, a in zip(f.params, args)])
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            return ("trap", wasmtime_trap_kind(exc))
        values = () if r is None else tuple(r) if isinstance(r, (list, tuple)) else (r,)
        assert len(values) == len(f.results)
        return ("ok", tuple(unsigned(v, t) for v, t in zip(values, f.results)))

    def run(self, name: str, *args: int) -> tuple:
        """Run ``name(*args)`` in both; assert the same results or the same trap; the outcome."""
        mine, ref = self.ours(name, args), self.theirs(name, args)
        if mine[0] == ref[0] == "trap" and ref[1] == "trap":
            return mine  # wasmtime's message names no kind we know: both trapping is the agreement
        assert mine == ref, f"{name}{tuple(hex(unsigned(a, 'i64')) for a in args)}: zkVM {mine} != wasmtime {ref}"
        return mine

    def value(self, name: str, *args: int):
        """Run in both (asserting agreement) and return the single result; fails if it trapped."""
        outcome = self.run(name, *args)
        assert outcome[0] == "ok", f"{name}{args} trapped: {outcome}"
        return outcome[1][0] if len(outcome[1]) == 1 else outcome[1]

    def memory(self) -> tuple[bytes, bytes]:
        """(interpreter memory, wasmtime memory) — the module must export its memory as ``mem``."""
        mem = self.exports["mem"]
        return bytes(self.vm.memory), bytes(mem.read(self.store, 0, mem.data_len(self.store)))

    def assert_same_memory(self) -> None:
        ours, theirs = self.memory()
        assert len(ours) == len(theirs), f"memory sizes differ: zkVM {len(ours)}, wasmtime {len(theirs)}"
        if ours != theirs:
            at = next(i for i in range(len(ours)) if ours[i] != theirs[i])
            pytest.fail(f"memories differ first at byte {at}: zkVM {ours[at:at + 8].hex()} wasmtime {theirs[at:at + 8].hex()}")


# ------------------------------------------------------------------------------------------ 1. binary ops
BINARY_OPS = ("add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s", "shr_u",
              "rotl", "rotr", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u")
_COMPARE = {"eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"}


def edge_operands(t: str, seed: int, n_random: int = 4) -> list[int]:
    """Edge values of type ``t`` (unsigned): 0, ±1, ±2, INT_MIN(+1), INT_MAX, shift counts, seeded random values."""
    bits = BITS[t]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vals = [0, 1, 2, 3, -1, -2, lo, lo + 1, hi, hi - 1, 31, 32, 33, 63, 64, 65, 7, -7]
    if t == "i64":
        vals += [M32, 1 << 31, (1 << 31) - 1, 1 << 32, -(1 << 31), (1 << 32) + 1]
    rng = random.Random(seed)
    vals += [rng.getrandbits(bits) for _ in range(n_random)]
    return sorted({unsigned(v, t) for v in vals})


@functools.cache
def binary_pair() -> Pair:
    funcs = []
    for t in ("i32", "i64"):
        for o in BINARY_OPS:
            res = "i32" if o in _COMPARE else t
            funcs.append(f'(func (export "{t}.{o}") (param {t} {t}) (result {res}) (local.get 0) (local.get 1) ({t}.{o}))')
    return Pair("(module\n" + "\n".join(funcs) + "\n)")


@pytest.mark.parametrize("op", [f"{t}.{o}" for t in ("i32", "i64") for o in BINARY_OPS])
def test_binary_op_matches_wasmtime_on_edge_operands(op):
    """Every i32/i64 binary instruction agrees with wasmtime on all pairs of edge and seeded random operands."""
    t = op.split(".")[0]
    vals = edge_operands(t, seed=sum(map(ord, op)))
    session = binary_pair().session()
    outcomes = [session.run(op, a, b) for a in vals for b in vals]
    kinds = {o[1] for o in outcomes if o[0] == "trap"}
    if op.split(".")[1] in ("div_s", "div_u", "rem_s", "rem_u"):
        assert "divide_by_zero" in kinds  # b == 0 is among the operands
    if op.split(".")[1] == "div_s":
        assert "integer_overflow" in kinds  # INT_MIN / -1
    else:
        assert "integer_overflow" not in kinds


def test_signed_division_edges_are_exact():
    """Spot values the spec fixes: INT_MIN rem_s -1 is 0, div_s truncates toward zero, rem_s takes the dividend's sign."""
    s = binary_pair().session()
    assert s.value("i32.rem_s", -(1 << 31), -1) == 0
    assert s.value("i64.rem_s", -(1 << 63), -1) == 0
    assert s.value("i32.div_s", -7, 2) == unsigned(-3, "i32")
    assert s.value("i32.rem_s", -7, 2) == unsigned(-1, "i32")
    assert s.value("i64.rem_s", 7, -2) == 1
    assert s.run("i64.div_s", -(1 << 63), -1) == ("trap", "integer_overflow")
    assert s.run("i32.rem_u", 5, 0) == ("trap", "divide_by_zero")


# ------------------------------------------------------------------------------------------ 2. unary ops
#: op -> (operand type, result type)
UNARY_OPS = {
    "i32.eqz": ("i32", "i32"), "i64.eqz": ("i64", "i32"),
    "i32.clz": ("i32", "i32"), "i32.ctz": ("i32", "i32"), "i32.popcnt": ("i32", "i32"),
    "i64.clz": ("i64", "i64"), "i64.ctz": ("i64", "i64"), "i64.popcnt": ("i64", "i64"),
    "i32.wrap_i64": ("i64", "i32"), "i64.extend_i32_s": ("i32", "i64"), "i64.extend_i32_u": ("i32", "i64"),
    "i32.extend8_s": ("i32", "i32"), "i32.extend16_s": ("i32", "i32"),
    "i64.extend8_s": ("i64", "i64"), "i64.extend16_s": ("i64", "i64"), "i64.extend32_s": ("i64", "i64"),
}


@functools.cache
def unary_pair() -> Pair:
    funcs = [f'(func (export "{op}") (param {a}) (result {r}) ({op} (local.get 0)))' for op, (a, r) in UNARY_OPS.items()]
    return Pair("(module\n" + "\n".join(funcs) + "\n)")


def unary_operands(t: str, seed: int) -> list[int]:
    """Edge values for the unary ops: sign bits of every byte width, all-ones, single bits, seeded random values."""
    vals = edge_operands(t, seed, n_random=6)
    for k in (7, 8, 15, 16, 31, 32, 63):
        vals += [1 << k, (1 << k) - 1, (1 << (k + 1)) - 1]
    vals += [0x80, 0x7F, 0xFF, 0x17F, 0x8000, 0x7FFF, 0xFFFF, 0x18000, 0x80000000, 0x7FFFFFFF, 0x1_8000_0000,
             0xFFFF_FFFF_0000_0000, 0x0000_0001_0000_0000, 0xF0]
    return sorted({unsigned(v, t) for v in vals})


@pytest.mark.parametrize("op", list(UNARY_OPS))
def test_unary_op_matches_wasmtime(op):
    """Every unary / conversion / sign-extension instruction agrees with wasmtime on edge and random operands."""
    arg_type, _ = UNARY_OPS[op]
    session = unary_pair().session()
    for a in unary_operands(arg_type, seed=sum(map(ord, op))):
        assert session.run(op, a)[0] == "ok"


def test_sign_extension_spot_values():
    """Sign extension reads only the low bits: 0x17F extends8 to 127, 0x80 to -128; extend32_s of 2^32+2^31."""
    s = unary_pair().session()
    assert s.value("i32.extend8_s", 0x17F) == 0x7F
    assert s.value("i32.extend8_s", 0x80) == unsigned(-128, "i32")
    assert s.value("i64.extend16_s", 0x1_8000) == unsigned(-32768, "i64")
    assert s.value("i64.extend32_s", 0x1_8000_0000) == unsigned(-(1 << 31), "i64")
    assert s.value("i64.extend_i32_s", 0xFFFF_FFFF) == M64
    assert s.value("i64.extend_i32_u", 0xFFFF_FFFF) == M32
    assert s.value("i32.wrap_i64", 0x1234_5678_9ABC_DEF0) == 0x9ABC_DEF0
    assert s.value("i64.clz", 0) == 64 and s.value("i32.ctz", 0) == 32


# ------------------------------------------------------------------------------------------ 3. control flow
CONTROL_WAT = r"""
(module
  ;; nested blocks with results; br_if carrying a value out of 3, 2 and 1 levels
  (func (export "nested") (param $x i32) (result i32)
    (block $outer (result i32)
      (i32.const 1)
      (block $mid (result i32)
        (i32.const 2)
        (block $inner (result i32)
          (i32.const 3)
          (i32.mul (local.get $x) (i32.const 10))
          (br_if $outer (i32.eq (local.get $x) (i32.const 1)))
          (br_if $mid (i32.eq (local.get $x) (i32.const 2)))
          (br_if $inner (i32.eq (local.get $x) (i32.const 3)))
          (i32.add))
        (i32.add))
      (i32.add)))

  ;; unconditional br out of an if and several blocks, carrying a value over junk below it
  (func (export "br_deep") (param $x i32) (result i32)
    (i32.const 1000)
    (block $a (result i32)
      (i32.const 1)
      (block $b (result i32)
        (i32.const 2) (i32.const 3)
        (block $c (result i32)
          (i32.const 4)
          (if (i32.and (local.get $x) (i32.const 1))
            (then (br $a (i32.add (local.get $x) (i32.const 40)))))
          (if (i32.and (local.get $x) (i32.const 2))
            (then (br $b (i32.add (local.get $x) (i32.const 50)))))
          (br $c (i32.add (local.get $x) (i32.const 60))))
        (i32.add) (i32.add))
      (i32.add))
    (i32.add))

  ;; br_table: arms to blocks at different depths, one to a loop (with a param), one to the function (return),
  ;; and the default
  (func (export "br_table") (param $i i32) (result i32)
    (local $n i32) (local $v i32)
    (i32.const 100000)
    (block $d (result i32)
      (block $c (result i32)
        (block $b (result i32)
          (i32.const 7)
          (local.get $i)
          (loop $l (param i32) (result i32)
            (local.set $v)
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (block $a (result i32)
              (i32.const 99)
              (i32.add (i32.mul (local.get $v) (i32.const 10)) (local.get $n))
              (select (local.get $i) (i32.const 0) (i32.eq (local.get $n) (i32.const 1)))
              (br_table $a $b $c $d $l 5 $c))
            (i32.const 1) (i32.add))
          (i32.add))
        (i32.const 1000) (i32.add))
      (i32.const 2) (i32.mul))
    (i32.add))

  ;; a br_table without a value: arms to plain blocks, the default to the outermost
  (func (export "br_table_void") (param $i i32) (result i32)
    (local $r i32)
    (block $z
      (block $y
        (block $x
          (block $w
            (br_table $w $x $y $w $z (local.get $i)))
          (local.set $r (i32.add (local.get $r) (i32.const 1))))
        (local.set $r (i32.add (local.get $r) (i32.const 10))))
      (local.set $r (i32.add (local.get $r) (i32.const 100))))
    (local.get $r))

  ;; a counting loop: 1 + 2 + ... + n
  (func (export "count") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (local.get $i)))
        (br $top)))
    (local.get $s))

  ;; a loop with a result, left by falling through
  (func (export "loop_result") (param $n i32) (result i64)
    (local $acc i64)
    (local.set $acc (i64.const 1))
    (loop $l (result i64)
      (local.set $acc (i64.mul (local.get $acc) (i64.const 3)))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (i32.const 0)))
      (local.get $acc)))

  ;; if/else with results, nested
  (func (export "ifelse") (param $x i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $x) (i32.const 0))
      (then (i32.sub (i32.const 0) (local.get $x)))
      (else
        (if (result i32) (i32.eqz (local.get $x))
          (then (i32.const 1000))
          (else (i32.mul (local.get $x) (i32.const 3)))))))

  ;; if without else
  (func (export "if_no_else") (param $x i32) (result i32)
    (local $r i32)
    (local.set $r (i32.const 5))
    (if (i32.gt_u (local.get $x) (i32.const 3))
      (then (local.set $r (i32.add (local.get $r) (local.get $x)))))
    (if (i32.eqz (local.get $x))
      (then (nop)))
    (local.get $r))

  ;; return from inside nested blocks and a loop, over junk on the stack
  (func (export "ret") (param $x i32) (result i32)
    (block $a
      (block $b
        (i32.const 77)
        (if (i32.gt_u (local.get $x) (i32.const 10))
          (then (return (i32.mul (local.get $x) (i32.const 2)))))
        (drop)
        (loop $l
          (if (i32.eq (local.get $x) (i32.const 3))
            (then (i32.const 1) (i32.const 333) (return)))
          (br_if $a (i32.eq (local.get $x) (i32.const 4)))
          (br_if $b (i32.eq (local.get $x) (i32.const 5))))))
    (i32.const -1))

  ;; br_if to the function label: a conditional return with a value
  (func (export "br_if_ret") (param $x i32) (result i32)
    (i32.const 11)
    (br_if 0 (i32.const 22) (i32.eqz (local.get $x)))
    (i32.add))

  ;; br to the function label from inside blocks
  (func (export "br_fn") (param $x i32) (result i64)
    (block
      (block
        (drop (br_if 2 (i64.const 9) (local.get $x)))
        (br 2 (i64.const -9))))
    (i64.const 0))

  (func (export "sel") (param i32 i32 i32) (result i32)
    (select (local.get 0) (local.get 1) (local.get 2)))

  (func (export "sel64") (param i64 i64 i32) (result i64)
    (select (result i64) (local.get 0) (local.get 1) (local.get 2)))

  (func (export "drop_nop") (param i32) (result i32)
    (nop)
    (drop (i32.const 5))
    (nop)
    (drop (i64.const -5))
    (local.get 0)
    (nop))

  (func (export "trap") (result i32)
    (unreachable))

  (func (export "maybe_trap") (param $x i32) (result i32)
    (if (result i32) (local.get $x)
      (then (unreachable))
      (else (i32.const 42))))

  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; recursion with a base case, deep but within both engines' limits
  (func $sum_rec (export "sum_rec") (param $n i32) (result i64)
    (if (result i64) (i32.eqz (local.get $n))
      (then (i64.const 0))
      (else (i64.add (i64.extend_i32_u (local.get $n)) (call $sum_rec (i32.sub (local.get $n) (i32.const 1)))))))

  ;; direct calls, multiple params and locals of both types
  (func $helper (param $p i64) (param $q i32) (result i64)
    (i64.xor (i64.shl (local.get $p) (i64.extend_i32_u (local.get $q))) (i64.const 0x5555)))
  (func (export "mix") (param $a i32) (param $b i64) (param $c i32) (result i64)
    (local $x i64) (local $y i32) (local $z i64) (local $w i32)
    (local.set $y (i32.add (local.get $a) (local.get $c)))
    (local.set $x (call $helper (local.get $b) (i32.and (local.get $y) (i32.const 63))))
    (local.set $z (i64.sub (local.get $x) (i64.extend_i32_s (local.get $a))))
    (local.set $w (i32.wrap_i64 (local.tee $x (i64.mul (local.get $z) (i64.const 7)))))
    (i64.add (i64.add (local.get $x) (local.get $z)) (i64.extend_i32_u (i32.add (local.get $w) (local.get $y)))))

  ;; multi-value: a block with params and two results, a br_if carrying both
  (func $mv (export "mv") (param $x i32) (result i32 i32)
    (local.get $x)
    (block $b (param i32) (result i32 i32)
      (i32.const 9)
      (br_if $b (i32.eqz (local.get $x)))
      (drop)
      (i32.const 1) (i32.add)
      (i32.const 5)))

  ;; calling a multi-value function; an if with a param and two results
  (func (export "mv_call") (param $x i32) (param $y i32) (result i32)
    (call $mv (local.get $x))
    (i32.sub)
    (local.get $y)
    (if (param i32) (result i32 i32) (i32.and (local.get $x) (i32.const 1))
      (then (i32.const 100))
      (else (i32.const 2) (i32.mul) (i32.const 200)))
    (i32.add)
    (i32.add))

  ;; an if without else whose param and result are the same type
  (func (export "if_param_no_else") (param $x i32) (result i32)
    (local.get $x)
    (if (param i32) (result i32) (i32.gt_u (local.get $x) (i32.const 2))
      (then (i32.const 1000) (i32.add))))

  (func (export "mv_swap") (param i32 i64) (result i64 i32)
    (local.get 1) (local.get 0))
)
"""


@functools.cache
def control_pair() -> Pair:
    return Pair(CONTROL_WAT)


_SMALL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 100, 0x7FFF_FFFF, 0x8000_0000, M32]


def _sweep(name: str, args_list) -> list:
    pair = control_pair()
    return [pair.run(name, *args) for args in args_list]


def test_nested_blocks_and_br_if_with_values():
    """Nested blocks with results; br_if carrying a value out of one, two and three levels."""
    out = _sweep("nested", [(x,) for x in _SMALL])
    assert len({o[1] for o in out[:6]}) == 6  # the exits really differ


def test_br_out_of_several_levels_carries_a_value():
    """An unconditional br out of an if and up to three blocks, cutting junk values below the carried one."""
    out = _sweep("br_deep", [(x,) for x in _SMALL])
    assert len({o[1] for o in out[:4]}) == 4


def test_br_table_arms_default_loop_and_return():
    """br_table with arms to blocks at several depths, a loop with a param, the function label, and the default."""
    out = _sweep("br_table", [(i,) for i in range(10)] + [(100,), (M32,)])
    assert all(o[0] == "ok" for o in out)
    assert len({o[1] for o in out[:7]}) == 7  # arms 0..5 and the default all end differently


def test_br_table_without_values():
    """A br_table carrying no value; index beyond the arms takes the default."""
    out = _sweep("br_table_void", [(i,) for i in range(7)] + [(M32,)])
    assert [o[1][0] for o in out[:5]] == [111, 110, 100, 111, 0]


def test_counting_loop():
    """A counting loop (br_if out, br back) gives 1 + ... + n in both."""
    out = _sweep("count", [(n,) for n in (0, 1, 2, 3, 10, 57)])
    assert out[-1] == ("ok", (57 * 58 // 2,))


def test_loop_with_result():
    """A loop with a result type, left by falling through; a br_if back to it."""
    _sweep("loop_result", [(n,) for n in (0, 1, 2, 5, 40, 41)])


def test_if_else_with_results_and_if_without_else():
    """if/else with results (nested), and if without else."""
    _sweep("ifelse", [(x,) for x in _SMALL + [unsigned(-5, "i32")]])
    _sweep("if_no_else", [(x,) for x in _SMALL])


def test_return_from_nested_blocks():
    """return from inside blocks, an if and a loop, over junk values; br_if / br to the function label."""
    out = _sweep("ret", [(x,) for x in (3, 4, 5, 11, 200)])
    assert [o[1][0] for o in out] == [333, M32, M32, 22, 400]
    assert [o[1][0] for o in _sweep("br_if_ret", [(0,), (1,), (M32,)])] == [22, 33, 33]
    assert [o[1][0] for o in _sweep("br_fn", [(0,), (1,)])] == [unsigned(-9, "i64"), 9]


def test_select_drop_nop():
    """select (untyped i32 and typed i64) picks by a nonzero condition; drop and nop leave the stack as it was."""
    _sweep("sel", [(a, b, c) for a in (0, 5, M32) for b in (1, 0x8000_0000) for c in (0, 1, 2, M32)])
    _sweep("sel64", [(a, b, c) for a in (0, M64) for b in (1, 1 << 63) for c in (0, 1, 0x8000_0000)])
    assert _sweep("drop_nop", [(17,)]) == [("ok", (17,))]


def test_unreachable_traps_in_both():
    """unreachable traps with the same kind; the untaken branch containing it does not."""
    pair = control_pair()
    assert pair.run("trap") == ("trap", "unreachable")
    assert pair.run("maybe_trap", 1) == ("trap", "unreachable")
    assert pair.run("maybe_trap", 0) == ("ok", (42,))


def test_calls_and_recursion():
    """Direct calls and recursion: fib, a deep (but bounded) recursion, a function with params and locals of both types."""
    out = _sweep("fib", [(n,) for n in range(16)])
    assert out[15] == ("ok", (610,))
    assert _sweep("sum_rec", [(1000,)]) == [("ok", (1000 * 1001 // 2,))]
    rng = random.Random(7)
    args = [(0, 0, 0), (1, 1, 1), (M32, M64, M32), (0x8000_0000, 1 << 63, 5), (63, 0x1234, 1)]
    args += [(rng.getrandbits(32), rng.getrandbits(64), rng.getrandbits(32)) for _ in range(20)]
    _sweep("mix", args)


def test_multi_value_blocks_and_functions():
    """A block with params and two results (br_if carrying both), an if with a param, multi-value calls and returns."""
    assert _sweep("mv", [(0,), (1,), (M32,)]) == [("ok", (0, 9)), ("ok", (2, 5)), ("ok", (0, 5))]
    _sweep("mv_call", [(x, y) for x in (0, 1, 2, 3, M32) for y in (0, 7, M32)])
    _sweep("if_param_no_else", [(x,) for x in (0, 2, 3, M32)])
    assert _sweep("mv_swap", [(5, M64)]) == [("ok", (M64, 5))]


# ------------------------------------------------------------------------------------------ 4. memory
LOADS = {  # op -> (width, result type)
    "i32.load": (4, "i32"), "i32.load8_s": (1, "i32"), "i32.load8_u": (1, "i32"), "i32.load16_s": (2, "i32"),
    "i32.load16_u": (2, "i32"), "i64.load": (8, "i64"), "i64.load8_s": (1, "i64"), "i64.load8_u": (1, "i64"),
    "i64.load16_s": (2, "i64"), "i64.load16_u": (2, "i64"), "i64.load32_s": (4, "i64"), "i64.load32_u": (4, "i64"),
}
STORES = {  # op -> (width, value type)
    "i32.store": (4, "i32"), "i32.store8": (1, "i32"), "i32.store16": (2, "i32"), "i64.store": (8, "i64"),
    "i64.store8": (1, "i64"), "i64.store16": (2, "i64"), "i64.store32": (4, "i64"),
}
OFFSETS = (0, 5, 4096)
#: bytes of the data segment at 16: sign bits set and clear at every width
DATA = bytes.fromhex("80ff7f01 feffffff 00800000 ffffff7f 8182838485868788")
DATA_AT = 16
TAIL = bytes.fromhex("f0f1f2f3f4f5f6f7")  # the last 8 bytes of the first page


def _wat_bytes(b: bytes) -> str:
    return "".join(f"\\{x:02x}" for x in b)


def memory_wat(limits: str = "1 3") -> str:
    funcs = []
    for op, (_, rt) in LOADS.items():
        for off in OFFSETS:
            funcs.append(f'(func (export "{op}/{off}") (param i32) (result {rt}) ({op} offset={off} (local.get 0)))')
    for op, (_, vt) in STORES.items():
        for off in OFFSETS:
            funcs.append(f'(func (export "{op}/{off}") (param i32 {vt}) ({op} offset={off} (local.get 0) (local.get 1)))')
    funcs.append('(func (export "size") (result i32) (memory.size))')
    funcs.append('(func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))')
    # a store then a load of the same cell inside one call, and an aligned-hint variant
    funcs.append('(func (export "roundtrip") (param i32 i64) (result i64 i32)'
                 ' (i64.store16 offset=1 align=1 (local.get 0) (local.get 1))'
                 ' (i64.load16_s offset=1 (local.get 0)) (i32.load8_u offset=2 (local.get 0)))')
    return (f'(module (memory (export "mem") {limits})\n'
            f'  (data (i32.const {DATA_AT}) "{_wat_bytes(DATA)}")\n'
            f'  (data (i32.const {PAGE - len(TAIL)}) "{_wat_bytes(TAIL)}")\n'
            + "\n".join(funcs) + "\n)")


@functools.cache
def memory_pair() -> Pair:
    return Pair(memory_wat("1 3"))


def test_data_segments_are_the_initial_memory():
    """The interpreter's initial memory (data segments placed) is byte-for-byte wasmtime's."""
    s = memory_pair().session()
    s.assert_same_memory()
    assert bytes(s.vm.memory[DATA_AT:DATA_AT + len(DATA)]) == DATA
    assert s.value("size") == 1


@pytest.mark.parametrize("op", list(LOADS))
def test_load_matches_wasmtime(op):
    """Each load, at offsets 0/5/4096, over the data segment (sign bits at every width) and at the memory's end.

    At the end: effective address size - width loads, size - width + 1 traps out of bounds (in both), as do
    addresses whose effective address exceeds 2^32.
    """
    width, _ = LOADS[op]
    s = memory_pair().session()
    for off in OFFSETS:
        name = f"{op}/{off}"
        for ea in list(range(DATA_AT - 3, DATA_AT + len(DATA) + 2)) + [PAGE - 8, PAGE - 7]:
            if ea >= off:
                assert s.run(name, ea - off)[0] == ("ok" if ea + width <= PAGE else "trap")
        last = PAGE - width - off
        assert s.run(name, last)[0] == "ok"
        assert s.run(name, last + 1) == ("trap", "out_of_bounds")
        assert s.run(name, PAGE) == ("trap", "out_of_bounds")
        assert s.run(name, M32) == ("trap", "out_of_bounds")
        assert s.run(name, 0x8000_0000) == ("trap", "out_of_bounds")
    s.assert_same_memory()


def _store_values(vt: str) -> list[int]:
    rng = random.Random(vt)
    vals = [0, M64, 0x80, 0x7F, 0x8000, 0x8081, 0x8000_0000, 0x8081_8283, 0x8081_8283_8485_8687, 0x0102_0304_0506_0708]
    vals += [rng.getrandbits(64) for _ in range(3)]
    return [unsigned(v, vt) for v in vals]


@pytest.mark.parametrize("op", list(STORES))
def test_store_then_load_back_matches_wasmtime(op):
    """Each store (offsets 0/5/4096) of negative-looking values, read back by every load; memories stay equal.

    A store at effective address size - width succeeds; size - width + 1 traps and leaves memory unchanged.
    """
    width, vt = STORES[op]
    s = memory_pair().session()
    for off in OFFSETS:
        name = f"{op}/{off}"
        last = PAGE - width - off
        for i, v in enumerate(_store_values(vt)):
            for a in (DATA_AT + (i % 5), 40 + i, last):
                assert s.run(name, a, v) == ("ok", ())
                for load in LOADS:
                    s.run(f"{load}/0", a + off)
                lo = max(0, a + off - 8)
                ours, theirs = s.memory()
                assert ours[lo:a + off + 16] == theirs[lo:a + off + 16]
        before = s.memory()[0]
        assert s.run(name, last + 1, M64 & MASK[vt]) == ("trap", "out_of_bounds")
        assert s.run(name, M32, 1) == ("trap", "out_of_bounds")
        assert s.memory()[0] == before  # a trapping store writes nothing
    s.assert_same_memory()


def test_store_and_load_in_one_call():
    """A store and loads of the same cell in one function (the trace's memory accesses in sequence)."""
    s = memory_pair().session()
    for a, v in ((0, 0x8081), (17, M64), (PAGE - 3, 0xFFFF_FFFF_FFFF_7FFF), (PAGE - 2, 1)):
        s.run("roundtrip", a, v)
    s.assert_same_memory()


def test_memory_size_and_grow_within_and_beyond_the_declared_max():
    """memory.grow within the module's max returns the old size, beyond it -1, with memory.size following;
    the grown pages are zeroed, addressable up to their last byte, and out of bounds just past it."""
    s = memory_pair().session()
    assert s.value("size") == 1
    assert s.value("grow", 0) == 1
    assert s.value("grow", 1) == 1
    assert s.value("size") == 2
    assert s.value("grow", 2) == M32  # 2 + 2 > 3: refused
    assert s.value("size") == 2
    assert s.value("grow", M32) == M32
    assert s.value("grow", 1) == 2
    assert s.value("size") == 3
    assert s.value("grow", 1) == M32
    assert s.value("grow", 0) == 3
    end = 3 * PAGE
    for op, (width, vt) in STORES.items():
        assert s.run(f"{op}/0", end - width, 0x8182_8384_8586_8788 & MASK[vt]) == ("ok", ())
        assert s.run(f"{op}/0", end - width + 1, 1) == ("trap", "out_of_bounds")
        assert s.run(f"{op}/5", end - width - 5, M64 & MASK[vt]) == ("ok", ())
    for op, (width, _) in LOADS.items():
        assert s.run(f"{op}/0", end - width)[0] == "ok"
        assert s.run(f"{op}/0", end - width + 1) == ("trap", "out_of_bounds")
        assert s.run(f"{op}/0", PAGE + 100)[0] == "ok"  # a grown page reads as zeros
    s.assert_same_memory()


def test_memory_grow_without_a_declared_max():
    """Without a declared max, growth by a page succeeds and growth past 4 GiB (65536 pages) returns -1 in both."""
    s = Pair(memory_wat("1")).session()
    assert s.value("grow", 1) == 1
    assert s.value("grow", 0x1_0000) == M32
    assert s.value("size") == 2
    s.assert_same_memory()


# ------------------------------------------------------------------------------------------ 5. globals
GLOBALS_WAT = r"""
(module
  (global $g (mut i32) (i32.const -5))
  (global $h (mut i64) (i64.const -9223372036854775807))
  (global $k i32 (i32.const 0x80000000))
  (global $q i64 (i64.const 0x7fffffffffffffff))
  (func (export "get_g") (result i32) (global.get $g))
  (func (export "set_g") (param i32) (global.set $g (local.get 0)))
  (func (export "get_h") (result i64) (global.get $h))
  (func (export "set_h") (param i64) (global.set $h (local.get 0)))
  (func (export "consts") (result i32 i64) (global.get $k) (global.get $q))
  (func (export "bump") (result i32 i64)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (global.set $h (i64.sub (i64.mul (global.get $h) (i64.const 3)) (i64.const 1)))
    (global.get $g) (global.get $h))
)
"""


def test_globals_initial_values_get_and_set():
    """Mutable i32/i64 globals start at their (negative) initial values, are set and updated across calls;
    immutable globals read their constants."""
    pair = Pair(GLOBALS_WAT)
    s = pair.session()
    assert s.value("get_g") == unsigned(-5, "i32")
    assert s.value("get_h") == unsigned(-9223372036854775807, "i64")
    assert s.value("consts") == (0x8000_0000, (1 << 63) - 1)
    for _ in range(7):
        s.run("bump")
    s.run("set_g", M32)
    assert s.value("bump")[0] == 0  # -1 + 1 wraps to 0
    s.run("set_h", 1 << 63)
    s.run("bump")
    s.run("set_g", 0x7FFF_FFFF)
    s.run("bump")
    assert s.value("get_g") == 0x8000_0000
    s.value("get_h")
    assert s.vm.globals == [s.value("get_g"), s.value("get_h"), 0x8000_0000, (1 << 63) - 1]


# ------------------------------------------------------------------------------------------ 6. step accounting
def _steps_for(pair: Pair, n: int, *, max_steps: int = 1 << 20):
    vm = Machine(pair.program, NoHost(), max_steps=max_steps)
    out = vm.invoke(pair.program.function_by_export("count").index, [n])
    return out, len(vm.steps)


def test_steps_grow_linearly_with_loop_iterations():
    """For the counting loop the recorded steps are a + b·n with b > 0, and the results match wasmtime."""
    pair = control_pair()
    counts = []
    for n in range(8):
        pair.run("count", n)
        out, steps = _steps_for(pair, n)
        assert out == [n * (n + 1) // 2]
        counts.append(steps)
    diffs = {b - a for a, b in zip(counts, counts[1:])}
    assert len(diffs) == 1 and diffs.pop() > 0, counts
    assert _steps_for(pair, 100)[1] == counts[0] + 100 * (counts[1] - counts[0])


def test_step_limit_smaller_than_needed_raises():
    """max_steps one short of the run's steps raises StepLimitExceeded; exactly enough succeeds."""
    pair = control_pair()
    _, needed = _steps_for(pair, 20)
    with pytest.raises(StepLimitExceeded):
        _steps_for(pair, 20, max_steps=needed - 1)
    with pytest.raises(StepLimitExceeded):
        _steps_for(pair, 20, max_steps=needed // 2)
    assert _steps_for(pair, 20, max_steps=needed) == ([210], needed)


# ------------------------------------------------------------------------------------------ 7. stack exhaustion
def test_unbounded_recursion_traps_in_both():
    """Recursion without a base case: the interpreter traps with stack_exhausted, wasmtime with a stack overflow."""
    pair = Pair("""(module (func $r (export "r") (param i32) (result i32)
                     (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))""")
    s = pair.session()
    assert s.ours("r", (0,)) == ("trap", "stack_exhausted")
    assert s.theirs("r", (0,))[0] == "trap"
