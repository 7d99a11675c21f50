"""A tracing interpreter of the zkVM's WebAssembly subset: runs a :class:`~ispc_zkvm.program.Program` and
records every step the circuit will prove.

Why an interpreter of our own: wasmtime runs the call (fast, fuel-metered,
the node's engine), but it cannot report the steps — every instruction's
operands and result and every memory, local and global access — that a
witness needs. This interpreter runs the same call a second time, on the
flat code of :mod:`ispc_zkvm.program`, with WebAssembly's semantics for the
integer subset, and records the trace. It is cross-checked against wasmtime
on every test program (same return values, same host calls with the same
arguments, same trap); a disagreement is a test failure, and in the node a
mismatch refuses to prove (:class:`ReplayMismatch`).

Values are unsigned Python integers of their type's width (an ``i32`` is in
``[0, 2^32)``, an ``i64`` in ``[0, 2^64)``); signed operations convert.

Host imports are served by a *host* object (:mod:`ispc_zkvm.host`): the
interpreter hands it the import and its raw arguments; the host may read
guest memory (:meth:`Machine.read`), call back into the guest (the ABI's
``ispc_alloc``) through :meth:`Machine.invoke`, and write guest memory
(:meth:`Machine.write_host`), each access recorded in the step.

Example::

    vm = Machine(program, host, max_steps=1 << 14)
    results = vm.invoke(program.function_by_export("transfer").index, [])
    vm.steps            # [Step(pc=..., op=..., inputs=..., outputs=..., mem=...), ...]
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import attrs

from ispc_core.errors import ExecutionError, ProgramTrap

from .program import PAGE, Function, Program

__all__ = ["Step", "Machine", "StepLimitExceeded", "ZkvmTrap", "ReplayMismatch", "MAX_CALL_DEPTH"]

M32, M64 = (1 << 32) - 1, (1 << 64) - 1
#: nested calls the interpreter allows (wasmtime's limit is a stack size; the zkVM's is a depth)
MAX_CALL_DEPTH = 1024


class StepLimitExceeded(ExecutionError):
    """The execution needs more steps than allowed (the zkVM's capacity or the interpreter's limit)."""

    code = "step_limit_exceeded"


class ZkvmTrap(ProgramTrap):
    """The program trapped under the zkVM's interpreter (the trap is named: ``kind`` and the step)."""

    code = "program_trap"

    def __init__(self, message: str, *, kind: str = "trap", step: int = -1, pc: int = -1):
        super().__init__(message)
        self.kind, self.step, self.pc = kind, step, pc


class ReplayMismatch(ExecutionError):
    """The interpreter's run disagrees with the recorded execution (a host call, an argument, a result)."""

    code = "replay_mismatch"


@attrs.frozen(slots=True)
class Step:
    """One executed instruction.

    ``inputs``: the values it popped (bottom first); ``outputs``: the values it
    pushed; ``mem``: memory accesses as ``(address, width in bytes, value
    before, value after)`` little-endian (a load has before == after);
    ``aux``: what else the instruction touched — ``("local", index, before,
    after)``, ``("global", index, before, after)``, ``("pages", before,
    after)``, ``("host", import name, results)`` — and ``depth`` the call depth.
    """

    pc: int
    op: str
    inputs: tuple = ()
    outputs: tuple = ()
    mem: tuple = ()
    aux: tuple = ()
    depth: int = 0


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _s64(v: int) -> int:
    return v - (1 << 64) if v & 0x8000000000000000 else v


def _clz(v: int, bits: int) -> int:
    return bits - v.bit_length()


def _ctz(v: int, bits: int) -> int:
    return bits if v == 0 else (v & -v).bit_length() - 1


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


