"""One execution's context: quotas, deterministic environment, draft transaction, trace.

A context is created by the coordinator for exactly one call and closed on
every path. Engines and host functions charge its :class:`QuotaMeter` as they
go, so a limit stops the program while it runs. Host functions fill the
:class:`DraftTransaction`; nothing reaches the ledger or mempool from here.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import attrs

from ispc_core.errors import (
    Cancelled,
    DeadlineExceeded,
    HostCallLimitExceeded,
    OutOfFuel,
    TraceLimitExceeded,
)
from ispc_core.specs import Limits
from ispc_core.trace import Trace


@attrs.frozen
class CallRequest:
    """What a caller asks: run ``function`` of ``resource_id`` with ``args``.

    ``args`` are engine values (ints for wasm, a name→tensor mapping for onnx);
    ``input_data`` is opaque bytes programs read with ``env.input``.
    """

    resource_id: bytes
    function: str
    args: tuple[Any, ...] = ()
    caller: str = "node"  # name of a key in the node's key store
    input_data: bytes = b""
    nonce: int | None = None
    named_inputs: dict[str, Any] | None = None


@attrs.frozen
class DeterministicEnv:
    """What a program may know about the world: never the wall clock, never randomness."""

    block_height: int
    block_time: int
    caller: bytes  # 20-byte address
    contract: bytes  # 20-byte contract address
    resource_id: bytes
    chain_id: bytes
    input_data: bytes


class CancelToken:
    """Caller cancellation for the I/O stages (compute stages do not observe it)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the call to stop at the next I/O stage boundary."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()


