"""The one place where whatever leaves wasmtime becomes a typed ispc error.

Guest code runs in three situations: the called export, the module's start
function (during instantiation), and ``ispc_alloc`` when a host function
returns bytes (a host→guest re-entry from inside a host callback). A trap,
fuel exhaustion, stack exhaustion or an interrupt is the same typed error in
all three, and the fuel the guest consumed — wherever it consumed it — is
charged to the meter, so the reported usage is the real one.

:func:`typed_error` is called with the exception that left wasmtime and the
call's :class:`~ispc_wasm.abi.CallState`. When a host callback was involved,
the state holds the first exception raised inside it (``state.error``): an
ispc error is returned as that very object; a wasmtime trap from a re-entry is
mapped here like any other trap, naming where it happened (``state.where``).
"""

from __future__ import annotations

import time
from typing import Any

from wasmtime import Trap, TrapCode, WasmtimeError

from ispc_core import errors

#: Trap codes and the words wasmtime uses for them when no code is attached.
_FUEL = (TrapCode.OUT_OF_FUEL, "all fuel consumed")
_INTERRUPT = (TrapCode.INTERRUPT, "interrupt")
_STACK = (TrapCode.STACK_OVERFLOW, "call stack exhausted")


def trap_text(exc: BaseException) -> str:
    """The useful line of a wasmtime trap/error message (without the backtrace)."""
    text = getattr(exc, "message", None) or str(exc)
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("wasm trap:"):
            while ln.startswith("wasm trap:"):
                ln = ln[len("wasm trap:") :].strip()
            return ln
    if "Caused by:" in lines:
        after = lines[lines.index("Caused by:") + 1 :]
        if after:
            return after[-1].lstrip("0123456789: ")
    return lines[0] if lines else type(exc).__name__


def _is(exc: BaseException, kind: tuple[Any, str], text: str) -> bool:
    return getattr(exc, "trap_code", None) is kind[0] or kind[1] in text


def is_wasmtime_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from wasmtime (a trap or an engine error)."""
    return isinstance(exc, (Trap, WasmtimeError))


def typed_error(exc: BaseException, state: Any, function: str, meter: Any, consumed: int) -> BaseException:
    """The typed error for ``exc``; ``consumed`` is the store fuel the guest used.

    Charges ``consumed`` to ``meter`` (an out-of-fuel error carries the real
    total). Returns the exception to raise: an :class:`~ispc_core.errors.IspcError`,
    or ``exc`` itself when it is neither an ispc nor a wasmtime error (a bug
    in Python code, reported as such).
    """
    limits = meter.limits
    origin = getattr(state, "error", None)
    where = getattr(state, "where", "") or ""
    if origin is not None:
        if isinstance(origin, errors.IspcError):
            meter.fuel_used += consumed
            return origin
        if is_wasmtime_error(origin):
            exc = origin  # the re-entry's own trap, with its trap code
        else:
            meter.fuel_used += consumed
            return origin
    if isinstance(exc, errors.IspcError):
        meter.fuel_used += consumed
        return exc
    if not is_wasmtime_error(exc):
        meter.fuel_used += consumed
        return exc
    text = trap_text(exc)
    place = f" {where}" if where else ""
    if _is(exc, _FUEL, text):
        try:
            meter.charge_fuel(consumed, where=f"in {function}" + (f", {where}" if where else ""), exhausted=True)
        except errors.OutOfFuel as out:
            return out
    else:
        meter.fuel_used += consumed
    if _is(exc, _INTERRUPT, text):
        used = int((time.monotonic() - meter.started) * 1000)
        return errors.DeadlineExceeded(
            f"{function}: wall-clock limit of {limits.wall_time_ms} ms exceeded ({used} ms used){place}; program interrupted",
            used=used,
            allowed=limits.wall_time_ms,
        )
    if getattr(exc, "trap_code", None) is None and "memory" in text and (
        "limit" in text or "exceed" in text or "minimum" in text
    ):
        return errors.MemoryLimitExceeded(
            f"{function}: instantiation refused by the memory limit of {limits.memory_pages} pages: {text}",
            used=limits.memory_pages,
            allowed=limits.memory_pages,
        )
    if _is(exc, _STACK, text):
        return errors.ProgramTrap(f"{function}: wasm trap{place}: call stack exhausted")
    return errors.ProgramTrap(f"{function}: wasm trap{place}: {text}")
