"""The zkVM's host: serves a program's imports from a recorded journal, as the wasm engine's ABI defines them.

The proof's statement is "with every host call returning what the journal
records, the program makes exactly the journal's host calls". So the
interpreter never calls a real host function: :class:`JournalHost` answers
each import from the next journal entry, after checking that the program
called the function the entry names with the arguments it records — read
from the guest's registers and memory exactly as the engine's ABI
(``ispc_wasm.abi``) reads them. A result of bytes goes back the way the
engine returns it: the host calls the guest's ``ispc_alloc(len)`` (guest
code, so interpreted and recorded too), copies the bytes there, and returns
``(ptr << 32) | len``.

Example::

    host = JournalHost(host_functions, records)     # records: ispc_core.trace.TraceRecord
    vm = Machine(program, host, max_steps=4096)
    vm.invoke(f.index, args)
    host.finish()                                    # every entry was used
"""

from __future__ import annotations

from typing import Any, Sequence

from ispc_core.specs import HostFunction

from .interpreter import M64, ReplayMismatch, ZkvmTrap

__all__ = ["JournalHost", "ABI_VERSION", "ALLOCATOR_EXPORT"]

#: what ``ispc.abi_version()`` returns (ispc_wasm.abi.ABI_VERSION)
ABI_VERSION = 1
ALLOCATOR_EXPORT = "ispc_alloc"
_MAX_ABORT_MESSAGE = 4096


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


class JournalHost:
    """Answers host imports from ``records`` (in order), checking names and arguments (see the module docstring)."""

    def __init__(self, host_functions: Sequence[HostFunction], records: Sequence[Any]):
        self.by_import = {fn.import_name: fn for fn in host_functions}
        self.records = list(records)
        self.next = 0

    def call(self, vm, callee, raw: list[int]) -> list[int]:
        """Serve one import call (``raw``: its wasm arguments, unsigned); returns its wasm results."""
        name = callee.import_name
        if name == "abi_version":
            return [ABI_VERSION]
        if name == "abort":
            ptr, length = raw
            msg = vm.read(ptr, min(length, _MAX_ABORT_MESSAGE)).decode("utf-8", "replace")
            raise ZkvmTrap(f"the program aborted: {msg}", kind="abort")
        fn = self.by_import.get(name)
        if fn is None:
            raise ReplayMismatch(f"the program imports ispc.{name}, which no host function provides")
        args: list[Any] = []
        pos = 0
        for p in fn.params:
            if p.type == "i64":
                args.append(_signed64(raw[pos]))
                pos += 1
            else:
                ptr, length = raw[pos], raw[pos + 1]
                pos += 2
                data = vm.read(ptr, length)
                if p.type == "str":
                    try:
                        args.append(data.decode("utf-8"))
                    except UnicodeDecodeError:
                        raise ReplayMismatch(f"{fn.name}({p.name}): the argument is not UTF-8; the engine refuses it") from None
                else:
                    args.append(data)
        i = self.next
        if i >= len(self.records):
            raise ReplayMismatch(f"the program calls {fn.name} after the journal's last entry ({len(self.records)} entries)")
        rec = self.records[i]
        if rec.function != fn.name:
            raise ReplayMismatch(f"journal entry {i}: the program calls {fn.name}, the journal records {rec.function}")
        if tuple(args) != tuple(rec.args):
            for j, (got, want) in enumerate(zip(args, rec.args)):
                if got != want:
                    raise ReplayMismatch(f"journal entry {i} ({fn.name}): argument {j} is {got!r} in the program, {want!r} in the journal")
            raise ReplayMismatch(f"journal entry {i} ({fn.name}): {len(args)} arguments in the program, {len(rec.args)} in the journal")
        self.next = i + 1
        result = rec.result
        if fn.returns == "i64":
            return [int(result) & M64]
        if fn.returns is None:
            return [0]
        data = result.encode("utf-8") if isinstance(result, str) else bytes(result)
        if not data:
            return [0]
        alloc = self._allocator(vm)
        (ptr,) = vm.invoke(alloc, [len(data)])
        vm.write_host(ptr, data)
        return [((ptr << 32) | len(data)) & M64]

    def _allocator(self, vm) -> int:
        try:
            return vm.program.function_by_export(ALLOCATOR_EXPORT).index
        except KeyError:
            raise ReplayMismatch(f"a host function returns bytes, but the module exports no {ALLOCATOR_EXPORT}") from None

    def finish(self) -> None:
        """ReplayMismatch unless every journal entry was used."""
        if self.next != len(self.records):
            raise ReplayMismatch(f"the program made {self.next} host calls; the journal has {len(self.records)} entries")
