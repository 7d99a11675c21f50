"""Engine-neutral host functions bound to one execution context.

Engines never call a host function's ``impl`` directly: they go through
:meth:`HostDispatcher.invoke`, which checks argument types, charges the quota
meter, runs the implementation, and appends the call to the trace — in that
order, so every limit is enforced before the call has effects.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import attrs

from ispc_core.errors import ExecutionError, HostCallError, UnverifiableHostFunction
from ispc_core.specs import HostFunction

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


@attrs.frozen
class HostCall:
    """What a host-function implementation receives as its first argument."""

    context: Any  # ispc_core.context.ExecutionContext
    function: HostFunction

    def fail(self, message: str, argument: str = "") -> HostCallError:
        """Build a :class:`HostCallError` naming this function and ``argument``."""
        where = f"{self.function.name}({argument})" if argument else self.function.name
        return HostCallError(f"{where}: {message}", function=self.function.name, argument=argument)


def check_arg(fn: HostFunction, index: int, value: Any) -> Any:
    """Check (and normalise) argument ``index`` of a call to ``fn``; :class:`HostCallError` names it."""
    param = fn.params[index]
    if param.type == "i64":
        if isinstance(value, bool) or not isinstance(value, int) or not _I64_MIN <= value <= _I64_MAX:
            raise HostCallError(
                f"{fn.name}({param.name}): expected an i64, got {value!r}", function=fn.name, argument=param.name
            )
        return value
    if param.type == "bytes":
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        if not isinstance(value, bytes):
            raise HostCallError(
                f"{fn.name}({param.name}): expected bytes, got {type(value).__name__}",
                function=fn.name,
                argument=param.name,
            )
        return value
    # str
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HostCallError(
                f"{fn.name}({param.name}): not valid UTF-8 ({exc.reason} at byte {exc.start})",
                function=fn.name,
                argument=param.name,
            ) from None
    if not isinstance(value, str):
        raise HostCallError(
            f"{fn.name}({param.name}): expected a string, got {type(value).__name__}",
            function=fn.name,
            argument=param.name,
        )
    return value


class HostDispatcher:
    """The host functions of one execution, bound to its context."""

    __slots__ = ("context", "functions", "require_verifiable")

    def __init__(self, context: Any, functions: Sequence[HostFunction], *, require_verifiable: bool = False) -> None:
        self.context = context
        self.functions = {f.name: f for f in functions}
        #: refuse host functions without a verifier hook (every call that becomes a transaction)
        self.require_verifiable = require_verifiable

    def call(self, name: str, *args: Any) -> Any:
        """Call a host function by name (``"tx.transfer"``) with already-decoded arguments."""
        try:
            fn = self.functions[name]
        except KeyError:
            raise HostCallError(f"no host function named {name!r}", function=name) from None
        return self.invoke(fn, args)

    def invoke(self, fn: HostFunction, args: Iterable[Any]) -> Any:
        """Check, charge, run and trace one host call; return its result."""
        ctx = self.context
        if ctx is None or ctx.closed:
            raise HostCallError(f"{fn.name}: the execution context is closed", function=fn.name)
        args = tuple(args)
        if self.require_verifiable and fn.verify is None:
            raise UnverifiableHostFunction(
                f"{fn.name}: this host function provides no verifier check (HostFunction.verify), so no node "
                "could accept a transaction that uses it",
                function=fn.name,
            )
        if len(args) != len(fn.params):
            raise HostCallError(
                f"{fn.name}: expected {len(fn.params)} arguments, got {len(args)}", function=fn.name
            )
        args = tuple(check_arg(fn, i, a) for i, a in enumerate(args))
        ctx.meter.charge_host_call(fn.name, fn.cost)
        try:
            result = fn.impl(HostCall(ctx, fn), *args)
        except ExecutionError:
            raise
        except Exception as exc:  # a plugin's bug must not crash the host
            raise HostCallError(f"{fn.name} failed: {type(exc).__name__}: {exc}", function=fn.name) from exc
        record, encoded = ctx.trace.encode_next(fn.name, args, result)
        ctx.meter.charge_trace(len(encoded))
        ctx.trace.append(record, encoded)
        return result
