"""onnxruntime plumbing: deterministic sessions, a bounded session cache, a watchdog.

* :func:`session_options` — the one fixed configuration every session uses
  (one intra-op and one inter-op thread, sequential execution, basic graph
  optimizations), so the same model and inputs give the same bytes on every
  run of a node.
* :class:`SessionCache` — which resource ids have warm sessions: an LRU bounded
  both by the number of sessions and by the total model bytes they were built
  from. The sessions themselves live in the inference workers
  (:mod:`ispc_onnx.guard`); the cache tells them what to drop.
* :class:`Watchdog` — one background thread that sets ``RunOptions.terminate``
  on inferences whose deadline passed; onnxruntime checks the flag between
  nodes and aborts the run.
"""

from __future__ import annotations

import heapq
import itertools
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

import attrs
import onnxruntime as ort

from ispc_core.errors import DeployError

#: The fixed graph-optimization level. BASIC applies only semantics-preserving
#: rewrites (constant folding, redundant-node removal) that do not depend on the
#: CPU's instruction set, unlike the EXTENDED/ALL fusions and layout changes.
GRAPH_OPTIMIZATION_LEVEL = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC

PROVIDERS = ("CPUExecutionProvider",)


def session_options() -> ort.SessionOptions:
    """Deterministic session options (see the module docstring)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = GRAPH_OPTIMIZATION_LEVEL
    so.use_deterministic_compute = True
    so.log_severity_level = 3  # errors only: warnings would go to stderr
    # Do not spin worker threads waiting for work: there are none to spare.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return so


_NOT_IMPLEMENTED = re.compile(r"implementation for (\w+)\((\d+)\) node with name '([^']*)'")
_NOT_REGISTERED = re.compile(r"([\w.]*):(\w+)\((-?\d+)\) is not a registered function/op")


def _explain_session_failure(message: str, operators: tuple[str, ...]) -> str:
    m = _NOT_IMPLEMENTED.search(message)
    if m:
        op, version, node = m.groups()
        where = f" (node {node!r})" if node else ""
        return (
            f"operator {op} (opset {version}){where} is not supported by onnxruntime's CPU provider "
            f"for the element types this model uses"
        )
    m = _NOT_REGISTERED.search(message)
    if m:
        domain, op, _ = m.groups()
        return f"operator {domain}:{op} is not known to onnxruntime's CPU provider (custom domain {domain!r})"
    named = [op for op in operators if re.search(rf"\b{re.escape(op.split(':')[-1])}\b", message)]
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    if named:
        return f"onnxruntime cannot load the model at operator {', '.join(named)}: {first}"
    return f"onnxruntime cannot load the model: {first}"


def create_session(code: bytes, operators: tuple[str, ...] = ()) -> ort.InferenceSession:
    """Build a deterministic CPU session; :class:`DeployError` naming the operator if it cannot."""
    try:
        return ort.InferenceSession(code, sess_options=session_options(), providers=list(PROVIDERS))
    except Exception as exc:  # onnxruntime raises its own pybind exception types
        raise DeployError(_explain_session_failure(str(exc), operators)) from None


@attrs.define
class _Entry:
    value: Any
    nbytes: int


class SessionCache:
    """Warm sessions per resource id; least recently used evicted past either bound.

    ``nbytes`` of an entry is the size of the model bytes it was built from (a
    session holds its initializers, so memory grows with it). A model larger
    than ``max_bytes`` by itself is never cached: it gets a fresh session per
    call. ``on_evict(key)`` is called (outside the lock) for every key that
    leaves the cache, so whoever holds the real session can drop it.
    """

    def __init__(
        self, max_sessions: int = 16, max_bytes: int = 256 << 20, *, on_evict: Callable[[bytes], None] | None = None
    ) -> None:
        self.max_sessions = max_sessions
        self.max_bytes = max_bytes
        self.on_evict = on_evict
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def touch(self, key: bytes, nbytes: int) -> bool:
        """Mark ``key`` as used now (adding it on a miss); return whether it is cached afterwards."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.nbytes == nbytes:
                self._entries.move_to_end(key)
                self.hits += 1
                return True
            self.misses += 1
        return self.put(key, nbytes, True)

    def get_or_create(self, key: bytes, nbytes: int, factory: Callable[[], Any]) -> Any:
        """The cached value for ``key``, or a new one from ``factory()`` (cached if it fits)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.nbytes == nbytes:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry.value
            self.misses += 1
        value = factory()  # outside the lock: building can take a while
        self.put(key, nbytes, value)
        return value

    def put(self, key: bytes, nbytes: int, value: Any) -> bool:
        """Cache ``value`` under ``key`` if it fits, evicting the least recently used; return whether cached."""
        evicted: list[bytes] = []
        cached = nbytes <= self.max_bytes and self.max_sessions > 0
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
                if not cached:
                    evicted.append(key)
            if cached:
                self._entries[key] = _Entry(value, nbytes)
                self._bytes += nbytes
                while len(self._entries) > self.max_sessions or self._bytes > self.max_bytes:
                    gone, entry = self._entries.popitem(last=False)
                    self._bytes -= entry.nbytes
                    self.evictions += 1
                    evicted.append(gone)
        self._notify(evicted)
        return cached

    def discard(self, key: bytes) -> None:
        """Forget ``key`` (``on_evict`` is told if it was cached)."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._bytes -= entry.nbytes
        if entry is not None:
            self._notify([key])

    def _notify(self, keys: list[bytes]) -> None:
        if self.on_evict is not None:
            for key in keys:
                self.on_evict(key)

    def keys(self) -> list[bytes]:
        """Cached resource ids, least recently used first."""
        with self._lock:
            return list(self._entries)

    @property
    def total_bytes(self) -> int:
        """Sum of the cached entries' model sizes."""
        return self._bytes

    def clear(self) -> None:
        """Drop every cached entry (``on_evict`` is told about each)."""
        with self._lock:
            keys = list(self._entries)
            self._entries.clear()
            self._bytes = 0
        self._notify(keys)


