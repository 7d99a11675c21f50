"""``wasm_execution.v1`` step circuit, version 1: straight-line integer code, locals, globals and branches of one
frame — the frame that later stages extend with calls, linear memory and host calls.

Statement (public inputs, in this order)::

    0  rid_hi, 1 rid_lo   the module (sha256 of its bytes; the circuit is derived from them)
    2  entry              the pc of the called function's first instruction (every node derives it
                          from the deployed module and the function's export name)
    3 … 3+P−1  args       the call's arguments, as unsigned values of their types (P: the module's
                          largest parameter count; unused ones 0)
    3+P  result           the returned value (0 for a function without one)

Witness: per row (one row per executed instruction; rows after the return are
``halt`` rows) the pc, the instruction's descriptor as the program's ROM holds
it, the values read and written, and each instruction kind's auxiliary wires.

Constraints:

1. **Program.** Each row reads the ROM at its pc: ``(pc, kind, imm, target,
   read addresses a/b/c, write address)``. The ROM's entries are constants of
   the circuit, written once before the first row; the reads go through the
   memory checker (:mod:`.memcheck`), so every row's descriptor is the program's
   at its pc. The kind is one-hot over the kinds the program uses.
2. **Control.** ``pc_0 = entry``; ``pc_{i+1} = pc_i + 1`` unless the row jumps to
   its ``target``: ``br``, ``return`` and ``halt`` always, ``br_if`` when its
   condition is nonzero, ``if`` when it is zero. A return jumps to the halt pc;
   the last row must be ``halt``: the call returned within the capacity.
3. **Frame memory.** Globals, locals and operand-stack slots share one address
   space (slot addresses are static per pc: WebAssembly's stack height is
   fixed by validation). Each row reads up to three slots and writes one,
   through the memory checker: every read returns the last value written
   there — a global's initialiser, an argument, or zero for a declared local.
4. **Semantics.** The written value ``R`` is the instruction's result on the
   values read, per kind, in WebAssembly's arithmetic modulo ``2^32`` / ``2^64``
   (``R`` is range-checked to its width on every row; carries, borrows and
   differences are range-checked where a kind uses them).
5. **Result.** A ``return`` with a value reads it, and it equals the public ``result``.

What is proven: running the module's function at ``entry`` on ``args`` returns
``result`` within the capacity (rows). What is not, in this version: calls,
linear memory, host imports, division, shifts and bitwise instructions,
multi-value branches — :func:`compile_program` refuses a program that uses
them (:class:`UnsupportedInstruction`), naming the instruction; they are the
next stages (docs/zkvm.md).
"""

from __future__ import annotations

import threading

import attrs

from ispc_core.zk.fields import get_field
from ispc_core.zk.gadgets import is_zero, to_bits
from ispc_core.zk.r1cs import R1CS, CircuitBuilder

from ..program import Program
from ..subset import NotProvable
from .memcheck import check_memory, padded_size

__all__ = ["UnsupportedInstruction", "StepCircuit", "compile_program", "KINDS"]

ZERO, SCRATCH, FIRST = 0, 1, 2
M64 = (1 << 64) - 1

#: kind -> (width in bits or 0, reads a, reads b, reads c, writes)
KINDS = {
    "halt": (0, 0, 0, 0, 0),
    "const": (0, 0, 0, 0, 1),
    "move": (0, 1, 0, 0, 1),       # local.get/set/tee, global.get/set, br with a value: R = A
    "drop": (0, 0, 0, 0, 0),
    "br": (0, 0, 0, 0, 0),
    "br_if": (0, 1, 0, 0, 0),
    "if": (0, 1, 0, 0, 0),
    "return0": (0, 0, 0, 0, 0),
    "return1": (0, 1, 0, 0, 0),
    "select": (0, 1, 1, 1, 1),
    **{f"{t}.{op}": (w, 1, 1, 0, 1) for t, w in (("i32", 32), ("i64", 64))
       for op in ("add", "sub", "mul", "eq", "ne", "lt_u", "gt_u", "le_u", "ge_u")},
    **{f"{t}.eqz": (w, 1, 0, 0, 1) for t, w in (("i32", 32), ("i64", 64))},
}


class UnsupportedInstruction(NotProvable):
    """The program uses an instruction this version of the step circuit does not prove yet."""

    code = "not_provable_yet"


