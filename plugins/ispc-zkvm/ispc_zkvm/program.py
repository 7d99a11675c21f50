"""A deployed WebAssembly module as the zkVM sees it: flat code, static stack heights, the initial state.

The zkVM proves executions of a *program*: the module's functions as one flat
list of instructions, indexed by a program counter, with structured control
flow (``block``, ``loop``, ``if``, ``br*``, ``return``) resolved into jumps
whose targets and stack effects are fixed here, once, from the module's bytes.
Every node computes the same :class:`Program` from the deployed bytes, so the
program never has to travel with a transaction.

Decoding uses pywasm's binary reader (``pywasm.core.ModuleDesc``, MIT, pure
Python): it reads every section and instruction of the format. What is
written here is what no library gives: the flattening, the static operand
stack height before every instruction (WebAssembly's validation guarantees
it is the same on every path), and the provable-subset check
(:mod:`ispc_zkvm.subset`). The module is always validated by wasmtime first
(the engine compiles it at deploy), so a decode failure here is a module
this reader cannot follow, reported as :class:`ProgramError`, never a crash.

Flat instructions (:class:`Instr`) keep the WebAssembly mnemonic and its
immediates, except for control flow:

==============  ===============================  =====================================
flat op         immediates                       meaning
==============  ===============================  =====================================
``br``          ``(target, keep, base)``         keep the top ``keep`` values, cut the
                                                 stack to ``base + keep``, jump
``br_if``       ``(target, keep, base)``         pop a condition; if nonzero, ``br``
``br_table``    ``(arms, default)``              pop an index; ``br`` by arm (or default)
``if``          ``(else_target,)``               pop a condition; if zero, jump
``return``      ``(keep,)``                      leave the function with ``keep`` values
``call``        ``(function index,)``            a defined function or a host import
==============  ===============================  =====================================

``block``, ``loop``, ``end`` and ``nop`` leave no instruction; ``else`` becomes
the ``br`` that ends the then-branch; code after an unconditional transfer
(``br``, ``br_table``, ``return``, ``unreachable``) up to the end of its block
is dead and is left out.

Example::

    program = decode(open("contracts/token.wasm", "rb").read())
    f = program.function_by_export("transfer")
    program.code[f.entry]          # Instr(op='i32.const', imm=(...), height=0, func=...)
"""

from __future__ import annotations

import hashlib
import io

import attrs

from ispc_core.errors import DeployError

__all__ = ["ProgramError", "Instr", "Function", "Import", "Program", "decode", "stack_effect"]

PAGE = 65536
#: the deepest block nesting the zkVM accepts: a fixed number, so that every node decides alike
#: (pywasm's reader recurses once per level; Python's default limit leaves room for this many)
MAX_NESTING = 512
_I32, _I64 = 0x7F, 0x7E
_TYPE_NAMES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}


class ProgramError(DeployError):
    """The module cannot be read as a zkVM program (malformed for this reader, or nesting too deep)."""

    code = "program_unreadable"


@attrs.frozen(slots=True)
class Instr:
    """One flat instruction: mnemonic, immediates, the operand stack height before it, its function."""

    op: str
    imm: tuple = ()
    height: int = 0
    func: int = 0


@attrs.frozen
class Function:
    """A function of the module (defined or imported), in WebAssembly's function index space."""

    index: int
    params: tuple[str, ...]
    results: tuple[str, ...]
    #: declared locals beyond the parameters, by type
    locals: tuple[str, ...] = ()
    #: pc of the first instruction (defined functions); -1 for an import
    entry: int = -1
    #: pc one past the last instruction
    end: int = -1
    #: the import's name (``ispc.tx_transfer`` → ``tx_transfer``) for an import
    import_name: str = ""
    #: the export names of this function
    exports: tuple[str, ...] = ()

    @property
    def is_import(self) -> bool:
        """Whether the function is a host import."""
        return self.entry < 0

    @property
    def n_locals(self) -> int:
        """Parameters plus declared locals."""
        return len(self.params) + len(self.locals)