class QuotaMeter:
    """Counts what an execution uses and raises the moment a limit is passed.

    One fuel budget, ``limits.fuel``, covers both what the engine meters
    (``fuel_used``, charged with :meth:`charge_fuel`) and the ``cost`` of host
    functions (``extra_fuel``, charged by :meth:`charge_host_call`). Host
    calls, trace bytes and wall time are charged here too.
    """

    __slots__ = ("limits", "host_calls", "trace_bytes", "fuel_used", "extra_fuel", "started", "deadline")

    def __init__(self, limits: Limits, *, clock=time.monotonic) -> None:
        self.limits = limits
        self.host_calls = 0
        self.trace_bytes = 0
        self.fuel_used = 0
        self.extra_fuel = 0  # fuel charged by host functions (their ``cost``)
        self.started = clock()
        self.deadline = self.started + limits.wall_time_ms / 1000.0

    def remaining_seconds(self) -> float:
        """Seconds left before the wall-clock limit."""
        return self.deadline - time.monotonic()

    def check_deadline(self) -> None:
        """Raise :class:`DeadlineExceeded` if the wall-clock budget is spent."""
        now = time.monotonic()
        if now > self.deadline:
            used = int((now - self.started) * 1000)
            raise DeadlineExceeded(
                f"wall-clock limit of {self.limits.wall_time_ms} ms exceeded ({used} ms used)",
                used=used,
                allowed=self.limits.wall_time_ms,
            )

    def charge_host_call(self, name: str, cost: int = 0) -> None:
        """Count one host call (plus its fuel cost) and enforce the limits."""
        self.host_calls += 1
        if self.host_calls > self.limits.max_host_calls:
            raise HostCallLimitExceeded(
                f"host-call limit of {self.limits.max_host_calls} exceeded at a call to {name}",
                used=self.host_calls,
                allowed=self.limits.max_host_calls,
            )
        if cost:
            self.extra_fuel += cost
            total = self.fuel_used + self.extra_fuel
            if total > self.limits.fuel:
                raise OutOfFuel(
                    f"out of fuel in host function {name}: {total} used of {self.limits.fuel}",
                    used=total,
                    allowed=self.limits.fuel,
                )
        self.check_deadline()

    def charge_fuel(self, n: int, *, where: str = "", exhausted: bool = False) -> None:
        """Charge ``n`` units of engine-metered fuel; raise :class:`OutOfFuel` past the budget.

        Engines call this with what the program consumed, e.g. after each run
        of guest code (``used`` in the error is the real total: engine fuel
        plus host-function costs). ``exhausted=True`` says the engine's own
        meter stopped the program because the budget ran out, so the error is
        raised even when the total equals the budget (the program needed
        more). ``where`` names the place for the message (``"in ispc_alloc"``).
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise TypeError(f"fuel must be a non-negative int, got {n!r}")
        self.fuel_used += n
        total = self.fuel_used + self.extra_fuel
        limit = self.limits.fuel
        if exhausted or total > limit:
            place = f" {where}" if where else ""
            more = " and needed more" if total <= limit else ""
            raise OutOfFuel(f"out of fuel{place}: {total} used of {limit}{more}", used=total, allowed=limit)

    def charge_trace(self, nbytes: int) -> None:
        """Count trace bytes and enforce the trace-size limit."""
        total = self.trace_bytes + nbytes
        if total > self.limits.max_trace_bytes:
            raise TraceLimitExceeded(
                f"trace limit of {self.limits.max_trace_bytes} bytes exceeded ({total} bytes)",
                used=total,
                allowed=self.limits.max_trace_bytes,
            )
        self.trace_bytes = total

    def usage(self) -> dict[str, int]:
        """What was used so far, for reports and metadata."""
        return {
            "fuel_used": self.fuel_used + self.extra_fuel,
            "host_calls": self.host_calls,
            "trace_bytes": self.trace_bytes,
            "wall_time_us": int((time.monotonic() - self.started) * 1_000_000),
        }


@attrs.define
class StateWrite:
    """A state value written during the execution."""

    key: bytes
    value: bytes


@attrs.define
class ExternalDeclaration:
    """An external state the program declared it relies on, and its evidence."""

    kind: str
    key: bytes
    claim: bytes
    verified: bool = False


@attrs.define
class DraftTransaction:
    """The transaction being built while the program runs.

    Host functions record *intent* here (debits, credits, state writes,
    events); :mod:`ispc_core.txbuild` turns it into a protobuf transaction
    when the execution is sealed, choosing UTXOs and adding change.
    """

    payer: bytes
    credits: list[tuple[bytes, int]] = attrs.field(factory=list)  # (recipient, amount)
    debit: int = 0
    state_writes: dict[bytes, StateWrite] = attrs.field(factory=dict)
    events: list[tuple[str, bytes]] = attrs.field(factory=list)
    return_data: bytes = b""
    logs: list[str] = attrs.field(factory=list)
    external: list[ExternalDeclaration] = attrs.field(factory=list)


class ExecutionContext:
    """Everything one execution owns. Created and closed by the coordinator."""

    def __init__(
        self,
        *,
        request: CallRequest,
        env: DeterministicEnv,
        limits: Limits,
        ledger_view: Any,
        host: Any = None,
        execution_id: str,
        trace_id: str,
        correlation_id: str,
        config: Any = None,
        evidence_verifier: Any = None,
    ) -> None:
        self.request = request
        self.env = env
        self.limits = limits
        self.meter = QuotaMeter(limits)
        self.trace = Trace()
        self.draft = DraftTransaction(payer=env.caller)
        self.ledger_view = ledger_view
        self.host = host
        self.execution_id = execution_id
        self.trace_id = trace_id
        self.correlation_id = correlation_id
        self.config = config
        self.evidence_verifier = evidence_verifier
        self.closed = False

    def close(self) -> None:
        """Release the context; further host calls fail."""
        self.closed = True
        self.host = None
        self.ledger_view = None


def check_cancel(token: CancelToken | None, deadline: float | None, stage: str) -> None:
    """Raise :class:`Cancelled` before an I/O stage if the caller cancelled or its deadline passed."""
    if token is not None and token.cancelled:
        raise Cancelled(f"call cancelled by the caller before stage {stage}")
    if deadline is not None and time.monotonic() > deadline:
        raise Cancelled(f"caller deadline passed before stage {stage}")
