"""The provable subset: which modules ``wasm_execution.v1`` can prove, checked at deploy.

The zkVM proves i32 and i64 integer code: constants, every arithmetic,
bitwise, shift, rotate and comparison instruction, eqz, clz / ctz / popcnt,
wrap / extend (and the sign-extension instructions), division and remainder
with WebAssembly's traps; locals and globals; block, loop, if / else, br,
br_if, br_table, return, direct calls, select, drop, unreachable and nop;
loads and stores of every width and signedness; memory.size and memory.grow;
host imports. A kind that pins ``wasm_execution.v1`` refuses anything else at
deploy, with :class:`NotProvable` naming the instruction and its function:

* floating point (any ``f32`` / ``f64`` instruction, local, global, parameter or
  result), SIMD and reference types;
* ``call_indirect`` (a table lookup per call; not in this version) and tail calls;
* bulk memory (``memory.copy``, ``memory.fill``, ``memory.init``, ``data.drop``)
  and table instructions;
* a start function (it would run at instantiation, outside the proven call);
* imported memories, tables or globals (the initial state must come from the
  module's own bytes, which every node has).

Example::

    check(decode(wasm_bytes))          # NotProvable: "f64.add in function `price` ..."
"""

from __future__ import annotations

from ispc_core.errors import DeployError

from .program import Program

__all__ = ["NotProvable", "check"]

_VALUE_TYPES = ("i32", "i64")


class NotProvable(DeployError):
    """The module uses something outside the zkVM's subset; ``instruction`` and ``function`` name it."""

    code = "not_provable"

    def __init__(self, message: str, *, instruction: str = "", function: str = ""):
        super().__init__(message)
        self.instruction, self.function = instruction, function


def _fname(program: Program, index: int) -> str:
    return f"`{program.function_name(index)}`" if index >= 0 else "the module"


def check(program: Program) -> None:
    """:class:`NotProvable` for the first thing in ``program`` outside the subset (see the module docstring)."""
    hint = "; wasm_execution.v1 proves the i32/i64 integer subset (docs/zkvm.md)"
    for kind, what, func in program.notes:
        where = _fname(program, func)
        if kind == "instruction":
            raise NotProvable(f"{what} in function {where} is outside the provable subset{hint}", instruction=what, function=program.function_name(func) if func >= 0 else "")
        raise NotProvable(f"{what} in {where if func >= 0 else 'the module'} is outside the provable subset{hint}", instruction=kind, function=program.function_name(func) if func >= 0 else "")
    for f in program.functions:
        name = program.function_name(f.index)
        for t in f.params + f.results:
            if t not in _VALUE_TYPES:
                raise NotProvable(f"function `{name}` has a {t} {'parameter or result'}{hint}", instruction=t, function=name)
        for t in f.locals:
            if t not in _VALUE_TYPES:
                raise NotProvable(f"function `{name}` declares a {t} local{hint}", instruction=t, function=name)
    for gi, (t, _, _) in enumerate(program.globals):
        if t not in _VALUE_TYPES:
            raise NotProvable(f"global {gi} has type {t}{hint}", instruction=t)
    if program.start >= 0:
        raise NotProvable(
            f"the module has a start function ({program.function_name(program.start)}): it runs at instantiation, "
            f"outside the proven call{hint}", instruction="start", function=program.function_name(program.start),
        )
    for imp in program.other_imports:
        raise NotProvable(f"the module imports a {imp.kind} ({imp.module}.{imp.name}): the zkVM's initial state comes "
                          f"from the module's own bytes{hint}", instruction=f"import {imp.kind}")