@attrs.frozen
class Import:
    """A non-function import (memory, table, global): the zkVM refuses them; kept to name them."""

    module: str
    name: str
    kind: str


@attrs.frozen
class Program:
    """A module as flat code plus its initial state (see the module docstring)."""

    code: tuple[Instr, ...]
    functions: tuple[Function, ...]
    #: globals: (type, mutable, initial value as an unsigned integer of the type's width)
    globals: tuple[tuple[str, bool, int], ...]
    #: active data segments: (offset, bytes)
    data: tuple[tuple[int, bytes], ...]
    #: initial and maximum memory in pages (max -1: no maximum declared); (0, 0) without memory
    memory_pages: tuple[int, int]
    has_memory: bool
    start: int
    #: what the subset check needs to name things: non-function imports, tables, element segments, passive data
    other_imports: tuple[Import, ...] = ()
    tables: int = 0
    elements: int = 0
    passive_data: int = 0
    #: what decoding found outside the subset, for :mod:`ispc_zkvm.subset` to report: (kind, what, function index or -1)
    notes: tuple[tuple[str, str, int], ...] = ()
    #: sha256 of the module bytes: the resource id of the deployed module
    module_sha256: bytes = b""

    def function_by_export(self, name: str) -> Function:
        """The function exported as ``name``; KeyError if none."""
        for f in self.functions:
            if name in f.exports:
                return f
        raise KeyError(name)

    def function_name(self, index: int) -> str:
        """A readable name of function ``index``: its export, its import, or ``func[index]``."""
        f = self.functions[index]
        if f.exports:
            return f.exports[0]
        if f.import_name:
            return f"ispc.{f.import_name}"
        return f"func[{index}]"


# -------------------------------------------------------------------------------- stack effects
_UNARY = {"i32.eqz", "i64.eqz", "i32.clz", "i32.ctz", "i32.popcnt", "i64.clz", "i64.ctz", "i64.popcnt",
          "i32.wrap_i64", "i64.extend_i32_s", "i64.extend_i32_u", "i32.extend8_s", "i32.extend16_s",
          "i64.extend8_s", "i64.extend16_s", "i64.extend32_s"}