class WatchItem:
    """One armed deadline: ``fired`` tells whether the watchdog terminated the run."""

    __slots__ = ("deadline", "run_options", "fired", "seq")

    def __init__(self, deadline: float, run_options: ort.RunOptions, seq: int) -> None:
        self.deadline = deadline
        self.run_options = run_options
        self.fired = False
        self.seq = seq

    def __lt__(self, other: "WatchItem") -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)


class Watchdog:
    """A single daemon thread terminating runs whose ``time.monotonic()`` deadline passed.

    Arming and disarming cost a lock and a heap operation (no thread per call);
    the heap only holds inferences currently running. The thread is woken only
    when a new deadline is earlier than the one it already sleeps until.
    """

    def __init__(self) -> None:
        self._heap: list[WatchItem] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        #: the deadline the thread sleeps until (inf: no timeout); arming a later
        #: deadline needs no wake-up, which keeps the thread (and GIL hand-offs) off the hot path
        self._wake_at = float("inf")

    def arm(self, deadline: float, run_options: ort.RunOptions) -> WatchItem:
        """Terminate ``run_options``' run at ``deadline`` unless disarmed first."""
        item = WatchItem(deadline, run_options, next(self._seq))
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="ispc-onnx-watchdog", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, item)
            if deadline < self._wake_at:
                self._cond.notify()
        return item

    def disarm(self, item: WatchItem) -> bool:
        """Stop watching ``item``; return whether it had already fired."""
        with self._cond:
            if not item.fired:
                try:
                    self._heap.remove(item)
                    heapq.heapify(self._heap)
                except ValueError:
                    pass
            return item.fired

    def _loop(self) -> None:
        with self._cond:
            while True:
                if not self._heap:
                    self._wake_at = float("inf")
                    self._cond.wait()
                    continue
                top = self._heap[0]
                delay = top.deadline - time.monotonic()
                if delay > 0:
                    self._wake_at = top.deadline
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                top.fired = True
                top.run_options.terminate = True