@attrs.frozen
class _Rom:
    kind: str
    imm: int = 0
    target: int = 0
    a: int = ZERO
    b: int = ZERO
    c: int = ZERO
    w: int = SCRATCH


def _layout(program: Program) -> tuple[list[_Rom], int, int]:
    """The ROM (one entry per pc, then halt) and the frame space's size; UnsupportedInstruction otherwise."""
    globals_base = FIRST
    base = globals_base + len(program.globals)
    funcs = {f.index: f for f in program.functions}
    halt_pc = len(program.code)
    rom: list[_Rom] = []
    top = base
    for pc, ins in enumerate(program.code):
        f = funcs[ins.func]
        nl = f.n_locals
        h = ins.height
        slot = lambda k: base + nl + k  # noqa: E731 - operand slot k of this frame
        local = lambda i: base + i  # noqa: E731
        top = max(top, slot(h + 1))
        op, imm = ins.op, ins.imm
        if op in ("i32.const", "i64.const"):
            e = _Rom("const", imm=imm[0], w=slot(h))
        elif op == "local.get":
            e = _Rom("move", a=local(imm[0]), w=slot(h))
        elif op in ("local.set", "local.tee"):
            e = _Rom("move", a=slot(h - 1), w=local(imm[0]))
        elif op == "global.get":
            e = _Rom("move", a=globals_base + imm[0], w=slot(h))
        elif op == "global.set":
            e = _Rom("move", a=slot(h - 1), w=globals_base + imm[0])
        elif op == "drop":
            e = _Rom("drop")
        elif op == "select":
            e = _Rom("select", a=slot(h - 3), b=slot(h - 2), c=slot(h - 1), w=slot(h - 3))
        elif op in ("i32.eqz", "i64.eqz"):
            e = _Rom(op, a=slot(h - 1), w=slot(h - 1))
        elif op in KINDS and KINDS[op][2]:
            e = _Rom(op, a=slot(h - 2), b=slot(h - 1), w=slot(h - 2))
        elif op == "br":
            target, keep, lab = imm
            if keep > 1:
                raise UnsupportedInstruction(f"a branch carrying {keep} values at pc {pc} (multi-value branches are not proven yet)", instruction="br")
            # a br with a value moves it to the label's slot as it jumps
            e = _Rom("br_move", a=slot(h - 1), w=slot(lab), target=target) if keep else _Rom("br", target=target)
        elif op == "br_if":
            target, keep, lab = imm
            if keep or target == "return":
                raise UnsupportedInstruction(f"a br_if carrying values or returning at pc {pc} is not proven yet", instruction="br_if")
            e = _Rom("br_if", a=slot(h - 1), target=target)
        elif op == "if":
            e = _Rom("if", a=slot(h - 1), target=imm[0])
        elif op == "return":
            keep = imm[0]
            if keep > 1:
                raise UnsupportedInstruction(f"a return of {keep} values at pc {pc} is not proven yet", instruction="return")
            e = _Rom("return1", a=slot(h - 1), target=halt_pc) if keep else _Rom("return0", target=halt_pc)
        else:
            raise UnsupportedInstruction(
                f"{op} (pc {pc}, function {program.function_name(ins.func)}) is not proven by this version of the step circuit",
                instruction=op, function=program.function_name(ins.func),
            )
        rom.append(e)
    rom.append(_Rom("halt", target=halt_pc))
    return rom, base, top


KINDS["br_move"] = (0, 1, 0, 0, 1)
_JUMPS = ("br", "br_move", "return0", "return1", "halt")