_BINARY_OPS = ("add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s", "shr_u",
               "rotl", "rotr", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u")
_BINARY = {f"{t}.{o}" for t in ("i32", "i64") for o in _BINARY_OPS}
_LOADS = {"i32.load", "i64.load", "i32.load8_s", "i32.load8_u", "i32.load16_s", "i32.load16_u", "i64.load8_s",
          "i64.load8_u", "i64.load16_s", "i64.load16_u", "i64.load32_s", "i64.load32_u"}
_STORES = {"i32.store", "i64.store", "i32.store8", "i32.store16", "i64.store8", "i64.store16", "i64.store32"}
INTEGER_OPS = frozenset(_UNARY | _BINARY | _LOADS | _STORES | {"i32.const", "i64.const"})


def stack_effect(op: str) -> tuple[int, int]:
    """(values popped, values pushed) of a non-control, non-call instruction of the subset.

    >>> stack_effect("i64.add")
    (2, 1)
    """
    if op in ("i32.const", "i64.const", "local.get", "global.get", "memory.size"):
        return 0, 1
    if op in _UNARY or op in _LOADS or op in ("local.tee", "memory.grow"):
        return 1, 1
    if op in _BINARY:
        return 2, 1
    if op in _STORES:
        return 2, 0
    if op in ("local.set", "global.set", "drop"):
        return 1, 0
    if op == "select":
        return 3, 1
    raise KeyError(op)


# -------------------------------------------------------------------------------- decoding
def _const_value(expr, what: str) -> int:
    """The value of a constant expression (``i32.const`` / ``i64.const``), as an unsigned integer."""
    import pywasm.opcode as opc

    insts = list(expr.data)
    if len(insts) == 1 and insts[0].opcode == opc.i32_const:
        return insts[0].args[0] & 0xFFFFFFFF
    if len(insts) == 1 and insts[0].opcode == opc.i64_const:
        return insts[0].args[0] & 0xFFFFFFFFFFFFFFFF
    raise ProgramError(f"{what}: only an i32.const or i64.const initialiser is supported")


def decode(data: bytes) -> Program:
    """The :class:`Program` of module bytes (validated by wasmtime beforehand); :class:`ProgramError` if unreadable."""
    try:
        import pywasm.core as core
    except ImportError as exc:  # pragma: no cover - a dependency of this distribution
        raise ProgramError(f"the zkVM needs pywasm to read modules: {exc}") from None
    reader = io.BytesIO(bytes(data))
    try:
        mod = core.ModuleDesc.from_reader(reader)
        rest = reader.read()
    except RecursionError:
        raise ProgramError(f"the module nests blocks too deeply for the zkVM's reader (at most {MAX_NESTING})") from None
    except (AssertionError, ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise ProgramError(f"the module cannot be read as a zkVM program ({type(exc).__name__}: {exc})") from None
    depth = _nesting(mod)
    if depth > MAX_NESTING:
        raise ProgramError(f"the module nests blocks {depth} deep; the zkVM reads at most {MAX_NESTING}")
    if rest:
        # pywasm reads at most 32 sections: anything left unread would be code the zkVM never saw
        raise ProgramError(f"the module has {len(rest)} bytes beyond the sections the zkVM's reader follows (more than 32 sections?)")
    try:
        return _flatten(mod, hashlib.sha256(bytes(data)).digest())
    except RecursionError:
        raise ProgramError("the module nests blocks too deeply for the zkVM's reader") from None


def _nesting(mod) -> int:
    """The deepest block / loop / if nesting of any function body (iteratively: no recursion here)."""
    import pywasm.opcode as opc

    deepest = 0
    for fd in mod.func:
        todo = [(fd.expr.data, 0)]
        while todo:
            insts, depth = todo.pop()
            deepest = max(deepest, depth)
            for ins in insts:
                if ins.opcode in (opc.block, opc.loop):
                    todo.append((ins.args[1], depth + 1))
                elif ins.opcode == opc.if_then:
                    todo.append((ins.args[1], depth + 1))
                    todo.append((ins.args[2], depth + 1))
    return deepest


def _tname(v) -> str:
    return _TYPE_NAMES.get(v.data, hex(v.data))


def _flatten(mod, sha: bytes) -> Program:
    import pywasm.opcode as opc

    notes: list[tuple[str, str, int]] = []
    functions: list[Function] = []
    other_imports: list[Import] = []
    exports: dict[int, list[str]] = {}
    for e in mod.exps:
        if e.kind == 0x00:
            exports.setdefault(e.desc, []).append(e.name)
    kinds = {0x01: "table", 0x02: "memory", 0x03: "global"}
    for imp in mod.imps:
        if imp.kind != 0x00:
            other_imports.append(Import(imp.module, imp.name, kinds.get(imp.kind, "?")))
            continue
        ft = mod.type[imp.desc]
        idx = len(functions)
        name = imp.name if imp.module == "ispc" else f"{imp.module}.{imp.name}"
        functions.append(Function(idx, tuple(map(_tname, ft.args)), tuple(map(_tname, ft.rets)), import_name=name,
                                  exports=tuple(exports.get(idx, ()))))
    n_imports = len(functions)
    types = [(tuple(map(_tname, t.args)), tuple(map(_tname, t.rets))) for t in mod.type]
    # signatures of every function first: calls refer forward
    sigs = [(f.params, f.results) for f in functions] + [types[fd.type] for fd in mod.func]

    code: list[Instr] = []
    for k, fd in enumerate(mod.func):
        idx = n_imports + k
        params, results = sigs[idx]
        local_types: list[str] = []
        for ld in fd.locals:
            local_types.extend([_tname(ld.type)] * ld.n)
        entry = len(code)
        _Flattener(code, idx, sigs, types, len(params) + len(local_types), notes, opc).body(fd.expr.data, len(results))
        functions.append(Function(idx, params, results, tuple(local_types), entry, len(code), exports=tuple(exports.get(idx, ()))))

    globals_: list[tuple[str, bool, int]] = []
    for gi, g in enumerate(mod.glob):
        t = _tname(g.type.type)
        if t not in ("i32", "i64"):
            notes.append(("global", f"global {gi} has type {t}", -1))
            globals_.append((t, bool(g.type.mut), 0))
            continue
        globals_.append((t, bool(g.type.mut), _const_value(g.init, f"global {gi}")))
    data: list[tuple[int, bytes]] = []
    passive = 0
    for di, d in enumerate(mod.data):
        if d.kind == 0x01:
            passive += 1
            continue
        data.append((_const_value(d.offset, f"data segment {di}"), bytes(d.init)))
    has_memory = bool(mod.mems)
    pages = (mod.mems[0].limits.n, mod.mems[0].limits.m if mod.mems[0].limits.m else -1) if has_memory else (0, 0)
    return Program(
        code=tuple(code), functions=tuple(functions), globals=tuple(globals_), data=tuple(data),
        memory_pages=pages, has_memory=has_memory, start=mod.star, other_imports=tuple(other_imports),
        tables=len(mod.tabl), elements=len(mod.elem), passive_data=passive, notes=tuple(notes), module_sha256=sha,
    )


class _Flattener:
    """Flattens one function body (see the module docstring); records refused instructions as notes."""

    def __init__(self, code, func, sigs, types, n_locals, notes, opc):
        self.code, self.func, self.sigs, self.types, self.n_locals, self.notes, self.opc = code, func, sigs, types, n_locals, notes, opc
        self.h = 0
        # labels: dicts with kind, base (height below the block's params), arity (values a branch carries),
        # results, and either a loop's start pc or the pcs of jumps to patch with the end pc
        self.labels: list[dict] = []

    def emit(self, op: str, imm: tuple = ()) -> int:
        self.code.append(Instr(op, imm, self.h, self.func))
        return len(self.code) - 1

    def body(self, insts, n_results: int) -> None:
        self.labels.append({"kind": "function", "base": 0, "arity": n_results, "results": n_results, "patch": []})
        live = self.seq(insts)
        if live:
            self.emit("return", (n_results,))
        self.labels.pop()  # branches to the function label were emitted as returns

    def _blocktype(self, bt) -> tuple[int, int]:
        if bt.kind == 0x00:
            return 0, 0
        if bt.kind == 0x01:
            if bt.data not in (_I32, _I64):
                self.notes.append(("type", f"a block of type {_TYPE_NAMES.get(bt.data, hex(bt.data))}", self.func))
            return 0, 1
        params, results = self.types[bt.data]
        return len(params), len(results)

    def _branch(self, depth: int) -> tuple:
        """(target-or-None, keep, base) of a branch to label ``depth``; target None = patch later."""
        lab = self.labels[-1 - depth]
        return lab, lab["arity"], lab["base"]

    def _jump(self, op: str, depth: int) -> None:
        lab, keep, base = self._branch(depth)
        if lab["kind"] == "function":
            if op == "br":
                self.emit("return", (keep,))
            else:  # br_if to the function label: a conditional return
                self.emit("br_if", ("return", keep, base))
            return
        target = lab["start"] if lab["kind"] == "loop" else None
        pc = self.emit(op, (target, keep, base))
        if target is None:
            lab["patch"].append(pc)

    def _patch(self, pc: int, target: int) -> None:
        ins = self.code[pc]
        if ins.op in ("br", "br_if"):
            self.code[pc] = attrs.evolve(ins, imm=(target,) + ins.imm[1:])
        elif ins.op == "if":
            self.code[pc] = attrs.evolve(ins, imm=(target,))

    def _close(self, lab: dict) -> None:
        """A block ends here: every branch to it jumps to this pc."""
        end = len(self.code)
        for pc in lab["patch"]:
            self._patch(pc, end)
        for pc, idx in lab.get("table_arms", ()):
            ins = self.code[pc]
            arms = list(ins.imm[0]) + [ins.imm[1]]
            for i in idx:
                arms[i] = (end,) + arms[i][1:]
            self.code[pc] = attrs.evolve(ins, imm=(tuple(arms[:-1]), arms[-1]))

    def seq(self, insts) -> bool:
        """Flatten a sequence; returns whether its end is reachable."""
        opc = self.opc
        import pywasm.opcode as names

        for ins in insts:
            o = ins.opcode
            name = names.name[o]
            if o == opc.nop:
                continue
            if o in (opc.block, opc.loop):
                p, q = self._blocktype(ins.args[0])
                lab = {"kind": "loop" if o == opc.loop else "block", "base": self.h - p, "arity": p if o == opc.loop else q,
                       "results": q, "patch": [], "start": len(self.code)}
                self.labels.append(lab)
                self.seq(ins.args[1])
                self.labels.pop()
                self.h = lab["base"] + q
                self._close(lab)
                continue
            if o == opc.if_then:
                p, q = self._blocktype(ins.args[0])
                cond_pc = self.emit("if", (None,))
                self.h -= 1
                lab = {"kind": "block", "base": self.h - p, "arity": q, "results": q, "patch": []}
                self.labels.append(lab)
                live_then = self.seq(ins.args[1])
                if live_then:
                    lab["patch"].append(self.emit("br", (None, q, lab["base"])))
                self._patch(cond_pc, len(self.code))
                self.h = lab["base"] + p
                self.seq(ins.args[2])
                self.labels.pop()
                self.h = lab["base"] + q
                self._close(lab)
                continue
            if o == opc.br:
                self._jump("br", ins.args[0])
                return False
            if o == opc.br_if:
                self._jump("br_if", ins.args[0])
                self.h -= 1
                continue
            if o == opc.br_table:
                depths = list(ins.args[0]) + [ins.args[1]]
                arms = []
                for depth in depths:
                    lab, keep, base = self._branch(depth)
                    target = "return" if lab["kind"] == "function" else lab["start"] if lab["kind"] == "loop" else None
                    arms.append((target, keep, base))
                pc = self.emit("br_table", (tuple(arms[:-1]), arms[-1]))
                for depth in set(depths):  # arms to a block get its end pc when the block closes
                    lab = self.labels[-1 - depth]
                    if lab["kind"] == "block":
                        lab.setdefault("table_arms", []).append((pc, [i for i, d in enumerate(depths) if d == depth]))
                return False
            if o == opc.call_indirect:
                self.notes.append(("instruction", name, self.func))
                return False
            if o == 0x0F:  # `return` (pywasm names the constant return_call)
                self.emit("return", (self.labels[0]["arity"],))
                return False
            if o == opc.unreachable:
                self.emit("unreachable")
                return False
            if o == opc.call:
                fidx = ins.args[0]
                params, results = self.sigs[fidx]
                self.emit("call", (fidx,))
                self.h += len(results) - len(params)
                continue
            if o in (opc.select, opc.select_type):
                self.emit("select")
                self.h -= 2
                continue
            if o in (opc.local_get, opc.local_set, opc.local_tee, opc.global_get, opc.global_set):
                imm = (ins.args[0],)
            elif name in _LOADS or name in _STORES:
                imm = (ins.args[1],)  # the offset; args[0] is the alignment hint
            elif o in (opc.i32_const,):
                imm = (ins.args[0] & 0xFFFFFFFF,)
            elif o in (opc.i64_const,):
                imm = (ins.args[0] & 0xFFFFFFFFFFFFFFFF,)
            elif name in INTEGER_OPS or name in ("drop", "memory.size", "memory.grow"):
                imm = ()
            else:
                self.notes.append(("instruction", name, self.func))
                # keep flattening with a guessed effect: the subset check refuses the program anyway
                continue
            pops, pushes = stack_effect(name)
            self.emit(name, imm)
            self.h += pushes - pops
        return True