_LOAD = {  # op -> (bytes, signed, result mask)
    "i32.load": (4, False, M32), "i64.load": (8, False, M64),
    "i32.load8_s": (1, True, M32), "i32.load8_u": (1, False, M32),
    "i32.load16_s": (2, True, M32), "i32.load16_u": (2, False, M32),
    "i64.load8_s": (1, True, M64), "i64.load8_u": (1, False, M64),
    "i64.load16_s": (2, True, M64), "i64.load16_u": (2, False, M64),
    "i64.load32_s": (4, True, M64), "i64.load32_u": (4, False, M64),
}
_STORE = {"i32.store": 4, "i64.store": 8, "i32.store8": 1, "i32.store16": 2, "i64.store8": 1, "i64.store16": 2, "i64.store32": 4}


def binary(op: str, a: int, b: int) -> int:
    """The result of an integer binary instruction on unsigned operands; ZkvmTrap for WebAssembly's traps.

    >>> binary("i32.sub", 1, 2) == 2**32 - 1
    True
    """
    t, name = op.split(".", 1)
    bits, mask = (32, M32) if t == "i32" else (64, M64)
    sg = _s32 if bits == 32 else _s64
    if name == "add":
        return (a + b) & mask
    if name == "sub":
        return (a - b) & mask
    if name == "mul":
        return (a * b) & mask
    if name in ("div_u", "rem_u", "div_s", "rem_s"):
        if b == 0:
            raise ZkvmTrap("integer divide by zero", kind="divide_by_zero")
        if name == "div_u":
            return a // b
        if name == "rem_u":
            return a % b
        x, y = sg(a), sg(b)
        if name == "div_s":
            if x == -(1 << (bits - 1)) and y == -1:
                raise ZkvmTrap("integer overflow", kind="integer_overflow")
            return _trunc_div(x, y) & mask
        return (x - _trunc_div(x, y) * y) & mask
    if name == "and":
        return a & b
    if name == "or":
        return a | b
    if name == "xor":
        return a ^ b
    k = b % bits
    if name == "shl":
        return (a << k) & mask
    if name == "shr_u":
        return a >> k
    if name == "shr_s":
        return (sg(a) >> k) & mask
    if name == "rotl":
        return ((a << k) | (a >> (bits - k))) & mask if k else a
    if name == "rotr":
        return ((a >> k) | (a << (bits - k))) & mask if k else a
    cmp, _, sign = name.partition("_")
    if cmp in _COMPARE and (sign in ("u", "s") or cmp in ("eq", "ne")):
        x, y = (sg(a), sg(b)) if sign == "s" else (a, b)
        return int(_COMPARE[cmp](x, y))
    raise KeyError(op)


_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "gt": operator.gt, "le": operator.le, "ge": operator.ge}


def unary(op: str, a: int) -> int:
    """The result of an integer unary instruction (eqz, clz, ctz, popcnt, wrap, extend) on an unsigned operand."""
    if op == "i32.eqz" or op == "i64.eqz":
        return int(a == 0)
    if op == "i32.clz":
        return _clz(a, 32)
    if op == "i64.clz":
        return _clz(a, 64)
    if op == "i32.ctz":
        return _ctz(a, 32)
    if op == "i64.ctz":
        return _ctz(a, 64)
    if op in ("i32.popcnt", "i64.popcnt"):
        return bin(a).count("1")
    if op == "i32.wrap_i64":
        return a & M32
    if op == "i64.extend_i32_u":
        return a
    if op == "i64.extend_i32_s":
        return _s32(a) & M64
    if op in _SIGN_EXTEND:
        bits, mask = _SIGN_EXTEND[op]
        v = a & ((1 << bits) - 1)
        return (v - (1 << bits) if v >> (bits - 1) else v) & mask
    raise KeyError(op)


_SIGN_EXTEND = {"i32.extend8_s": (8, M32), "i32.extend16_s": (16, M32), "i64.extend8_s": (8, M64),
                "i64.extend16_s": (16, M64), "i64.extend32_s": (32, M64)}


