"""Witness generation's first half: re-run a validated call on the interpreter, against its journal.

The node has already run the call under wasmtime; :func:`run` runs it again
on the zkVM's interpreter with every host import answered from the journal
(:class:`~ispc_zkvm.host.JournalHost`), and checks that the two runs agree:
the same host calls with the same arguments, every journal entry used, and
the same return values. The recorded :class:`Execution` is what the circuit's
witness is built from. A disagreement raises
:class:`~ispc_zkvm.interpreter.ReplayMismatch` — the zkVM never proves an
execution its interpreter does not reproduce.

Example::

    ex = run(program, "transfer", (250,), host_functions, journal_records, max_steps=256)
    ex.steps, ex.results       # the trace and the raw (unsigned) results
"""

from __future__ import annotations

from typing import Any, Sequence

import attrs

from .host import JournalHost
from .interpreter import M32, M64, Machine, ReplayMismatch, Step, ZkvmTrap
from .program import Function, Program

__all__ = ["Execution", "run", "to_raw", "from_raw"]


def to_raw(value: int, wasm_type: str) -> int:
    """A signed (or unsigned) integer argument as the unsigned value of its wasm type.

    >>> to_raw(-1, "i32")
    4294967295
    """
    return int(value) & (M32 if wasm_type == "i32" else M64)


def from_raw(value: int, wasm_type: str) -> int:
    """An unsigned wasm value as the signed integer the engine reports (wasmtime's convention)."""
    bits = 32 if wasm_type == "i32" else 64
    return value - (1 << bits) if value >> (bits - 1) else value


@attrs.frozen
class Execution:
    """A call reproduced on the interpreter: its function, raw arguments and results, and every step."""

    function: Function
    args: tuple[int, ...]
    results: tuple[int, ...]
    steps: tuple[Step, ...] = attrs.field(repr=False)
    #: the trap, when the call trapped (then ``results`` is empty)
    trap: ZkvmTrap | None = None

    @property
    def signed_results(self) -> tuple[int, ...]:
        """The results as the engine reports them (signed)."""
        return tuple(from_raw(v, t) for v, t in zip(self.results, self.function.results))


def run(
    program: Program,
    function: str,
    args: Sequence[int],
    host_functions: Sequence[Any],
    records: Sequence[Any],
    *,
    max_steps: int,
    max_pages: int | None = None,
    expect: Sequence[int] | None = None,
) -> Execution:
    """Re-run exported ``function`` on ``args`` with host results from ``records`` (see the module docstring).

    ``expect``: the values the engine returned (signed, as wasmtime reports
    them); ReplayMismatch when the interpreter's differ. A trap is returned in
    the execution (``trap``), not raised: it is an outcome the zkVM can prove.
    """
    try:
        f = program.function_by_export(function)
    except KeyError:
        raise ReplayMismatch(f"the module exports no function {function!r}") from None
    if len(args) != len(f.params):
        raise ReplayMismatch(f"{function} takes {len(f.params)} arguments, the call has {len(args)}")
    raw = tuple(to_raw(a, t) for a, t in zip(args, f.params))
    host = JournalHost(host_functions, records)
    vm = Machine(program, host, max_steps=max_steps, max_pages=max_pages)
    try:
        results = tuple(vm.invoke(f.index, raw))
    except ZkvmTrap as trap:
        return Execution(f, raw, (), tuple(vm.steps), trap)
    host.finish()
    ex = Execution(f, raw, results, tuple(vm.steps))
    if expect is not None and tuple(expect) != ex.signed_results:
        raise ReplayMismatch(f"{function} returns {ex.signed_results} on the zkVM's interpreter, {tuple(expect)} on the engine")
    return ex