class StepCircuit:
    """The compiled step circuit of one program at one capacity (rows) and curve; its witness template."""

    def __init__(self, program: Program, capacity: int, curve: str):
        for f in program.functions:
            if f.is_import:
                raise UnsupportedInstruction(f"the module imports {f.import_name}: host calls are not proven yet", instruction="import")
        for ins in program.code:
            if ins.op == "call":
                raise UnsupportedInstruction(f"call at pc of function {program.function_name(ins.func)}: calls are not proven yet",
                                             instruction="call", function=program.function_name(ins.func))
        self.program, self.capacity, self.curve = program, capacity, curve
        self.rom, self.base, self.top = _layout(program)
        self.halt_pc = len(self.rom) - 1
        self.n_args = max((len(f.params) for f in program.functions), default=0)
        self.kinds = ["halt"] + sorted({e.kind for e in self.rom} - {"halt"})
        self.kind_id = {k: i for i, k in enumerate(self.kinds)}
        self.cb = CircuitBuilder(get_field(curve))
        self._lock = threading.Lock()
        self._rows: list[dict] = []
        self._build()
        self.r1cs: R1CS = self.cb.compile()

    # ---------------------------------------------------------------- constraints
    def _build(self) -> None:
        cb, T, rom = self.cb, self.capacity, self.rom
        self.pub = {"rid_hi": cb.public_input("rid_hi"), "rid_lo": cb.public_input("rid_lo"), "entry": cb.public_input("entry")}
        self.args = [cb.public_input(f"arg{j}") for j in range(self.n_args)]
        self.result = cb.public_input("result")
        row = lambda i, key: self._rows[i][key] if i < len(self._rows) else 0  # noqa: E731
        rom_acc = [(cb.const(pc), cb.const(0), cb.const(1), [cb.const(self.kind_id[e.kind]), cb.const(e.imm), cb.const(e.target),
                    cb.const(e.a), cb.const(e.b), cb.const(e.c), cb.const(e.w)]) for pc, e in enumerate(rom)]
        frame_acc = [(cb.const(FIRST + g), cb.const(0), cb.const(1), cb.const(v)) for g, (_, _, v) in enumerate(self.program.globals)]
        frame_acc += [(cb.const(self.base + j), cb.const(0), cb.const(1), a) for j, a in enumerate(self.args)]
        uses_c = any(e.c != ZERO for e in rom)
        prev_pc = None
        prev_jump = prev_target = None
        for i in range(T):
            w = lambda key, i=i: cb.witness(f"row{i}.{key}", hint=lambda get, key=key: row(i, key))  # noqa: E731
            pc = w("pc")
            sel = {}
            for k in self.kinds:
                s = cb.witness(f"row{i}.is_{k}", hint=lambda get, k=k, i=i: int(row(i, "kind") == k) if i < len(self._rows) else int(k == "halt"))
                cb.constrain(s, s - 1, 0, f"row {i}: kind flag {k} boolean")
                sel[k] = s
            cb.assert_equal(sum(sel.values(), cb.const(0)), 1, f"row {i}: one kind")
            kind = sum((sel[k] * self.kind_id[k] for k in self.kinds), cb.const(0))
            imm, target = w("imm"), w("target")
            addr = {s: w(f"addr_{s}") for s in "abcw"}
            rom_acc.append((pc, None, cb.const(0), [kind, imm, target, addr["a"], addr["b"], addr["c"], addr["w"]]))
            A, B, C, R = w("A"), w("B"), w("C"), w("R")
            frame_acc.append((addr["a"], None, cb.const(0), A))
            frame_acc.append((addr["b"], None, cb.const(0), B))
            if uses_c:
                frame_acc.append((addr["c"], None, cb.const(0), C))
            frame_acc.append((addr["w"], None, cb.const(1), R))
            zA = is_zero(cb, A, f"row{i}.zA")
            self._semantics(i, sel, A, B, C, R, imm, zA)
            # control
            jump = sum((sel[k] for k in _JUMPS if k in sel), cb.const(0))
            if "br_if" in sel:
                jump = jump + cb.mul(sel["br_if"], 1 - zA, f"row{i}.brif", f"row {i}: br_if taken")
            if "if" in sel:
                jump = jump + cb.mul(sel["if"], zA, f"row{i}.ifz", f"row {i}: if skips")
            if i == 0:
                cb.assert_equal(pc, self.pub["entry"], "row 0 starts at the entry pc")
            else:
                delta = cb.mul(prev_jump, prev_target - prev_pc - 1, f"row{i}.jd", f"row {i - 1}: jump")
                cb.assert_equal(pc, prev_pc + 1 + delta, f"row {i}: pc follows row {i - 1}")
            if "return1" in sel:
                cb.constrain(sel["return1"], A - self.result, 0, f"row {i}: the returned value is the public result")
            prev_pc, prev_jump, prev_target = pc, jump, target
        cb.assert_equal(sel["halt"], 1, f"row {T - 1}: the call has returned (halt)")
        # the two memories; times are positions (constants), so fill them in order
        self._memories(rom_acc, frame_acc)

    def _memories(self, rom_acc, frame_acc) -> None:
        cb = self.cb
        rom_rows = []
        for t, (a, _, wflag, vals) in enumerate(rom_acc):
            rom_rows.append((a, cb.const(t), wflag, vals))
        frame_rows = [(a, cb.const(t), wflag, v) for t, (a, _, wflag, v) in enumerate(frame_acc)]
        pc_bits = max(2, (len(self.rom)).bit_length() + 1)
        ts_bits_rom = padded_size(len(rom_rows)).bit_length() + 1
        check_memory(cb, rom_rows, addr_bits=pc_bits, ts_bits=ts_bits_rom, name="rom", written_first=True)
        addr_bits = max(2, self.top.bit_length() + 1)
        check_memory(cb, frame_rows, addr_bits=addr_bits, ts_bits=padded_size(len(frame_rows)).bit_length() + 1, name="frame")

    def _semantics(self, i, sel, A, B, C, R, imm, zA) -> None:
        """R per kind; R is range-checked to 64 bits, and to 32 for the i32 kinds."""
        cb = self.cb
        bits = to_bits(cb, R, 64, f"row{i}.Rbits")
        k32 = [k for k in sel if k.startswith("i32.")]
        if k32:
            hi = sum((b * (1 << j) for j, b in enumerate(bits) if j >= 32), cb.const(0))
            cb.constrain(sum((sel[k] for k in k32), cb.const(0)), hi, 0, f"row {i}: an i32 result fits 32 bits")

        def rule(k, value, label):
            if k in sel:
                cb.constrain(sel[k], R - value, 0, f"row {i}: {label}")

        rule("const", imm, "const: R = imm")
        rule("move", A, "move: R = A")
        rule("br_move", A, "br: R = A")
        if "select" in sel:
            zc = is_zero(cb, C, f"row{i}.zC")
            pick = B + cb.mul(1 - zc, A - B, f"row{i}.sel", f"row {i}: select")
            rule("select", pick, "select: R = C ? A : B")
        adds = [k for k in sel if k.endswith(".add")]
        if adds:
            carry = cb.witness(f"row{i}.carry", hint=lambda get: int(get(A) + get(B) > (M64 if "i64.add" == self._kind(i) else 0xFFFFFFFF)))
            cb.constrain(carry, carry - 1, 0, f"row {i}: carry boolean")
            for k in adds:
                rule(k, A + B - carry * (1 << KINDS[k][0]), f"{k}: R = A + B mod 2^w")
        cmp = [k for k in sel if k.split(".")[-1] in ("sub", "lt_u", "gt_u", "le_u", "ge_u")]
        if cmp:
            swap_kinds = [k for k in cmp if k.endswith(("gt_u", "le_u"))]
            swap = sum((sel[k] for k in swap_kinds), cb.const(0))
            X = A + cb.mul(swap, B - A, f"row{i}.x", f"row {i}: compare operands") if swap_kinds else A
            Y = A + B - X
            wide = sum((sel[k] for k in cmp if k.startswith("i64")), cb.const(0))
            on = sum((sel[k] for k in cmp), cb.const(0))
            # in a compare row, D = X − Y + borrow·2^w lies in [0, 2^w): the borrow is X < Y
            is_cmp = lambda: self._kind(i) in cmp  # noqa: E731
            width = lambda: 64 if self._kind(i).startswith("i64") else 32  # noqa: E731
            borrow = cb.witness(f"row{i}.borrow", hint=lambda get: int(get(X) < get(Y)) if is_cmp() else 0)
            cb.constrain(borrow, borrow - 1, 0, f"row {i}: borrow boolean")
            D = cb.witness(f"row{i}.D", hint=lambda get: get(X) - get(Y) + (get(borrow) << width()) if is_cmp() else 0)
            bw = cb.mul(borrow, wide, f"row{i}.bw", f"row {i}: wide borrow")
            cb.constrain(on, X - Y + borrow * (1 << 32) + bw * ((1 << 64) - (1 << 32)) - D, 0, f"row {i}: D = X - Y + borrow * 2^w")
            dbits = to_bits(cb, D, 64, f"row{i}.Dbits")
            narrow = sum((sel[k] for k in cmp if k.startswith("i32")), cb.const(0))
            dhi = sum((b * (1 << j) for j, b in enumerate(dbits) if j >= 32), cb.const(0))
            cb.constrain(narrow, dhi, 0, f"row {i}: an i32 difference fits 32 bits")
            for k in cmp:
                op = k.split(".")[-1]
                rule(k, D if op == "sub" else borrow if op in ("lt_u", "gt_u") else 1 - borrow, f"{k} from the borrow")
        eqs = [k for k in sel if k.split(".")[-1] in ("eq", "ne")]
        if eqs:
            zd = is_zero(cb, A - B, f"row{i}.zAB")
            for k in eqs:
                rule(k, zd if k.endswith(".eq") else 1 - zd, f"{k}")
        for k in [k for k in sel if k.endswith(".eqz")]:
            rule(k, zA, f"{k}")
        muls = [k for k in sel if k.endswith(".mul")]
        if muls:
            prod = cb.mul(A, B, f"row{i}.AB", f"row {i}: A * B")
            wide = sum((sel[k] for k in muls if k.startswith("i64")), cb.const(0))
            two_w = (1 << 32) + wide * ((1 << 64) - (1 << 32))
            hi = cb.witness(f"row{i}.mulhi", hint=lambda get: get(prod) >> (64 if self._kind(i) == "i64.mul" else 32)
                            if self._kind(i) in muls else 0)
            to_bits(cb, hi, 64, f"row{i}.mulhi.bits")
            mh = cb.mul(hi, two_w, f"row{i}.mulhiw", f"row {i}: high part")
            for k in muls:
                rule(k, prod - mh, f"{k}: R = A * B mod 2^w")

    def _kind(self, i: int) -> str:
        return self._rows[i]["kind"] if i < len(self._rows) else "halt"

    # ---------------------------------------------------------------- witness
    def witness(self, execution, rid: bytes) -> list[int]:
        """The full witness of one execution (``ispc_zkvm.replay.Execution``) of this program."""
        if execution.trap is not None:
            raise UnsupportedInstruction("a trapped execution is not proven by this version", instruction="trap")
        steps = execution.steps
        if len(steps) > self.capacity - 1:
            from ..interpreter import StepLimitExceeded

            raise StepLimitExceeded(f"the execution takes {len(steps)} steps; the circuit's capacity is {self.capacity - 1}")
        mem: dict[int, int] = {FIRST + g: v for g, (_, _, v) in enumerate(self.program.globals)}
        for j, a in enumerate(execution.args):
            mem[self.base + j] = a
        rows = []
        for st in steps:
            e = self.rom[st.pc]
            vals = {s: mem.get(getattr(e, s), 0) if getattr(e, s) != ZERO else 0 for s in "abc"}
            out = st.outputs[0] if st.outputs else 0
            R = out if e.kind not in ("move", "br_move") else vals["a"]
            rows.append({"pc": st.pc, "kind": e.kind, "imm": e.imm, "target": e.target, "addr_a": e.a, "addr_b": e.b,
                         "addr_c": e.c, "addr_w": e.w, "A": vals["a"], "B": vals["b"], "C": vals["c"], "R": R if KINDS[e.kind][4] else 0})
            if KINDS[e.kind][4]:
                mem[e.w] = R
        halt = self.rom[self.halt_pc]
        while len(rows) < self.capacity:
            rows.append({"pc": self.halt_pc, "kind": "halt", "imm": 0, "target": halt.target, "addr_a": ZERO, "addr_b": ZERO,
                         "addr_c": ZERO, "addr_w": SCRATCH, "A": 0, "B": 0, "C": 0, "R": 0})
        cb = self.cb
        with self._lock:
            self._rows = rows
            values: list = [None] * len(cb._values)
            values[0] = 1
            rid_hi, rid_lo = int.from_bytes(rid[:16], "big"), int.from_bytes(rid[16:], "big")
            for key, v in (("rid_hi", rid_hi), ("rid_lo", rid_lo), ("entry", execution.function.entry)):
                (wire,) = self.pub[key].terms
                values[wire] = v
            for j, a in enumerate(self.args):
                (wire,) = a.terms
                values[wire] = execution.args[j] if j < len(execution.args) else 0
            (wire,) = self.result.terms
            values[wire] = execution.results[0] if execution.results else 0
            cb._values = values
            try:
                return cb.witness_values()
            finally:
                self._rows = []


def compile_program(program: Program, capacity: int, curve: str) -> StepCircuit:
    """The step circuit of ``program`` at ``capacity`` rows on ``curve`` (UnsupportedInstruction if out of scope)."""
    return StepCircuit(program, capacity, curve)