class Machine:
    """The interpreter's state for one call: memory, globals, the value stack, the recorded steps."""

    def __init__(self, program: Program, host: Any, *, max_steps: int, max_pages: int | None = None):
        self.program = program
        self.host = host
        self.max_steps = max_steps
        lo, hi = program.memory_pages
        cap = hi if hi >= 0 else 65536
        self.max_pages = min(cap, max_pages) if max_pages is not None else cap
        self.memory = bytearray(lo * PAGE)
        for offset, data in program.data:
            if offset + len(data) > len(self.memory):
                raise ZkvmTrap(f"data segment at {offset} ({len(data)} bytes) is outside memory", kind="out_of_bounds")
            self.memory[offset : offset + len(data)] = data
        self.globals = [g[2] for g in program.globals]
        self.stack: list[int] = []
        self.steps: list[Step] = []
        self.depth = 0
        self._host_mem: list = []

    # -- host services ------------------------------------------------------------------
    def read(self, ptr: int, length: int) -> bytes:
        """Guest memory ``[ptr, ptr + length)`` for a host import (recorded in the current host step)."""
        if ptr + length > len(self.memory):
            raise ZkvmTrap(f"host read [{ptr}, {ptr + length}) is outside memory of {len(self.memory)} bytes", kind="out_of_bounds")
        data = bytes(self.memory[ptr : ptr + length])
        self._host_mem.append(("read", ptr, data))
        return data

    def write_host(self, ptr: int, data: bytes) -> None:
        """Write ``data`` at ``ptr`` for a host import's result (recorded in the current host step)."""
        if ptr + len(data) > len(self.memory):
            raise ZkvmTrap(f"host write [{ptr}, {ptr + len(data)}) is outside memory of {len(self.memory)} bytes", kind="out_of_bounds")
        before = bytes(self.memory[ptr : ptr + len(data)])
        self.memory[ptr : ptr + len(data)] = data
        self._host_mem.append(("write", ptr, before, bytes(data)))

    # -- running --------------------------------------------------------------------------
    def invoke(self, func_index: int, args: Sequence[int]) -> list[int]:
        """Call function ``func_index`` with ``args`` (unsigned, per its parameter types); returns its results.

        Re-entrant: a host import may call it again (the ABI's allocator).
        """
        f = self.program.functions[func_index]
        if f.is_import:
            raise ReplayMismatch(f"function {func_index} is an import; the zkVM calls defined functions")
        if len(args) != len(f.params):
            raise ReplayMismatch(f"{self.program.function_name(func_index)} takes {len(f.params)} arguments, got {len(args)}")
        base = len(self.stack)
        self.stack.extend(int(a) & (M32 if t == "i32" else M64) for t, a in zip(f.params, args))
        self._run(f)
        out = self.stack[base:]
        del self.stack[base:]
        return out

    def _run(self, entry: Function) -> None:
        """Execute from ``entry`` (its arguments on the stack) until it returns."""
        code, program = self.program.code, self.program
        stack, steps, mem = self.stack, self.steps, self.memory
        frames: list[tuple] = []  # (function, locals, return pc, stack base)
        f = entry
        base = len(stack) - len(f.params)
        locals_ = stack[base:] + [0] * len(f.locals)
        del stack[base:]
        pc = f.entry
        top_depth = self.depth
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            raise ZkvmTrap("call stack exhausted", kind="stack_exhausted", step=len(steps), pc=pc)
        while True:
            if len(steps) >= self.max_steps:
                raise StepLimitExceeded(f"the execution needs more than {self.max_steps} steps")
            ins = code[pc]
            op = ins.op
            h = len(stack) - base
            if h != ins.height:  # the flattening's static height: a bug here must never reach a proof
                raise ReplayMismatch(f"pc {pc} ({op}): stack height {h}, the program says {ins.height}")
            depth = self.depth
            try:
                if op == "local.get":
                    v = locals_[ins.imm[0]]
                    stack.append(v)
                    steps.append(Step(pc, op, (), (v,), (), (("local", ins.imm[0], v, v),), depth))
                    pc += 1
                elif op == "local.set" or op == "local.tee":
                    v = stack.pop()
                    i = ins.imm[0]
                    old = locals_[i]
                    locals_[i] = v
                    if op == "local.tee":
                        stack.append(v)
                    steps.append(Step(pc, op, (v,), (v,) if op == "local.tee" else (), (), (("local", i, old, v),), depth))
                    pc += 1
                elif op == "i32.const" or op == "i64.const":
                    stack.append(ins.imm[0])
                    steps.append(Step(pc, op, (), (ins.imm[0],), (), (), depth))
                    pc += 1
                elif op in _LOAD:
                    n, signed, mask = _LOAD[op]
                    a = stack.pop()
                    addr = a + ins.imm[0]
                    if addr + n > len(mem):
                        raise ZkvmTrap(f"out of bounds memory access: {op} at {addr} (memory is {len(mem)} bytes)", kind="out_of_bounds")
                    raw = int.from_bytes(mem[addr : addr + n], "little")
                    v = raw
                    if signed and raw >> (8 * n - 1):
                        v = (raw - (1 << (8 * n))) & mask
                    stack.append(v)
                    steps.append(Step(pc, op, (a,), (v,), ((addr, n, raw, raw),), (), depth))
                    pc += 1
                elif op in _STORE:
                    n = _STORE[op]
                    v = stack.pop()
                    a = stack.pop()
                    addr = a + ins.imm[0]
                    if addr + n > len(mem):
                        raise ZkvmTrap(f"out of bounds memory access: {op} at {addr} (memory is {len(mem)} bytes)", kind="out_of_bounds")
                    old = int.from_bytes(mem[addr : addr + n], "little")
                    new = v & ((1 << (8 * n)) - 1)
                    mem[addr : addr + n] = new.to_bytes(n, "little")
                    steps.append(Step(pc, op, (a, v), (), ((addr, n, old, new),), (), depth))
                    pc += 1
                elif op == "if":
                    c = stack.pop()
                    steps.append(Step(pc, op, (c,), (), (), (), depth))
                    pc = ins.imm[0] if c == 0 else pc + 1
                elif op in ("br", "br_if", "br_table"):
                    if op == "br":
                        inputs, arm = (), ins.imm
                    elif op == "br_if":
                        c = stack.pop()
                        inputs, arm = (c,), ins.imm if c else None
                    else:
                        i = stack.pop()
                        arms, default = ins.imm
                        inputs, arm = (i,), arms[i] if i < len(arms) else default
                    steps.append(Step(pc, op, inputs, (), (), (), depth))
                    if arm is None:  # br_if not taken
                        pc += 1
                        continue
                    target, keep, lab = arm
                    _unwind(stack, base + lab, keep)
                    if target == "return":
                        pc, f, locals_, base = self._return(frames, f, keep, base)
                        if pc is None:
                            break
                        continue
                    pc = target
                elif op == "return":
                    keep = ins.imm[0]
                    steps.append(Step(pc, op, tuple(stack[len(stack) - keep :]) if keep else (), (), (), (), depth))
                    pc, f, locals_, base = self._return(frames, f, keep, base)
                    if pc is None:
                        break
                elif op == "call":
                    callee = program.functions[ins.imm[0]]
                    n = len(callee.params)
                    args = stack[len(stack) - n :] if n else []
                    if n:
                        del stack[len(stack) - n :]
                    if callee.is_import:
                        self._host_mem = []
                        index = len(steps)
                        steps.append(None)  # the host step is filled in after the call (it may run guest code)
                        results = self.host.call(self, callee, list(args))
                        results = [int(r) & (M32 if t == "i32" else M64) for t, r in zip(callee.results, results)]
                        steps[index] = Step(pc, op, tuple(args), tuple(results), (),
                                            (("host", callee.import_name, tuple(self._host_mem)),), depth)
                        stack.extend(results)
                        pc += 1
                    else:
                        steps.append(Step(pc, op, tuple(args), (), (), (), depth))
                        frames.append((f, locals_, pc + 1, base))
                        self.depth += 1
                        if self.depth > MAX_CALL_DEPTH:
                            raise ZkvmTrap("call stack exhausted", kind="stack_exhausted")
                        f = callee
                        base = len(stack)
                        locals_ = list(args) + [0] * len(callee.locals)
                        pc = callee.entry
                elif op == "global.get":
                    v = self.globals[ins.imm[0]]
                    stack.append(v)
                    steps.append(Step(pc, op, (), (v,), (), (("global", ins.imm[0], v, v),), depth))
                    pc += 1
                elif op == "global.set":
                    v = stack.pop()
                    i = ins.imm[0]
                    old = self.globals[i]
                    self.globals[i] = v
                    steps.append(Step(pc, op, (v,), (), (), (("global", i, old, v),), depth))
                    pc += 1
                elif op == "select":
                    c = stack.pop()
                    b = stack.pop()
                    a = stack.pop()
                    v = a if c else b
                    stack.append(v)
                    steps.append(Step(pc, op, (a, b, c), (v,), (), (), depth))
                    pc += 1
                elif op == "drop":
                    v = stack.pop()
                    steps.append(Step(pc, op, (v,), (), (), (), depth))
                    pc += 1
                elif op == "memory.size":
                    v = len(mem) // PAGE
                    stack.append(v)
                    steps.append(Step(pc, op, (), (v,), (), (("pages", v, v),), depth))
                    pc += 1
                elif op == "memory.grow":
                    d = stack.pop()
                    old = len(mem) // PAGE
                    if old + d <= self.max_pages:
                        mem.extend(bytes(d * PAGE))
                        v, new = old, old + d
                    else:
                        v, new = M32, old
                    stack.append(v)
                    steps.append(Step(pc, op, (d,), (v,), (), (("pages", old, new),), depth))
                    pc += 1
                elif op == "unreachable":
                    steps.append(Step(pc, op, (), (), (), (), depth))
                    raise ZkvmTrap("wasm `unreachable` instruction executed", kind="unreachable")
                else:
                    pops = 2 if "." in op and op.split(".", 1)[1] in _BIN_NAMES else 1
                    if pops == 2:
                        b = stack.pop()
                        a = stack.pop()
                        v = binary(op, a, b)
                        stack.append(v)
                        steps.append(Step(pc, op, (a, b), (v,), (), (), depth))
                    else:
                        a = stack.pop()
                        v = unary(op, a)
                        stack.append(v)
                        steps.append(Step(pc, op, (a,), (v,), (), (), depth))
                    pc += 1
            except ZkvmTrap as exc:
                if exc.step < 0:
                    exc.step, exc.pc = len(steps) - (1 if op == "unreachable" else 0), pc
                self.depth = top_depth
                raise
        self.depth = top_depth

    def _return(self, frames, f, keep, base):
        """Leave the current function with its top ``keep`` values; (pc, function, locals, base) of the caller, pc None at the end."""
        stack = self.stack
        vals = stack[len(stack) - keep :] if keep else []
        del stack[base:]
        stack.extend(vals)
        self.depth -= 1
        if not frames:
            self.depth += 1  # _run restores the depth it started with
            return None, f, None, base
        f, locals_, pc, base = frames.pop()
        return pc, f, locals_, base


def _unwind(stack: list, height: int, keep: int) -> None:
    """A branch: keep the top ``keep`` values and cut the stack below them to ``height``."""
    vals = stack[len(stack) - keep :] if keep else []
    del stack[height:]
    stack.extend(vals)


_BIN_NAMES = frozenset(("add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s",
                        "shr_u", "rotl", "rotr", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"))
